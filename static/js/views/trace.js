// The trace: an input followed through the net in the article's words, one line per step, ReLUs that are off
// struck through.
import { el } from "../core/dom.js";
import { fmt } from "./plotly.js";

// Units of a ReLU step whose z (the step just before it) was ≤ 0.
export function offUnits(steps, index) {
  return new Set(steps[index - 1].data.flatMap((v, j) => (v <= 0 ? [j] : [])));
}

function vector(data, off) {
  const line = el("span", {}, "[");
  data.forEach((v, j) => {
    if (j > 0) line.append(", ");
    const isOff = off.has(j);
    line.append(el("span", { className: isOff ? "off" : "", title: isOff ? "ReLU off: z ≤ 0, so a = 0" : "" }, fmt(v)));
  });
  line.append("]");
  return line;
}

export function trace(pre, steps, { before = [], after = [] } = {}) {
  pre.replaceChildren(...before.map((text) => el("div", {}, text)));
  steps.forEach((step, i) => {
    const off = step.activation === "ReLU" ? offUnits(steps, i) : new Set();
    const row = el("div", { className: "step", dataset: { hook: step.name } }, `${step.title}: `);
    const scalar = step.shape.length === 1 && step.shape[0] === 1;
    row.append(scalar ? el("span", {}, fmt(step.data[0])) : vector(step.data, off));
    if (off.size) row.append(el("span", { className: "note" }, `  ← ${off.size} ReLU${off.size > 1 ? "s" : ""} off`));
    pre.append(row);
  });
  pre.append(...after.map(([className, text]) => el("div", { className }, text)));
}
