// The head view: attention as lines between tokens. Queries on the left, keys on the right; each line's width and
// opacity is the attention weight. The lit query (the store's `qi`) keeps its lines dark and fades the rest;
// hovering or focusing a word lights it.
import { el, svgEl } from "../core/dom.js";
import { FONT, PRESENT, textWidth } from "./plotly.js";

const SIZE = PRESENT ? 20 : 14; // the words' size in px, as drawn: the picture is made at the box's own size
const TOP = 2 * SIZE; // room for the two columns' names

// `pattern`: [query_pos][key_pos] (null where masked). `queries`, `keys`: the two columns' labels.
export function headView(box, store, { pattern, queries, keys, title }) {
  const n = Math.max(queries.length, keys.length);
  const widest = (labels) => Math.max(...labels.map((t) => textWidth(t, SIZE)));
  const width = Math.max(box.clientWidth || 420, widest(queries) + widest(keys) + 120);
  const row = Math.max(1.4 * SIZE, Math.min(2.4 * SIZE, ((box.clientHeight || 0) - TOP) / n));
  const height = TOP + row * n;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "head-view", role: "img",
    "font-family": FONT, "aria-label": `${title}: lines from each query word to the key words it attends to, thicker for more` });
  const name = (text, x, anchor) => svgEl("text", { x, y: SIZE, "text-anchor": anchor, "font-size": 0.85 * SIZE, class: "head-view-title" }, text);
  svg.append(name("query", 4, "start"), name("key", width - 4, "end"));
  const y = (i) => TOP + row * i + row / 2;
  const left = widest(queries) + 14;
  const right = width - widest(keys) - 14;
  const lines = [];
  pattern.forEach((row, i) => row.forEach((w, j) => {
    if (w === null || w < 0.01) return;
    const line = svgEl("line", { x1: left, y1: y(i), x2: right, y2: y(j), "stroke-width": (0.5 + 7 * w).toFixed(2), "stroke-opacity": (0.15 + 0.85 * w).toFixed(3), class: "head-line", "data-q": String(i), "data-k": String(j) });
    line.append(svgEl("title", {}, `${queries[i]} → ${keys[j]}: ${w.toFixed(4)}`));
    lines.push(line);
  }));
  svg.append(...lines);
  const word = (text, x, i, anchor, key) => {
    const node = svgEl("text", { x, y: y(i), "dominant-baseline": "central", "text-anchor": anchor, "font-size": SIZE, class: "head-word", tabindex: "0", "data-i": String(i) }, text);
    const light = () => store.set(key === "qi" ? { qi: i, kj: -1 } : { qi: -1, kj: i });
    node.addEventListener("mouseenter", light);
    node.addEventListener("focus", light);
    return node;
  };
  svg.append(...queries.map((t, i) => word(t, left - 8, i, "end", "qi")), ...keys.map((t, j) => word(t, right + 8, j, "start", "kj")));
  box.replaceChildren(el("div", { className: "head-view-box" }, svg));

  function show({ qi, kj }) {
    for (const line of lines) {
      const lit = (qi >= 0 && Number(line.dataset.q) === qi) || (kj >= 0 && Number(line.dataset.k) === kj);
      line.classList.toggle("lit", lit);
      line.classList.toggle("faded", (qi >= 0 || kj >= 0) && !lit);
    }
  }
  show(store.state);
  return show;
}
