// The head view: attention as lines between tokens. Queries on the left, keys on the right; each line's width and
// opacity is the attention weight. The lit query (the store's `qi`) keeps its lines dark and fades the rest;
// hovering or focusing a word lights it.
import { el, svgEl } from "../core/dom.js";

const ROW = 26;

// `pattern`: [query_pos][key_pos] (null where masked). `queries`, `keys`: the two columns' labels.
export function headView(box, store, { pattern, queries, keys, title }) {
  const n = Math.max(queries.length, keys.length);
  const width = 420;
  const height = ROW * n + 34;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "head-view", role: "img", "aria-label": `${title}: lines from each query word to the key words it attends to, thicker for more` });
  svg.append(svgEl("text", { x: 8, y: 16, class: "head-view-title" }, "query"), svgEl("text", { x: width - 8, y: 16, "text-anchor": "end", class: "head-view-title" }, "key"));
  const y = (i) => 34 + ROW * i + ROW / 2 - 4;
  const left = 150;
  const right = width - 150;
  const lines = [];
  pattern.forEach((row, i) => row.forEach((w, j) => {
    if (w === null || w < 0.01) return;
    const line = svgEl("line", { x1: left, y1: y(i), x2: right, y2: y(j), "stroke-width": (0.5 + 7 * w).toFixed(2), "stroke-opacity": (0.15 + 0.85 * w).toFixed(3), class: "head-line", "data-q": String(i), "data-k": String(j) });
    line.append(svgEl("title", {}, `${queries[i]} → ${keys[j]}: ${w.toFixed(4)}`));
    lines.push(line);
  }));
  svg.append(...lines);
  const word = (text, x, i, anchor, key) => {
    const node = svgEl("text", { x, y: y(i) + 5, "text-anchor": anchor, class: "head-word", tabindex: "0", "data-i": String(i) }, text);
    const light = () => store.set(key === "qi" ? { qi: i, kj: -1 } : { qi: -1, kj: i });
    node.addEventListener("mouseenter", light);
    node.addEventListener("focus", light);
    return node;
  };
  svg.append(...queries.map((t, i) => word(t, left - 10, i, "end", "qi")), ...keys.map((t, j) => word(t, right + 10, j, "start", "kj")));
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
