// What if? The changes a page makes to its model (docs/api.md, "What if: interventions"): kept in the store as `wi`,
// a short string the URL and a QR code can hold; sent as the requests' `interventions`; set by the controls of the
// "What if?" box and by its experiments (the captions file's, a question answered in two clicks); and said in words
// with where the change first shows in the pass.
import { $, el } from "../core/dom.js";
import { fmt } from "./plotly.js";

// One change, one token: m no mask, s no √d, p no positions, h a head knocked out (m: to its mean), x a score set,
// w a weight set; then the translator's stack (e encoder, d decoder, c cross) and the numbers. Changes join by ",".
const STACK = { e: "encoder", d: "decoder", c: "cross" };
const LETTER = { encoder: "e", decoder: "d", cross: "c" };
const NUMBER = "(-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)";
const SIMPLE = /^([msp])([edc]?)(\d*)$/; // no mask or no ÷√d in a block; no positions
const PATTERNS = [
  [/^h([edc]?)(\d+)\.(\d+)(m?)$/, ([, s, layer, head, mean]) => ({ op: "ablate_head", layer: Number(layer), head: Number(head), mode: mean ? "mean" : "zero", s })],
  [new RegExp(`^x([edc]?)(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)_${NUMBER}$`), ([, s, layer, head, query, key, value]) =>
    ({ op: "set_score", layer: Number(layer), head: Number(head), query: Number(query), key: Number(key), value: Number(value), s })],
  [new RegExp(`^w~([\\w.]+)~(\\d+(?:\\.\\d+)*)~${NUMBER}$`), ([, name, index, value]) =>
    ({ op: "set_param", name, index: index.split(".").map(Number), value: Number(value) })],
];

function parseOne(token) {
  const simple = token.match(SIMPLE);
  if (simple) {
    const [, op, s, layer] = simple;
    if (op === "p") return layer ? null : withStack({ op: "no_positions" }, s);
    return layer === "" ? null : withStack({ op: op === "m" ? "no_causal_mask" : "no_scaling", layer: Number(layer) }, s);
  }
  for (const [pattern, make] of PATTERNS) {
    const found = token.match(pattern);
    if (found) {
      const { s, ...change } = make(found);
      return withStack(change, s);
    }
  }
  return null;
}
const withStack = (change, s) => (s ? { ...change, stack: STACK[s] } : change);

// The changes a `wi` string holds; null when any token is not one (a hand-edited link falls back to none).
export function parseChanges(text) {
  if (!text) return [];
  const changes = text.split(",").map(parseOne);
  return changes.every(Boolean) ? changes : null;
}

export function changesText(changes) {
  return changes.map((c) => {
    const s = c.stack ? LETTER[c.stack] : "";
    switch (c.op) {
      case "no_causal_mask": return `m${s}${c.layer}`;
      case "no_scaling": return `s${s}${c.layer}`;
      case "no_positions": return `p${s}`;
      case "ablate_head": return `h${s}${c.layer}.${c.head}${c.mode === "mean" ? "m" : ""}`;
      case "set_score": return `x${s}${c.layer}.${c.head}.${c.query}.${c.key}_${c.value}`;
      default: return `w~${c.name}~${c.index.join(".")}~${c.value}`;
    }
  }).join(",");
}

// The request's `interventions` for a state (none: the field is left out, so an answer without changes is the
// same request as before there were any).
export const interventions = (state) => {
  const changes = parseChanges(state.wi) ?? [];
  return changes.length ? { interventions: changes } : {};
};

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const stackName = (c) => (c.stack ? `${c.stack} ` : "");

// A change in words, as the box lists it.
export function said(c) {
  switch (c.op) {
    case "no_causal_mask": return `no mask in ${stackName(c)}block ${c.layer}`;
    case "no_scaling": return `no ÷√d in ${stackName(c)}block ${c.layer}`;
    case "no_positions": return c.stack ? `no positions in the ${c.stack}` : "no positions";
    case "ablate_head": return `${stackName(c)}block ${c.layer} head ${c.head} ${c.mode === "mean" ? "set to its mean" : "knocked out"}`;
    case "set_score": return `${stackName(c)}block ${c.layer} head ${c.head}: score [${c.query}, ${c.key}] = ${c.value}`;
    default: return `${c.name}[${c.index.join(", ")}] = ${fmt(c.value, 3)}`;
  }
}

