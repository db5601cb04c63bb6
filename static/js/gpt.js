// The GPT page: step through every stage of the forward pass, the next-word distribution, the logit lens,
// generation one word at a time, and a comparison of two inputs. All numbers come from /api; state is in the URL.
/* global Plotly */
import { clearError, coalesced, getJSON, postJSON, showError } from "./api.js";
import { el, offerJSON } from "./dom.js";
import { BLUE, CONFIG, baseLayout, drawnFrom, fmt, heatmap, plotlyReady } from "./plots.js";
import { keepValid, readState, whole, within, writeState } from "./state.js";
import { sliderToT, tToSlider } from "./temperature.js";

const ORANGE = "#e08214";
const CUT = "#d4d4d4";
const page = document.getElementById("page");
const $ = (id) => document.getElementById(id);
const EXAMPLES = ["the dogs that chased the cat", "the queen met the king and", "the dog chased the cat . who was chased ? the",
  "the boy took the money , reached the bank and saw the", "dog bites man ."];
const DEFAULTS = { text: EXAMPLES[0], stage: 0, layer: 0, head: 0, t: 1, k: 0, p: 0, rp: 0, seed: 0, cmp: "" };
const SEED_MAX = 2 ** 31 - 1 - 64; // room for seed + one per generated word
const sampling = (s) => ({ temperature: s.t, top_k: s.k || null, top_p: s.p || null, repetition_penalty: s.rp || null });
const passes = (s) => {
  const forward = (text) => postJSON(page.dataset.forwardUrl, { input: text, ...sampling(s) });
  return Promise.all([forward(s.text), s.cmp.trim() ? forward(s.cmp) : null]);
};

// A bad number in a link falls back alone; the text stays (the server checks it). Only top-k's bound needs the
// model's detail, so without top-k the first passes go out with the detail, before Plotly has run (see plots.js).
const state = readState(DEFAULTS);
keepValid(state, DEFAULTS, { t: (v) => v === 0 || within(v, 1e-4, 10), p: (v) => within(v, 0, 1),
  rp: (v) => v === 0 || within(v, 1, 10), seed: (v) => whole(v, 0, SEED_MAX) });
const early = state.k === 0 ? passes(state) : null;
early?.catch(() => {}); // a failure is shown where it is awaited, below
const [detail, captions] = await Promise.all([getJSON(page.dataset.detailUrl), getJSON(page.dataset.captionsUrl), plotlyReady]);
const { vocab, config } = detail;
keepValid(state, DEFAULTS, { k: (v) => whole(v, 0, vocab.length), layer: (v) => whole(v, 0, config.n_layers - 1),
  head: (v) => whole(v, 0, config.n_heads - 1) });
const wanted = { ...state };
let result = null; // the forward result on screen
let other = null; // the comparison's forward result
const labels = (tokens) => tokens.map((t, i) => `${i} ${t}`); // positions keep repeated words apart on an axis

// ---- the stages ------------------------------------------------------------------------------------------
const block = (L, name) => `blocks.${L}.${name}`;
const STAGES = [
  { label: "embeddings", hooks: () => ["hook_embed"] },
  { label: "positions", hooks: () => ["hook_pos_embed"] },
  { label: "sum", hooks: () => [block(0, "hook_resid_pre")] },
  { label: "layer norm", hooks: (L) => [block(L, "ln1.hook_normalized")] },
  { label: "Q, K, V", hooks: (L) => ["q", "k", "v"].map((x) => block(L, `attn.hook_${x}`)), perHead: true },
  { label: "q·kᵀ", hooks: (L) => [block(L, "attn.hook_scores_raw")], perHead: true, square: true },
  { label: "÷√d, mask", hooks: (L) => [block(L, "attn.hook_scores")], perHead: true, square: true },
  { label: "softmax", hooks: (L) => [block(L, "attn.hook_pattern")], perHead: true, square: true, allHeads: true },
  { label: "heads", hooks: (L) => [block(L, "attn.hook_z")], perHead: true },
  { label: "attention out", hooks: (L) => [block(L, "hook_attn_out"), block(L, "hook_resid_mid")] },
  { label: "layer norm 2", hooks: (L) => [block(L, "ln2.hook_normalized")] },
  { label: "feed-forward", hooks: (L) => [block(L, "mlp.hook_pre"), block(L, "mlp.hook_post"), block(L, "hook_mlp_out")] },
  { label: "residual out", hooks: (L) => [block(L, "hook_resid_post")] },
  { label: "final layer norm", hooks: () => ["ln_final.hook_normalized"] },
  { label: "logits", hooks: () => ["hook_logits"] },
];

