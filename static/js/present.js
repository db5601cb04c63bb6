// Presentation mode (?present=1): large type, high contrast, no chrome, for a projector. The whole view lives in
// the query string, so switching reloads the page in the other mode with nothing lost.

const toggle = document.getElementById("present-toggle");
toggle.addEventListener("click", () => {
  const url = new URL(window.location.href);
  if (url.searchParams.get("present") === "1") url.searchParams.delete("present");
  else url.searchParams.set("present", "1");
  window.location.assign(url);
});