// The changes in words, heads knocked out in one block said once: "cross block 0 heads 0, 1, 2, 3 knocked out".
function saidAll(changes) {
  const groups = new Map();
  const words = [];
  for (const c of changes) {
    if (c.op !== "ablate_head") {
      words.push(said(c));
      continue;
    }
    const key = `${stackName(c)}block ${c.layer}|${c.mode}`;
    if (!groups.has(key)) words.push(key);
    groups.set(key, [...(groups.get(key) ?? []), c.head]);
  }
  return words.map((w) => {
    const heads = groups.get(w);
    if (!heads) return w;
    const [where, mode] = w.split("|");
    const done = mode === "mean" ? "set to their mean" : "knocked out";
    return heads.length === 1 ? `${where} head ${heads[0]} ${done.replace("their", "its")}` : `${where} heads ${heads.join(", ")} ${done}`;
  }).join("; ");
}

// Adds or removes one change in the store's `wi` (at most 8: the server's limit).
export function toggle(store, change, on) {
  const now = (parseChanges(store.state.wi) ?? []).filter((c) => !same(c, change));
  store.set({ wi: changesText(on ? [...now, change].slice(-8) : now) });
}

// The transformer pages' box: per stack, a row per block with "no mask" (causal self-attention only), "no ÷√d" and a
// check box per head; "no positions"; the experiments of the captions file; the changes in words; and, after an
// answer, where the change first shows (a button walks there) and what it did to the stage on screen.
export function whatIfBox(store, { stacks, heads, experiments = {}, stageOf, onExperiment }) {
  const box = $("what-if-controls");
  if (!box) return () => {};
  const checks = [];
  const check = (change, label, title) => {
    const input = el("input", { type: "checkbox" });
    input.addEventListener("change", () => toggle(store, change, input.checked));
    checks.push([input, change]);
    return el("label", { className: "wi-check", title }, input, label);
  };
  const rows = stacks.flatMap(({ stack, layers, causal }) => [
    ...(stacks.length > 1 ? [el("div", { className: "wi-stack" }, stack === "cross" ? "cross-attention" : `${stack}`)] : []),
    ...Array.from({ length: layers }, (_, layer) => {
      const at = stack ? { stack } : {};
      return el("div", { className: "wi-row" }, el("span", { className: "wi-block" }, `block ${layer}`),
        ...(causal ? [check({ op: "no_causal_mask", layer, ...at }, "no mask", "Let every word see the words after it")] : []),
        ...(stack === "cross" ? [] : [check({ op: "no_scaling", layer, ...at }, "no ÷√d", "Leave the scores undivided by √d_head")]),
        el("span", { className: "wi-heads" }, "heads off:",
          ...Array.from({ length: heads }, (_, head) => check({ op: "ablate_head", layer, head, mode: "zero", ...at }, String(head), `Knock out head ${head}: its z becomes 0`))));
    }),
  ]);
  const positions = stacks.filter((s) => s.stack !== "cross").length > 1
    ? stacks.filter((s) => s.stack !== "cross").map((s) => check({ op: "no_positions", stack: s.stack }, `no positions (${s.stack})`, "Add no positional encoding"))
    : [check({ op: "no_positions" }, "no positions", "Add no positional encoding to the embeddings")];
  const clear = el("button", { type: "button" }, "clear all");
  clear.addEventListener("click", () => {
    $("what-if-story").textContent = "";
    store.set({ wi: "" });
  });
  const tried = Object.entries(experiments).map(([id, e]) => {
    const button = el("button", { type: "button", className: "word", title: e.question, dataset: { experiment: id } }, e.title);
    button.addEventListener("click", () => {
      $("what-if-story").replaceChildren(el("strong", {}, e.question), " ", e.shows);
      store.set({ wi: changesText(e.changes), ...(e.text ? { text: e.text } : {}), ...(e.stage ? { stage: stageOf(e.stage) } : {}) });
      onExperiment?.(e);
    });
    return button;
  });
  box.replaceChildren(
    ...(tried.length ? [el("div", { className: "wi-experiments" }, el("span", {}, "Try: "), ...tried)] : []),
    el("div", { className: "wi-grid" }, ...rows), el("div", { className: "wi-row" }, ...positions, clear));
  // The boxes follow the store (a link, an experiment, "clear all").
  return (state) => {
    const changes = parseChanges(state.wi) ?? [];
    for (const [input, change] of checks) input.checked = changes.some((c) => same(c, change));
    $("what-if-said").textContent = changes.length
      ? `Changed: ${saidAll(changes)}.`
      : "Nothing changed: tick a box, or try an experiment.";
    $("what-if").classList.toggle("active", changes.length > 0);
  };
}

