// Small page behaviours shared by every page. HTMX does the partial updates.
document.addEventListener("click", (event) => {
  // Tapping outside the open drawer closes it on tablets and phones.
  if (document.body.classList.contains("cw-nav-open") && !event.target.closest("#cw-sidebar, .cw-menu-toggle")) {
    document.body.classList.remove("cw-nav-open");
  }
});
