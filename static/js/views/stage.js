// One stage of a forward pass: the values of its hooks as heatmaps, one head at a time where they have heads (and
// every head side by side where the stage asks), with the stage's title and formulas. A stage is
// {label, hooks (with {layer} for the chosen block), per_head, all_heads, columns, probabilities}, as the API's
// detail gives it (app/presenters/gpt.py: Stage); `numbers: true` prints every value on its cell when few enough.
/* global Plotly */
import { $, el } from "../core/dom.js";
import { heatmap } from "./heatmap.js";

export const positions = (tokens) => tokens.map((t, i) => `${i} ${t}`); // positions keep repeated words apart

// A value as rows of a matrix: a vector is one row, a matrix its rows, a per-head tensor one head's matrix.
function rows(data, head) {
  const values = head === null ? data : data[head];
  return Array.isArray(values[0]) ? values : [values];
}

function plot(box, step, stage, { tokens, vocab, head = null, small = false }) {
  const z = rows(step.data, head);
  const y = z.length === tokens.length ? positions(tokens) : z.length === 1 ? [""] : z.map((_, i) => String(i));
  const x = { tokens: positions(tokens), vocab }[stage.columns] ?? z[0].map((_, d) => `${d}`);
  const div = el("div", { className: small ? "plot heat small" : "plot heat", dataset: { hook: step.name, head: head ?? "" } });
  box.append(div);
  const title = head === null ? step.title : `${step.title}, head ${head}`;
  const annotate = stage.numbers ?? (stage.columns === "tokens" && tokens.length <= 8); // numbers on the cells
  return heatmap(div, { z, x, y, title, annotate, sequential: stage.probabilities });
}

// Draws `stage` of `result` (a forward answer) into #stage-plots, its title into #stage-title and its formulas into
// #stage-formula. `number` is its place in the walk; `heads` how many heads the model has.
export function drawStage(result, stage, { number, layer = 0, head = 0, heads = 1, vocab = [] }) {
  const steps = Object.fromEntries(result.steps.map((s) => [s.name, s]));
  const names = stage.hooks.map((hook) => hook.replace("{layer}", String(layer)));
  const tokens = result.tokens ?? [];
  $("stage-title").textContent = `${number}. ${names.map((n) => steps[n].title).join(" · ")}`;
  const masked = names.some((n) => steps[n].data.flat(3).includes(null)) ? "   (grey cells: masked)" : "";
  $("stage-formula").textContent = names.map((n) => steps[n].formula ?? "").join("   |   ") + masked;
  const box = $("stage-plots");
  for (const div of box.querySelectorAll(".plot")) Plotly.purge(div);
  box.replaceChildren();
  for (const name of names) plot(box, steps[name], stage, { tokens, vocab, head: stage.per_head ? head : null });
  if (stage.all_heads) {
    const grid = el("div", { className: "all-heads" });
    box.append(el("h4", {}, "All heads"), grid);
    for (let h = 0; h < heads; h++) plot(grid, steps[names[0]], stage, { tokens, vocab, head: h, small: true });
  }
}
