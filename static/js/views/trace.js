// The trace: an input followed through the net in the article's words, one line per step, ReLUs that are off
// struck through. Each number is a button that unfolds it (views/unfold.js): its title names it by the symbol its
// step's formula gives (z1[0], a2[3], y), or as `name(step, j)` says.
import { el } from "../core/dom.js";
import { numberButton } from "./unfold.js";

// The symbol a step's formula defines: "z1" for "z1 = W1·x + b1".
export const symbolOf = (step) => (step.formula ?? step.name).split(" = ")[0];
const entryName = (step, j) => (step.shape[0] === 1 ? symbolOf(step) : `${symbolOf(step)}[${j}]`);

// Units of a ReLU step whose z (the step just before it) was ≤ 0.
export function offUnits(steps, index) {
  return new Set(steps[index - 1].data.flatMap((v, j) => (v <= 0 ? [j] : [])));
}

function vector(step, off, name) {
  const line = el("span", {}, "[");
  step.data.forEach((v, j) => {
    if (j > 0) line.append(", ");
    const button = numberButton(step.name, [j], v, name(step, j));
    if (off.has(j)) {
      button.classList.add("off");
      button.title = `${button.title} (ReLU off: z ≤ 0, so a = 0)`;
    }
    line.append(button);
  });
  line.append("]");
  return line;
}

export function trace(pre, steps, { before = [], after = [], name = entryName } = {}) {
  pre.replaceChildren(...before.map((text) => el("div", {}, text)));
  steps.forEach((step, i) => {
    const off = step.activation === "ReLU" ? offUnits(steps, i) : new Set();
    const row = el("div", { className: "step", dataset: { hook: step.name } }, `${step.title}: `);
    const scalar = step.shape.length === 1 && step.shape[0] === 1;
    row.append(scalar ? numberButton(step.name, [0], step.data[0], name(step, 0)) : vector(step, off, name));
    if (off.size) row.append(el("span", { className: "note" }, `  ← ${off.size} ReLU${off.size > 1 ? "s" : ""} off`));
    pre.append(row);
  });
  pre.append(...after.map(([className, text]) => el("div", { className }, text)));
}
