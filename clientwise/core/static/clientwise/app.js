// Small page behaviours shared by every page. HTMX does the partial updates. No inline handlers anywhere: the
// Content-Security-Policy allows scripts from this site only, so pages mark behaviour with data attributes.
document.addEventListener("click", (event) => {
  // Tapping outside the open drawer closes it on tablets and phones.
  if (document.body.classList.contains("cw-nav-open") && !event.target.closest("#cw-sidebar, .cw-menu-toggle")) {
    document.body.classList.remove("cw-nav-open");
  }
  if (event.target.closest("[data-nav-toggle]")) {
    document.body.classList.toggle("cw-nav-open");
  }
  if (event.target.closest("[data-history-back]")) {
    history.back();
  }
});

// <form data-confirm="…"> or <button type="submit" data-confirm="…">: ask before submitting.
document.addEventListener("submit", (event) => {
  const asking = (event.submitter && event.submitter.closest("[data-confirm]")) || event.target.closest("[data-confirm]");
  if (asking && !window.confirm(asking.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// <select data-autosubmit>: submit the form on change (filters that apply at once).
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) {
    field.form.requestSubmit();
  }
});
