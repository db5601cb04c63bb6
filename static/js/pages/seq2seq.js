// The translator page: the three attentions, the alignment, the next French word, and a translation whose words
// show what they attended to. Every number comes from /api; the store, mirrored in the URL, holds the view.
/* global Plotly */
import { getJSON, postJSON } from "../core/api.js";
import { $, el, showError } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole, within } from "../core/url.js";
import { heatmap } from "../views/heatmap.js";
import { nextToken } from "../views/next-token.js";
import { drawnFrom, fmt, plotlyReady } from "../views/plotly.js";
import { sampling, samplingControls } from "../views/sampling.js";
import { digitKeys, stepper } from "../views/stepper.js";
import { walk } from "../views/walk.js";

const page = $("page");
const EXAMPLES = ["the black cat sleeps .", "a small car sees the green flowers .", "the white houses fall .",
  "the red birds see a black dog ."];
// Plotly reads "<s>" as markup: escape it so the start token shows on the axes.
const labels = (tokens) => tokens.map((t, i) => `${i} ${t.replace(/</g, "&lt;").replace(/>/g, "&gt;")}`);

const store = new Store({ src: EXAMPLES[0], tgt: "", layer: 1, head: 0, t: 1, k: 0, p: 0, seed: 0, stage: 0 });
const controller = new PageController({
  store,
  requestKeys: ["src", "tgt", "t", "k", "p"],
  load: (s) => postJSON(page.dataset.forwardUrl, { input: s.src, target: s.tgt, ...sampling(s) }),
  draw,
  summary: (s) => ({ src: s.src, tgt: s.tgt, layer: s.layer, head: s.head, temperature: s.t, top_k: s.k || null, top_p: s.p || null }),
  download: (result) => [result, `${page.dataset.modelId}-forward.json`],
});
controller.prefetch(); // before Plotly has run (see views/plotly.js); used if the detail's checks leave the state as it is
const [detail, captions] = await Promise.all([getJSON(page.dataset.detailUrl), getJSON(page.dataset.captionsUrl), plotlyReady]);
const { config, limits, attentions } = detail;
const vocab = detail.target_vocab;
store.check({
  t: (v) => v === 0 || within(v, limits.temperature_min, limits.temperature_max), p: (v) => within(v, 0, 1),
  seed: (v) => whole(v, 0, limits.seed_max), k: (v) => whole(v, 0, limits.top_k_max),
  layer: (v) => whole(v, 0, config.n_layers - 1), head: (v) => whole(v, 0, config.n_heads - 1),
  stage: (v) => whole(v, 0, captions.stages.length - 1),
});

// ---- the three attentions of the chosen layer and head, and the layer's alignment ------------------------------
function drawAttentions(result, { layer, head }) {
  const steps = Object.fromEntries(result.steps.map((s) => [s.name, s]));
  const hook = (name) => steps[attentions[name].replace("{layer}", String(layer))].data[head];
  const src = labels(result.tokens);
  const tgt = labels(result.target_tokens);
  const where = `layer ${layer}, head ${head}`;
  const readable = (x, y) => x.length <= 8 && y.length <= 8;
  heatmap($("plot-encoder"), { z: hook("encoder"), x: src, y: src, title: `Encoder pattern, ${where}`, sequential: true, annotate: readable(src, src) });
  heatmap($("plot-decoder"), { z: hook("decoder"), x: tgt, y: tgt, title: `Decoder scores ÷√d, ${where}`, annotate: false });
  heatmap($("plot-cross"), { z: hook("cross"), x: src, y: tgt, title: `Cross pattern, ${where}`, sequential: true, annotate: readable(src, tgt) });
  heatmap($("plot-align"), { z: result.alignment[layer], x: src, y: tgt, title: `Layer ${layer}: cross-attention averaged over ${config.n_heads} heads`,
    sequential: true, annotate: readable(src, tgt) });
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
    const out = await postJSON(page.dataset.generateUrl, { prompt: store.state.src, ...sampling(store.state), seed: store.state.seed });
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

// "Add it to the French" appends the model's argmax; it waits for the view to be current, and says why it cannot.
let pending = 0;
function nextWordButton() {
  const result = controller.results;
  const done = result?.output.prediction === config.eos;
  const full = result && result.target_tokens.length - 1 >= limits.max_tokens - 1;
  $("next-word").disabled = !result || pending > 0 || done || full;
  $("next-note").textContent = done ? "The sentence is finished (</s>)." : full ? `The prefix is full (${limits.max_tokens - 1} words).` : "";
}

async function update(change) {
  pending += 1;
  nextWordButton();
  try {
    await controller.update(change);
  } finally {
    pending -= 1;
    nextWordButton();
  }
}

// ---- one drawing: the attentions depend on the sentences, the layer and the head, not on the sampling settings --
const changed = drawnFrom();
async function draw(result, state) {
  showControls(state);
  nextWordButton();
  if (changed("attentions", [state.src, state.tgt, state.layer, state.head])) drawAttentions(result, state);
  if (changed("next", [state.src, state.tgt, sampling(state)])) {
    await nextToken($("plot-next"), result.output, vocab, { panels: ["probs"], order: "prob", top: 12 });
  }
}

function showControls(state) {
  $("source").value = state.src;
  $("target").value = state.tgt;
  $("layer").value = String(state.layer);
  $("head").value = String(state.head);
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
  $("layer").addEventListener("change", () => store.set({ layer: Number($("layer").value) }));
  $("head").addEventListener("change", () => store.set({ head: Number($("head").value) }));
  $("next-word").addEventListener("click", () => {
    update({ tgt: [store.state.tgt.trim(), controller.results.output.prediction].filter(Boolean).join(" ") });
  });
  $("translate").addEventListener("click", translate);
  store.subscribe(clearTranslation, ["src"]); // a translation of another sentence would mislead
}

buildControls();
const keys = samplingControls(store, detail.limits);
await controller.start();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
nextWordButton();
stepper(store, { count: captions.stages.length, extraKeys: { ...keys, ...digitKeys(config.n_heads, (head) => store.set({ head })) } });
walk(store, captions.stages);
