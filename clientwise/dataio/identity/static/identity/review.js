// Review keys: m merges, n marks "not the same person", j / k move to the next / previous pair.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest("input[type=text], input[type=search], textarea, select, [contenteditable]")) return;
  const ids = { m: "dup-merge", n: "dup-reject", j: "dup-next", k: "dup-prev" };
  const id = ids[event.key];
  if (!id) return;
  const el = document.getElementById(id);
  if (!el) return;
  event.preventDefault();
  el.click();
});
// Keep the queue list's highlight on the pair shown.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.target.id !== "dup-pair") return;
  const form = document.getElementById("dup-merge-form");
  const current = form ? form.getAttribute("action").match(/\/(\d+)\/merge\/$/) : null;
  document.querySelectorAll(".dup-item").forEach((a) => {
    a.classList.toggle("active", current !== null && a.dataset.pair === current[1]);
  });
});