function stagePlot(box, step, tokens, { head = null, square = false, small = false }) {
  const z = head === null ? step.data : step.data[head];
  const y = labels(tokens);
  const x = square ? y : step.name === "hook_logits" ? vocab : z[0].map((_, d) => `${d}`);
  const div = el("div", { className: small ? "plot heat small" : "plot heat", dataset: { hook: step.name, head: head ?? "" } });
  box.append(div);
  const pattern = step.name.endsWith("hook_pattern");
  const title = head === null ? step.title : `${step.title}, head ${head}`;
  return heatmap(div, { z, x, y, title, annotate: square && tokens.length <= 8, sequential: pattern });
}

function renderStage() {
  const stage = STAGES[state.stage];
  const steps = Object.fromEntries(result.steps.map((s) => [s.name, s]));
  const names = stage.hooks(state.layer);
  for (const button of $("stages").children) button.setAttribute("aria-pressed", String(Number(button.dataset.stage) === state.stage));
  $("stage-title").textContent = `${state.stage + 1}. ${names.map((n) => steps[n].title).join(" · ")}`;
  const caption = captions.stages[stage.label] ?? { what: "", formula: "", intuition: "" };
  $("caption-what").textContent = caption.what;
  $("caption-formula").textContent = caption.formula;
  $("caption-intuition").textContent = caption.intuition;
  const masked = names.some((n) => n.endsWith("attn.hook_scores")) ? "   (grey cells: masked)" : "";
  $("stage-formula").textContent = names.map((n) => steps[n].formula).join("   |   ") + masked;
  const box = $("stage-plots");
  for (const div of box.querySelectorAll(".plot")) Plotly.purge(div);
  box.replaceChildren();
  for (const name of names) stagePlot(box, steps[name], result.tokens, { head: stage.perHead ? state.head : null, square: stage.square });
  if (stage.allHeads) {
    const grid = el("div", { className: "all-heads" });
    box.append(el("h4", {}, "All heads"), grid);
    for (let h = 0; h < config.n_heads; h++) stagePlot(grid, steps[names[0]], result.tokens, { head: h, square: true, small: true });
  }
  stageButtons();
}

function stageButtons() {
  $("prev").disabled = state.stage === 0;
  $("next").disabled = state.stage === STAGES.length - 1;
}

// ---- the next word -------------------------------------------------------------------------------------------
function nextWord(out) {
  const order = vocab.map((_, i) => i).sort((a, b) => out.logits[b] - out.logits[a]);
  const colour = order.map((i) => (!out.kept.includes(i) ? CUT : i === out.prediction_id ? ORANGE : BLUE));
  const bar = (values, axis) => ({ type: "bar", x: order.map((i) => vocab[i]), y: order.map((i) => values[i]), xaxis: `x${axis}`,
    yaxis: `y${axis}`, marker: { color: colour }, hovertemplate: "%{x}: %{y:.4f}<extra></extra>" });
  const layout = baseLayout({ height: 340, showlegend: false, grid: { rows: 2, columns: 1, pattern: "independent" },
    yaxis: { title: { text: "logit" } }, yaxis2: { title: { text: "probability" }, range: [0, 1.05] } });
  $("prediction").textContent = `argmax: ${out.prediction}`;
  $("entropy").textContent = fmt(out.entropy, 3);
  return Plotly.react("plot-next", [bar(out.logits, ""), bar(out.probs, "2")], layout, CONFIG);
}

