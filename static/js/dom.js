// Building DOM nodes from data: text only (textContent), never HTML strings.

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

// The page's "download JSON" link: the API's answer behind what is on screen, as a file.
let offered = null;
export function offerJSON(data, filename) {
  const link = document.getElementById("download-json");
  if (offered) URL.revokeObjectURL(offered);
  offered = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: "application/json" }));
  Object.assign(link, { href: offered, download: filename, hidden: false });
}
