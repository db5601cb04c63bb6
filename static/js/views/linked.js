// Linked highlighting: one key of the page's store (`hover`) names the word pointed at or focused, and every view
// that shows words lights that word. Sources set the key (elements carrying data-word, hovered or focused; Plotly
// points that name a word; a heatmap's row labels); the page's `light(word)` draws it with shapes (Plotly.relayout), never
// a whole figure, so a hover costs milliseconds.
/* global Plotly */

export const LIT = "#000000"; // what is pointed at: a black ring or outline (the selection is orange)

// light(word) after every change of the key; the function returned lights the store's word again, for a view that
// was just redrawn (a redraw starts from its figure, which knows nothing of the hover).
export function linked(store, light, key = "hover") {
  store.subscribe((state) => light(state[key]), [key]);
  return () => light(store.state[key]);
}

const wordAt = (node) => (node instanceof Element ? (node.closest("[data-word]")?.dataset.word ?? "") : "");

// Inside `root`, the innermost element with data-word under the pointer, or focused, names the word; the pointer or
// the focus leaving the words puts the key back to "". Elements without a word (a plot) leave the key to their own
// sources.
export function wordsIn(store, root, key = "hover") {
  const enter = (event) => {
    const word = wordAt(event.target);
    if (word) store.set({ [key]: word });
  };
  const leave = (event) => {
    if (wordAt(event.target) && !wordAt(event.relatedTarget)) store.set({ [key]: "" }); // to another word: it sets it
  };
  root.addEventListener("mouseover", enter);
  root.addEventListener("mouseout", leave);
  root.addEventListener("focusin", enter);
  root.addEventListener("focusout", leave);
}

// A Plotly figure whose points name words: `wordOf(point)` is the word of a hovered point ("" for none).
export function pointsIn(store, gd, wordOf, key = "hover") {
  gd.on("plotly_hover", (event) => store.set({ [key]: wordOf(event.points[0]) }));
  gd.on("plotly_unhover", () => store.set({ [key]: "" }));
}

// A heatmap's y tick labels (its rows' names) as sources too: Plotly's axis drag areas lie over them, so the label
// under the pointer is found from the labels' boxes. `words` are the names that count.
export function rowLabelsIn(store, gd, words, key = "hover") {
  let onLabel = false;
  gd.addEventListener("mousemove", (event) => {
    const label = [...gd.querySelectorAll(".ytick text")].find((text) => {
      const box = text.getBoundingClientRect();
      return event.clientX >= box.left - 4 && event.clientX <= box.right + 4 && event.clientY >= box.top && event.clientY <= box.bottom;
    });
    const word = label && words.includes(label.textContent) ? label.textContent : "";
    if (word) store.set({ [key]: word });
    else if (onLabel) store.set({ [key]: "" });
    onLabel = Boolean(word);
  });
  gd.addEventListener("mouseleave", () => {
    if (onLabel) store.set({ [key]: "" });
    onLabel = false;
  });
}

// The lighting is shapes (Plotly.relayout of `shapes` alone redraws no trace: a few milliseconds, where restyling a
// per-point marker array recomputes the whole figure). `lightShapes` replaces a figure's shapes named "lit" with
// `shapes` and keeps the others (the selection's orange frame).
export function lightShapes(gd, shapes) {
  if (!gd.layout) return null; // not drawn yet: the page lights it once it is
  const all = gd.layout.shapes ?? [];
  const kept = all.filter((shape) => shape.name !== "lit");
  if (!shapes.length && kept.length === all.length) return null;
  return Plotly.relayout(gd, { shapes: [...kept, ...shapes.map((shape) => ({ ...shape, name: "lit" }))] });
}

// A black ring `radius` px around the point (x, y) of a scatter plot.
export const ring = (x, y, radius = 13) => ({ type: "circle", xsizemode: "pixel", ysizemode: "pixel", xanchor: x, yanchor: y,
  x0: -radius, x1: radius, y0: -radius, y1: radius, line: { color: LIT, width: 3 } });

// A heatmap's row (category axis: row i spans i ± 0.5), framed in dotted black.
export const rowFrame = (row) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: row - 0.5, y1: row + 0.5,
  line: { color: LIT, width: 3, dash: "dot" } });

// The column of a bar chart's panel that holds category `index`, shaded behind the bars and framed in black.
export const barColumn = (bars, index) => ({ type: "rect", layer: "below", xref: bars.xaxis ?? "x", yref: `${bars.yaxis ?? "y"} domain`,
  x0: index - 0.5, x1: index + 0.5, y0: 0, y1: 1, fillcolor: "rgba(0, 0, 0, 0.08)", line: { color: LIT, width: 2 } });