function lensTable() {
  const head = el("tr", {}, el("th", { scope: "col" }, "after"), ...result.tokens.map((t, i) => el("th", { scope: "col" }, `${i} ${t}`)));
  const rows = result.lens.map((layer) => el("tr", {}, el("th", { scope: "row" }, layer.layer),
    ...layer.top.map(([[word, p]]) => el("td", { title: `top: ${word} ${fmt(p, 3)}` }, `${word} ${fmt(p, 2)}`))));
  $("lens").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

// ---- comparing two inputs: where do their residual streams part? -------------------------------------------
function distance(a, b) {
  return Math.sqrt(a.reduce((sum, v, i) => sum + (v - b[i]) ** 2, 0));
}

function compare() {
  if (!other) {
    $("compare-summary").textContent = "Type another text to compare, e.g. 'man bites dog .' against 'dog bites man .'.";
    Plotly.purge("plot-compare");
    return;
  }
  const n = Math.min(result.tokens.length, other.tokens.length);
  const first = result.tokens.findIndex((t, i) => i >= n || t !== other.tokens[i]);
  const steps = (r) => Object.fromEntries(r.steps.map((s) => [s.name, s.data]));
  const [a, b] = [steps(result), steps(other)];
  const hooks = [block(0, "hook_resid_pre"), ...Array.from({ length: config.n_layers }, (_, L) => block(L, "hook_resid_post"))];
  const z = hooks.map((h) => Array.from({ length: n }, (_, pos) => distance(a[h][pos], b[h][pos])));
  const x = Array.from({ length: n }, (_, i) => `${i} ${result.tokens[i]}${result.tokens[i] === other.tokens[i] ? "" : ` | ${other.tokens[i]}`}`);
  heatmap($("plot-compare"), { z, x, y: ["embeddings", ...hooks.slice(1).map((_, L) => `block ${L}`)], title: "‖a − b‖", sequential: true, annotate: false });
  $("compare-summary").textContent = (first === -1 || first >= n ? "The two texts agree on their first " + n + " words. " :
    `They first differ at position ${first} ('${result.tokens[first]}' / '${other.tokens[first]}'). `) +
    `Next word: '${result.output.prediction}' for the first, '${other.output.prediction}' for the second.`;
}

// ---- one update ----------------------------------------------------------------------------------------------
function showControls() {
  $("text").value = state.text;
  $("compare").value = state.cmp;
  $("layer").value = String(state.layer);
  $("head").value = String(state.head);
  $("temperature").value = String(tToSlider(state.t));
  $("temperature-value").textContent = `T = ${state.t.toFixed(3)}`;
  $("top-k").value = state.k ? String(state.k) : "";
  $("top-p").value = state.p ? String(state.p) : "";
  $("penalty").value = state.rp ? String(state.rp) : "";
  $("seed").value = String(state.seed);
}

// Every activation and the logit lens depend on the text alone, not on the sampling settings (the server says so,
// app/walks.py): a temperature move redraws the next-word plot alone.
const changed = drawnFrom();
const stageView = () => [state.text, state.stage, state.layer, state.head];

async function render() {
  offerJSON(other ? { forward: result, compare: other } : result, `${page.dataset.modelId}-forward.json`);
  writeState(state);
  showControls();
  if (changed("text", state.text)) {
    $("tokens").replaceChildren(...result.tokens.map((t, i) => el("span", { className: "token", title: `position ${i}` }, `${t} `, el("small", {}, `#${result.ids[i]}`))));
    lensTable();
  }
  if (changed("stage", stageView())) renderStage();
  if (changed("compare", [state.text, state.cmp, result.output.prediction, other?.output.prediction])) compare();
  generationButtons(false);
  await nextWord(result.output);
  document.body.dataset.rendered = JSON.stringify({ text: state.text, stage: state.stage, layer: state.layer, head: state.head, ...sampling(state), cmp: state.cmp });
}

const run = coalesced(async (next) => {
  try {
    const forward = (text) => postJSON(page.dataset.forwardUrl, { input: text, ...sampling(next) });
    const [main, cmp] = await Promise.all([forward(next.text), next.cmp.trim() ? forward(next.cmp) : null]);
    Object.assign(state, next);
    [result, other] = [main, cmp];
    clearError();
    await render();
  } catch (error) {
    showError(error);
    Object.assign(wanted, state);
    showControls();
  }
});

function update(change) {
  Object.assign(wanted, change);
  return run({ ...wanted });
}

function view(change) {
  // stage, layer and head only change what is drawn: no request
  Object.assign(state, change);
  Object.assign(wanted, change);
  writeState(state);
  showControls();
  changed("stage", stageView());
  renderStage();
  document.body.dataset.rendered = JSON.stringify({ text: state.text, stage: state.stage, layer: state.layer, head: state.head, ...sampling(state), cmp: state.cmp });
}

// ---- generation ----------------------------------------------------------------------------------------------
// The page shows the whole text in one pass, so generation stops when the context (n_ctx words) is full.
const room = () => config.n_ctx - result.tokens.length;
function generationButtons(busy) {
  for (const id of ["step-one", "to-end"]) $(id).disabled = busy || room() <= 0;
  $("gen-note").textContent = room() <= 0 ? `The context is full (${config.n_ctx} words): start a new text to go on.` : "";
}

async function generate(maxNew) {
  const prompt = state.text;
  generationButtons(true);
  try {
    const start = $("generated").querySelectorAll("li:not(.stop)").length;
    const body = { prompt, max_new_tokens: Math.min(maxNew, room()), ...sampling(state), seed: state.seed + start };
    const out = await postJSON(page.dataset.generateUrl, body);
    if (wanted.text !== prompt) return; // the text was changed meanwhile: this continuation is for another text
    for (const step of out.steps) {
      $("generated").append(el("li", {}, el("strong", {}, step.token), ` drawn with p = ${fmt(step.prob, 3)} from: `,
        step.top.map(([w, p]) => `${w} ${fmt(p, 3)}`).join(", ")));
    }
    if (out.stop_reason !== "max_new_tokens") $("generated").append(el("li", { className: "stop" }, out.stop_reason === "eos" ? "end of sentence" : `repeated ${out.loop.join(" → ")}`));
    await update({ text: out.text });
  } catch (error) {
    showError(error);
  } finally {
    generationButtons(false);
  }
}

// ---- controls, then the first render -------------------------------------------------------------------------
function buildControls() {
  $("examples").replaceChildren(...EXAMPLES.map((text) => {
    const button = el("button", { type: "button", className: "word", disabled: true }, text);
    button.addEventListener("click", () => { $("generated").replaceChildren(); update({ text }); });
    return button;
  }));
  $("stages").replaceChildren(...STAGES.map((s, i) => {
    const button = el("button", { type: "button", className: "stage", disabled: true, dataset: { stage: String(i) } }, `${i + 1} ${s.label}`);
    button.addEventListener("click", () => view({ stage: i }));
    return button;
  }));
  $("layer").replaceChildren(...Array.from({ length: config.n_layers }, (_, L) => el("option", { value: String(L) }, String(L))));
  $("head").replaceChildren(...Array.from({ length: config.n_heads }, (_, h) => el("option", { value: String(h) }, String(h))));
  $("layer").addEventListener("change", () => view({ layer: Number($("layer").value) }));
  $("head").addEventListener("change", () => view({ head: Number($("head").value) }));
  $("prev").addEventListener("click", () => view({ stage: Math.max(0, state.stage - 1) }));
  $("next").addEventListener("click", () => view({ stage: Math.min(STAGES.length - 1, state.stage + 1) }));
  const submit = () => { $("generated").replaceChildren(); update({ text: $("text").value }); };
  $("run").addEventListener("click", submit);
  $("text").addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
  $("compare").addEventListener("change", () => update({ cmp: $("compare").value }));
  $("temperature").addEventListener("input", () => update({ t: sliderToT(Number($("temperature").value)) }));
  const number = (id) => ($(id).value === "" ? 0 : Number($(id).value));
  $("top-k").addEventListener("change", () => update({ k: number("top-k") }));
  $("top-p").addEventListener("change", () => update({ p: number("top-p") }));
  $("penalty").addEventListener("change", () => update({ rp: number("penalty") }));
  $("seed").addEventListener("change", () => update({ seed: Math.max(0, Math.trunc(number("seed"))) }));
  $("step-one").addEventListener("click", () => generate(1));
  $("to-end").addEventListener("click", () => generate(20));
}

// ---- the guided walk from the keyboard (a presenter's clicker sends these keys) ----------------------------------
const KEYS = {
  ArrowRight: () => view({ stage: Math.min(STAGES.length - 1, state.stage + 1) }),
  " ": () => view({ stage: Math.min(STAGES.length - 1, state.stage + 1) }),
  PageDown: () => view({ stage: Math.min(STAGES.length - 1, state.stage + 1) }),
  ArrowLeft: () => view({ stage: Math.max(0, state.stage - 1) }),
  PageUp: () => view({ stage: Math.max(0, state.stage - 1) }),
  Home: () => view({ stage: 0 }),
  End: () => view({ stage: STAGES.length - 1 }),
  "+": () => update({ t: sliderToT(Math.min(100, tToSlider(state.t) + 5)) }),
  "=": () => update({ t: sliderToT(Math.min(100, tToSlider(state.t) + 5)) }),
  "-": () => update({ t: sliderToT(Math.max(0, tToSlider(state.t) - 5)) }),
};
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey || !result) return;
  const head = Number(event.key);
  const action = KEYS[event.key] ?? (Number.isInteger(head) && head < config.n_heads ? () => view({ head }) : null);
  if (!action) return;
  event.preventDefault(); // Space and PageDown would scroll the page
  action();
});

buildControls();
const valid = (n, size) => Number.isInteger(n) && n >= 0 && n < size;
if (!valid(state.stage, STAGES.length) || !valid(state.layer, config.n_layers) || !valid(state.head, config.n_heads)) {
  Object.assign(state, { stage: 0, layer: 0, head: 0 }); // view settings out of range: start at the beginning
}
try {
  [result, other] = await (early ?? passes(state));
} catch (error) {
  showError(error); // a link with a bad text or setting: say why, and show the defaults
  Object.assign(state, DEFAULTS);
  [result, other] = [await postJSON(page.dataset.forwardUrl, { input: state.text, ...sampling(state) }), null];
}
Object.assign(wanted, state);
await render();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
stageButtons(); // prev and next: one of them stays disabled at either end
generationButtons(false);
