// Every page's tools: presentation mode (?present=1: large type, high contrast, no chrome, for a projector) and
// sharing (the page's URL and a QR code of it, drawn by our own server). The whole view lives in the query string,
// so switching mode reloads the page with nothing lost, and a shared link restores the view.
import "./perf.js"; // every page loads this module, so every page gets the performance marks
import "./class.js"; // and a class session: the lecturer drives from any page, a student follows on any page

const toggle = document.getElementById("present-toggle");
toggle.addEventListener("click", () => {
  const url = new URL(window.location.href);
  if (url.searchParams.get("present") === "1") url.searchParams.delete("present");
  else url.searchParams.set("present", "1");
  window.location.assign(url);
});

const dialog = document.getElementById("share-dialog");
document.getElementById("share").addEventListener("click", () => {
  // The view, not the screen: whoever opens the link (a student's phone) reads it in their own mode, not the
  // projector's presentation mode.
  const link = new URL(window.location.href);
  link.searchParams.delete("present");
  const here = link.href;
  document.getElementById("share-url").value = here;
  document.getElementById("share-qr").src = `${dialog.dataset.qrUrl}?text=${encodeURIComponent(here)}`;
  dialog.showModal();
  document.getElementById("share-url").select();
});
