// Building DOM nodes from data (text only: textContent, never HTML strings), the page's error box, and its
// "download JSON" link.
import { ApiError } from "./api.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, { dataset = {}, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

// The error box: the server's message (it names the problem and the fix), in view of whoever caused it. A word
// the model does not know is said in a student's words first.
export function showError(error) {
  const box = $("error");
  const unknown = error instanceof ApiError ? error.errors.find((e) => e.unknown)?.unknown : null;
  const plain = unknown ? `The model does not know the word “${unknown}”: it only knows its own small vocabulary. Change that word, or pick one from the words it knows. ` : "";
  box.textContent = error instanceof ApiError ? `${plain}${error.detail} (HTTP ${error.status})` : String(error);
  box.hidden = false;
}

export function clearError() {
  const box = $("error");
  box.hidden = true;
  box.textContent = "";
}

// The page's "download JSON" link: the API's answer behind what is on screen, as a file. Writing the file out takes
// milliseconds for a big answer, so it is done after the state is on screen, or at once if the link is used first.
// A page that fetches each stage's steps as it reaches them offers `whole`, a function that asks for every step:
// the link then fetches it first, so the file holds the whole pass, not just the stages seen so far.
let offered = null; // the link's object URL
let pending = null; // [data, filename, whole] not written out yet
let fetching = false;
function write(data, filename) {
  if (offered) URL.revokeObjectURL(offered);
  offered = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: "application/json" }));
  Object.assign($("download-json"), { href: offered, download: filename, hidden: false });
}
function writeOut(event) {
  if (pending === null) return;
  const [data, filename, whole] = pending;
  if (whole === null) {
    pending = null;
    write(data, filename);
    return;
  }
  if (!event) { // after a drawing: the link stays, and asks for the whole pass when it is used
    Object.assign($("download-json"), { hidden: false });
    return;
  }
  event.preventDefault();
  if (fetching) return;
  fetching = true;
  const asked = pending;
  whole().then((full) => {
    if (pending !== asked) return; // a newer view came meanwhile: the link offers that one
    pending = null;
    write(full, filename);
    $("download-json").click();
  }, showError).finally(() => { fetching = false; });
}
for (const type of ["click", "auxclick", "contextmenu"]) {
  $("download-json")?.addEventListener(type, writeOut);
}
export function offerJSON(data, filename, whole = null) {
  if (pending === null) requestAnimationFrame(() => setTimeout(() => writeOut(null))); // after the next frame is painted
  pending = [data, filename, whole];
}