// A walk's stage by its label, and the first stage that shows a hook as its result (else as an input).
export function stageFinders(stages) {
  const stageOf = (label) => stages.findIndex((s) => s.label === label);
  const stageOfHook = (hook) => {
    const at = stages.findIndex((s) => s.hooks.some((p) => p.hook === hook));
    return at >= 0 ? at : stages.findIndex((s) => s.inputs.some((p) => p.hook === hook));
  };
  return { stageOf, stageOfHook };
}

// The mean entropy (bits) of the rows of a pattern ([heads][query][key] or [query][key]).
export function meanEntropy(data) {
  const rows = Array.isArray(data[0][0]) ? data.flat() : data;
  const bits = rows.map((row) => -row.reduce((sum, p) => (p > 0 ? sum + p * Math.log2(p) : sum), 0));
  return bits.reduce((a, b) => a + b, 0) / bits.length;
}

// After an answer: where the change first showed, with a button that walks there; what moved at the stage on screen.
export function whatIfResult(store, result, { stages, stageOfHook, stage }) {
  const where = $("what-if-moved");
  if (!where) return;
  const w = result.what_if;
  if (!w) {
    where.replaceChildren();
    return;
  }
  if (!w.first_moved) {
    where.replaceChildren("Nothing moved: these changes leave this input's pass as it was.");
    return;
  }
  const at = stageOfHook(w.first_moved);
  const go = el("button", { type: "button" }, at >= 0 ? `${stages[at].group} · ${stages[at].label}` : w.first_moved);
  go.addEventListener("click", () => at >= 0 && store.set({ stage: at }));
  const steps = Object.keys(result.shapes ?? {}).length;
  const parts = [`It first shows at `, go, ` (${w.first_moved}); ${w.moved.length} of the pass's ${steps} steps moved.`];
  const shown = stage.hooks.find((p) => p.probabilities); // the stage's softmax rows (a pattern), if it shows them
  const pattern = shown && (w.steps ?? []).find((s) => s.name === shown.hook);
  const before = pattern && result.steps.find((s) => s.name === pattern.name);
  if (before) parts.push(` Mean entropy of this stage's softmax rows: ${fmt(meanEntropy(before.data), 3)} → ${fmt(meanEntropy(pattern.data), 3)} bits.`);
  if (w.output?.prediction !== undefined && result.output?.prediction !== undefined) {
    parts.push(` Next word: ${result.output.prediction} (p = ${fmt(result.output.probs[result.output.ids ? 0 : result.output.prediction_id], 3)}) → ${w.output.prediction} (p = ${fmt(w.output.probs[w.output.ids ? 0 : w.output.prediction_id], 3)}).`);
  }
  if (stage.view === "next") parts.push(" The bars are the changed pass's; a grey tick marks each word's value before the change.");
  const [a, b] = [result.output?.embedding, w.output?.embedding];
  if (a && b) { // an encoder: how far the sentence's embedding moved
    const dot = (x, y) => x.reduce((sum, v, i) => sum + v * y[i], 0);
    parts.push(` The sentence's embedding moved: cosine(unchanged, changed) = ${fmt(dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b)), 4)}.`);
  }
  where.replaceChildren(...parts);
}

// "What if it were…" under the unfolding of a learned number (the MLP's W and b, the text net's E): a number box and a
// slider about the trained value set it in the store's `wi` (at most 8 changes; the trained value takes it back).
export function valueEditor(store, { name, index, trained, note }) {
  const key = index.join();
  const mine = (c) => c.op === "set_param" && c.name === name && c.index.join() === key;
  const now = (parseChanges(store.state.wi) ?? []).find(mine);
  const value = now ? now.value : trained;
  const number = el("input", { type: "number", step: "0.01", value: String(value), ariaLabel: "the value to try" });
  const slider = el("input", { type: "range", min: String(trained - 3), max: String(trained + 3), step: "0.01", value: String(value), ariaLabel: "drag the value" });
  const set = (v) => {
    if (!Number.isFinite(v)) return;
    const others = (parseChanges(store.state.wi) ?? []).filter((c) => !mine(c));
    const changed = v === trained ? [] : [{ op: "set_param", name, index, value: Math.round(v * 1e4) / 1e4 }];
    store.set({ wi: changesText([...others, ...changed].slice(-8)) });
  };
  number.addEventListener("change", () => set(Number(number.value)));
  slider.addEventListener("input", () => {
    number.value = slider.value;
    set(Number(slider.value));
  });
  const reset = el("button", { type: "button" }, "trained value");
  reset.addEventListener("click", () => {
    number.value = slider.value = String(trained);
    set(trained);
  });
  return el("div", { className: "what-if-edit" }, el("p", {}, el("strong", {}, "What if it were "), number, " ", reset), slider,
    el("p", { className: "note" }, note));
}
