// Every neuron of a small MLP at one input: columns of circles (input, each hidden layer's a = ReLU(z), output),
// edges coloured by the weight's sign and as wide as its size; a ReLU that is off is grey and dashed.
import { svgEl } from "../core/dom.js";
import { BLUE, RED, fmt } from "./plotly.js";

const PAD = 30;

// Drawn in the SVG's own coordinates (its viewBox).
export function network(svg, input, steps, output) {
  const { width: W, height: H } = svg.viewBox.baseVal;
  const affine = steps.filter((s) => s.W); // z = W·a + b, layer by layer
  const columns = [[input], ...steps.filter((s) => s.activation === "ReLU").map((s) => s.data), [output]];
  const pos = columns.map((col, c) => col.map((_, j) => [
    PAD + (c * (W - 2 * PAD)) / (columns.length - 1), PAD + ((j + 0.5) * (H - 2 * PAD)) / col.length]));
  const maxW = Math.max(...affine.flatMap((s) => s.W.flat().map(Math.abs)));
  svg.replaceChildren();
  affine.forEach((s, c) => s.W.forEach((row, j) => row.forEach((w, k) => {
    const [x1, y1] = pos[c][k];
    const [x2, y2] = pos[c + 1][j];
    svg.append(svgEl("line", { x1, y1, x2, y2, stroke: w >= 0 ? BLUE : RED, "stroke-width": 0.3 + (3 * Math.abs(w)) / maxW, opacity: 0.55 }));
  })));
  const r = Math.max(4, Math.min(14, (H - 2 * PAD) / (2.4 * Math.max(...columns.map((col) => col.length)))));
  columns.forEach((col, c) => col.forEach((v, j) => {
    const hidden = c > 0 && c < columns.length - 1;
    const off = hidden && affine[c - 1].data[j] <= 0;
    const [cx, cy] = pos[c][j];
    const circle = svgEl("circle", { cx, cy, r, class: off ? "neuron off" : "neuron" });
    circle.append(svgEl("title", {}, `${fmt(v)}${off ? " (ReLU off)" : ""}`));
    svg.append(circle);
    if (col.length <= 4) svg.append(svgEl("text", { x: cx, y: cy - r - 4, "text-anchor": "middle" }, fmt(v, 2)));
  }));
}
