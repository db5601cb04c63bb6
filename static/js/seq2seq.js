// The translator page: the three attentions, the alignment, the next French word and a translation whose words
// show what they attended to. All numbers come from /api; the query string holds the state.
/* global Plotly */
import { clearError, coalesced, getJSON, postJSON, showError } from "./api.js";
import { el, offerJSON } from "./dom.js";
import { BLUE, CONFIG, baseLayout, drawnFrom, fmt, heatmap, plotlyReady } from "./plots.js";
import { keepValid, readState, whole, within, writeState } from "./state.js";
import { startTour } from "./tour.js";
import { sliderToT, tToSlider } from "./temperature.js";

const ORANGE = "#e08214";
const CUT = "#d4d4d4";
const page = document.getElementById("page");
const $ = (id) => document.getElementById(id);
const EXAMPLES = ["the black cat sleeps .", "a small car sees the green flowers .", "the white houses fall .",
  "the red birds see a black dog ."];
const DEFAULTS = { src: EXAMPLES[0], tgt: "", layer: 1, head: 0, t: 1, k: 0, p: 0, seed: 0 };
const sampling = (s) => ({ temperature: s.t, top_k: s.k || null, top_p: s.p || null });
const forward = (s) => postJSON(page.dataset.forwardUrl, { input: s.src, target: s.tgt, ...sampling(s) });

// A bad number in a link falls back alone. Only top-k's bound needs the model's detail, so without top-k the first
// pass goes out with the detail, before Plotly has run (see plots.js).
const state = readState(DEFAULTS);
keepValid(state, DEFAULTS, { t: (v) => v === 0 || within(v, 1e-4, 10), p: (v) => within(v, 0, 1), seed: (v) => whole(v, 0, 2 ** 31 - 1) });
const early = state.k === 0 ? forward(state) : null;
early?.catch(() => {}); // a failure is shown where it is awaited, below
const [detail] = await Promise.all([getJSON(page.dataset.detailUrl), plotlyReady]);
const { config } = detail;
const vocab = detail.target_vocab;
keepValid(state, DEFAULTS, { k: (v) => whole(v, 0, vocab.length), layer: (v) => whole(v, 0, config.n_layers - 1),
  head: (v) => whole(v, 0, config.n_heads - 1) });
const wanted = { ...state };
let result = null;
// Plotly reads "<s>" as markup: escape it so the start token shows on the axes.
const labels = (tokens) => tokens.map((t, i) => `${i} ${t.replace(/</g, "&lt;").replace(/>/g, "&gt;")}`);

// ---- the three attentions and the alignment ---------------------------------------------------------------
function attentions() {
  const steps = Object.fromEntries(result.steps.map((s) => [s.name, s]));
  const L = state.layer;
  const src = labels(result.tokens);
  const tgt = labels(result.target_tokens);
  const where = `layer ${L}, head ${state.head}`;
  const show = (id, name, x, y, title) => heatmap($(id), { z: steps[name].data[state.head], x, y, title: `${title}, ${where}`,
    sequential: true, annotate: x.length <= 8 && y.length <= 8 });
  show("plot-encoder", `encoder.blocks.${L}.attn.hook_pattern`, src, src, "Encoder pattern");
  heatmap($("plot-decoder"), { z: steps[`decoder.blocks.${L}.attn.hook_scores`].data[state.head], x: tgt, y: tgt,
    title: `Decoder scores ÷√d, ${where}`, annotate: false });
  show("plot-cross", `decoder.blocks.${L}.cross_attn.hook_pattern`, src, tgt, "Cross pattern");
  const cross = steps[`decoder.blocks.${L}.cross_attn.hook_pattern`].data; // [heads][target_pos][source_pos]
  const mean = cross[0].map((row, j) => row.map((_, i) => cross.reduce((sum, head) => sum + head[j][i], 0) / cross.length));
  heatmap($("plot-align"), { z: mean, x: src, y: tgt, title: `Layer ${L}: cross-attention averaged over ${cross.length} heads`,
    sequential: true, annotate: src.length <= 8 && tgt.length <= 8 });
}

function nextWord(out) {
  const order = vocab.map((_, i) => i).sort((a, b) => out.probs[b] - out.probs[a]).slice(0, 12);
  const colour = order.map((i) => (!out.kept.includes(i) ? CUT : i === out.prediction_id ? ORANGE : BLUE));
  const trace = { type: "bar", x: order.map((i) => vocab[i]), y: order.map((i) => out.probs[i]), marker: { color: colour },
    hovertemplate: "%{x}: %{y:.4f}<extra></extra>" };
  $("prediction").textContent = `argmax: ${out.prediction}`;
  $("entropy").textContent = fmt(out.entropy, 3);
  return Plotly.react("plot-next", [trace], baseLayout({ height: 260, yaxis: { title: { text: "probability" }, range: [0, 1.05] } }), CONFIG);
}

// ---- translation: each word with the source words it read ---------------------------------------------------
function attended(source, row, word) {
  const max = Math.max(...row);
  $("attended").replaceChildren(el("span", {}, `'${word}' read: `), ...source.map((w, i) =>
    el("span", { className: "word-weight", title: fmt(row[i], 3), style: `background: rgba(224, 130, 20, ${(row[i] / max).toFixed(3)})` }, w)));
}

let translation = 0; // which translate() call is the newest: an older reply is dropped

function clearTranslation() {
  translation += 1;
  $("translation").replaceChildren();
  $("attended").replaceChildren();
  delete document.body.dataset.translated;
}

