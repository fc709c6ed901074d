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

// Dates and times are one unit: a cell whose whole text is a date ("2026-12-03", "2026-12-03 18:30", "2026-12")
// gets .cw-date (white-space: nowrap in app.css), so it never breaks at a hyphen as "2026-12-" / "03". Marked on
// load and after every HTMX swap, so fragments are covered too.
const DATE_TEXT = /^\d{4}-\d{2}(-\d{2})?([ T]\d{2}:\d{2}(:\d{2})?)?$/;
function markDates(root) {
  for (const el of root.querySelectorAll("td, th, dd, dt, span, small, div, li, time, a")) {
    if (el.childElementCount === 0 && DATE_TEXT.test(el.textContent.trim())) el.classList.add("cw-date");
  }
}
document.addEventListener("DOMContentLoaded", () => markDates(document.body));
document.addEventListener("htmx:afterSwap", (event) => markDates(event.detail.target || document.body));
