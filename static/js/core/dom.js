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
let offered = null; // the link's object URL
let pending = null; // [data, filename] not written out yet
function writeOut() {
  if (pending === null) return;
  const [data, filename] = pending;
  pending = null;
  if (offered) URL.revokeObjectURL(offered);
  offered = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: "application/json" }));
  Object.assign($("download-json"), { href: offered, download: filename, hidden: false });
}
for (const type of ["click", "auxclick", "contextmenu"]) {
  $("download-json")?.addEventListener(type, writeOut);
}
export function offerJSON(data, filename) {
  if (pending === null) requestAnimationFrame(() => setTimeout(writeOut)); // after the next frame is painted
  pending = [data, filename];
}