async function translate() {
  const mine = ++translation;
  try {
    const out = await postJSON(page.dataset.generateUrl, { prompt: state.src, ...sampling(state), seed: state.seed });
    if (mine !== translation) return;
    const words = out.steps.map((step) => {
      const token = el("span", { className: "token", tabIndex: 0, title: `p = ${fmt(step.prob, 3)}` }, step.token);
      const show = () => attended(out.prompt_tokens, step.cross, step.token);
      token.addEventListener("mouseenter", show);
      token.addEventListener("focus", show);
      return token;
    });
    $("translation").replaceChildren(...words.flatMap((w, i) => (i ? [" ", w] : [w])));
    const last = out.steps.at(-1);
    if (last) attended(out.prompt_tokens, last.cross, last.token);
    document.body.dataset.translated = out.text;
  } catch (error) {
    showError(error);
  }
}

// ---- one update ----------------------------------------------------------------------------------------------
function showControls() {
  $("source").value = state.src;
  $("target").value = state.tgt;
  $("layer").value = String(state.layer);
  $("head").value = String(state.head);
  $("temperature").value = String(tToSlider(state.t));
  $("temperature-value").textContent = `T = ${state.t.toFixed(3)}`;
  $("top-k").value = state.k ? String(state.k) : "";
  $("top-p").value = state.p ? String(state.p) : "";
  $("seed").value = String(state.seed);
}

// "Add it to the French" appends the model's argmax; it waits for the view to be current, and says why it cannot.
let pending = 0;
function nextWordButton() {
  const words = result.target_tokens.length - 1;
  const done = result.output.prediction === config.eos;
  const full = words >= config.n_ctx - 1;
  $("next-word").disabled = pending > 0 || done || full;
  $("next-note").textContent = done ? "The sentence is finished (</s>)." : full ? `The prefix is full (${config.n_ctx - 1} words).` : "";
}

// The attentions depend on the sentences, the layer and the head, not on the sampling settings: a temperature move
// redraws the next-word plot alone.
const changed = drawnFrom();

async function render() {
  offerJSON(result, `${page.dataset.modelId}-forward.json`);
  writeState(state);
  showControls();
  nextWordButton();
  if (changed("attentions", [state.src, state.tgt, state.layer, state.head])) attentions();
  await nextWord(result.output);
  document.body.dataset.rendered = JSON.stringify({ src: state.src, tgt: state.tgt, layer: state.layer, head: state.head, ...sampling(state) });
}

const run = coalesced(async (next) => {
  try {
    if (next.src !== state.src) clearTranslation(); // a translation of another sentence would mislead
    result = await forward(next);
    Object.assign(state, next);
    clearError();
    await render();
  } catch (error) {
    showError(error);
    Object.assign(wanted, state);
    showControls();
  }
});

async function update(change) {
  Object.assign(wanted, change);
  pending += 1;
  nextWordButton();
  try {
    await run({ ...wanted });
  } finally {
    pending -= 1;
    nextWordButton();
  }
}

function buildControls() {
  $("examples").replaceChildren(...EXAMPLES.map((src) => {
    const button = el("button", { type: "button", className: "word", disabled: true }, src);
    button.addEventListener("click", () => update({ src, tgt: "" }));
    return button;
  }));
  $("layer").replaceChildren(...Array.from({ length: config.n_layers }, (_, L) => el("option", { value: String(L) }, String(L))));
  $("head").replaceChildren(...Array.from({ length: config.n_heads }, (_, h) => el("option", { value: String(h) }, String(h))));
  $("source").addEventListener("change", () => update({ src: $("source").value, tgt: "" }));
  $("target").addEventListener("change", () => update({ tgt: $("target").value }));
  const view = (change) => { Object.assign(state, change); Object.assign(wanted, change); render(); };
  $("layer").addEventListener("change", () => view({ layer: Number($("layer").value) }));
  $("head").addEventListener("change", () => view({ head: Number($("head").value) }));
  $("temperature").addEventListener("input", () => update({ t: sliderToT(Number($("temperature").value)) }));
  const number = (id) => ($(id).value === "" ? 0 : Number($(id).value));
  $("top-k").addEventListener("change", () => update({ k: number("top-k") }));
  $("top-p").addEventListener("change", () => update({ p: number("top-p") }));
  $("seed").addEventListener("change", () => { Object.assign(state, { seed: Math.max(0, Math.trunc(number("seed"))) }); writeState(state); });
  $("next-word").addEventListener("click", () => {
    update({ tgt: [state.tgt.trim(), result.output.prediction].filter(Boolean).join(" ") });
  });
  $("translate").addEventListener("click", translate);
}

buildControls();
try {
  result = await (early ?? forward(state));
} catch (error) {
  showError(error); // a link with a bad sentence: say why, and show the defaults
  Object.assign(state, DEFAULTS);
  result = await forward(state);
}
Object.assign(wanted, state);
await render();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
nextWordButton();
const step = (notches) => () => update({ t: sliderToT(Math.max(0, Math.min(100, tToSlider(wanted.t) + notches))) });
const heads = Object.fromEntries(Array.from({ length: config.n_heads }, (_, h) => [String(h), () => {
  Object.assign(state, { head: h });
  Object.assign(wanted, { head: h });
  render();
}]));
await startTour(page.dataset.captionsUrl, { "+": step(5), "=": step(5), "-": step(-5), ...heads });
