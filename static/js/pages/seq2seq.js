// The translator page: the walk through the encoder's blocks and the decoder's (masked self-attention, then
// cross-attention reading the English), one panel per screen under the architecture map; the alignment; the next
// French word; and a translation whose words show what they read. By default the walk runs on the model's own
// translation fed back as the French. Every number comes from /api; the store, mirrored in the URL, holds the view.
/* global Plotly */
import { getJSON, postJSON } from "../core/api.js";
import { offerPolls, patternShown, queryRow } from "../core/class.js";
import { $, el, showError } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole, within } from "../core/url.js";
import { heatmap } from "../views/heatmap.js";
import { nextToken } from "../views/next-token.js";
import { drawnFrom, fmt, plotlyReady } from "../views/plotly.js";
import { sampling, samplingControls } from "../views/sampling.js";
import { parseUnfold } from "../views/unfold.js";
import { stagePanel, stagesOnDemand } from "../views/panel.js";
import { FINAL, checkpointBody, checkpointCheck, scrubber } from "../views/scrubber.js";
import { digitKeys, stepper, stickyHeight } from "../views/stepper.js";
import { vocabulary } from "../views/vocabulary.js";
import { walk } from "../views/walk.js";
import { interventions, parseChanges, stageFinders, whatIfBox, whatIfResult } from "../views/whatif.js";

const page = $("page");
const EXAMPLES = ["the black cat sleeps .", "a small car sees the green flowers .", "the white houses fall .",
  "the red birds see a black dog ."];
const labels = (tokens) => tokens.map((t, i) => `${i} ${t}`);
// A decoder row reads one French word and predicts the next: `1 le → chat`; the last row predicts the model's word.
const decoderRows = (result) => result.target_tokens.map((t, i) => `${i} ${t} → ${result.target_tokens[i + 1] ?? result.output.prediction}`);

// The model's own translation (greedy), the French the walk runs on by default: the net's at the checkpoint shown
// (`ck`, views/scrubber.js; every request names it).
const ownTranslation = async (src) => (await postJSON(page.dataset.generateUrl, { prompt: src, temperature: 0, ...checkpointBody(store.state) })).text;

const store = new Store({ src: EXAMPLES[0], tgt: "", layer: 1, head: 0, qi: -1, kj: -1, ux: "", t: 1, k: 0, p: 0, seed: 0, stage: 0, wi: "", ck: FINAL });
if (!new URLSearchParams(location.search).has("tgt")) {
  try {
    store.set({ tgt: await ownTranslation(store.state.src) }, { quiet: true });
  } catch {} // a source the server refuses: the forward request below says why
}
const detailAsked = getJSON(page.dataset.detailUrl);
// Each stage's steps as the walk reaches it (views/panel.js); the server keeps the pass, so a stage reruns nothing.
const steps = stagesOnDemand(page.dataset.forwardUrl, detailAsked.then((d) => d.stages));
const passBody = (s) => ({ input: s.src, target: s.tgt, ...sampling(s), ...checkpointBody(s) }); // what an unfolding explains: the unchanged pass
const forwardBody = (s) => ({ ...passBody(s), ...interventions(s) });
const controller = new PageController({
  store,
  requestKeys: ["src", "tgt", "t", "k", "p", "stage", "wi", "ck"], // a stage's steps are asked for when it is reached
  lightKeys: ["qi", "kj", "ux"],
  load: (s) => steps.load(forwardBody(s), s.stage, [s.src, s.tgt, s.wi, s.ck]),
  draw,
  summary: (s) => ({ src: s.src, tgt: s.tgt, stage: s.stage, layer: s.layer, head: s.head, temperature: s.t, top_k: s.k || null, top_p: s.p || null, checkpoint: s.ck === FINAL ? null : s.ck }),
  download: (result, s) => [result, `${page.dataset.modelId}-forward.json`, () => steps.all(forwardBody(s))], // every step
});
controller.prefetch(); // before Plotly has run (see views/plotly.js); used if the detail's checks leave the state as it is
const [detail, captions] = await Promise.all([detailAsked, getJSON(page.dataset.captionsUrl), plotlyReady]);
const { config, limits, stages } = detail;
const vocab = detail.target_vocab;
store.check({
  t: (v) => v === 0 || within(v, limits.temperature_min, limits.temperature_max), p: (v) => within(v, 0, 1),
  seed: (v) => whole(v, 0, limits.seed_max), k: (v) => whole(v, 0, limits.top_k_max),
  layer: (v) => whole(v, 0, config.n_layers - 1), head: (v) => whole(v, 0, config.n_heads - 1),
  stage: (v) => whole(v, 0, stages.length - 1), qi: (v) => whole(v, -1, config.n_ctx - 1), kj: (v) => whole(v, -1, config.n_ctx - 1),
  ux: (v) => v === "" || parseUnfold(v) !== null, wi: (v) => parseChanges(v) !== null, ck: checkpointCheck(detail),
});
// A number of the panel unfolded (views/unfold.js), for the request whose answers are on screen.
let onScreen = store.state;
const explain = (hook, index) => postJSON(page.dataset.explainUrl, { ...passBody(onScreen), hook, index });
const panel = stagePanel(store, { stages, heads: config.n_heads, explain,
  // A French word as a key (a column of scores, a row of K or V) is the word read there; as a query or a row of the
  // residual stream it also names the word that position predicts.
  labels: (axis, result, asKeys) => ({ tokens: labels(result.tokens), target: asKeys ? labels(result.target_tokens) : decoderRows(result), vocab })[axis] });

// ---- the alignment: the chosen layer's cross-attention, averaged over its heads ----------------------------------
function drawAlignment(result, { layer }) {
  heatmap($("plot-align"), { z: result.alignment[layer], x: labels(result.tokens), y: decoderRows(result), xTitle: "English word (key)",
    yTitle: "French row: reads → predicts", title: `Layer ${layer}: cross-attention averaged over ${config.n_heads} heads`, sequential: true,
    annotate: result.tokens.length <= 8 && result.target_tokens.length <= 8 });
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
    const out = await postJSON(page.dataset.generateUrl, { prompt: store.state.src, ...sampling(store.state), seed: store.state.seed, ...checkpointBody(store.state), ...interventions(store.state) });
    if (mine !== translation) return;
    const words = out.steps.map((step) => {
      const token = el("span", { className: "token", tabIndex: 0, title: `p = ${fmt(step.prob, 3)}` }, step.token);
      const show = () => attended(out.prompt_tokens, step.cross, step.token);
      token.addEventListener("mouseenter", show);
      token.addEventListener("focus", show);
      return token;
    });
    $("translation").replaceChildren(...words.flatMap((w, i) => (i ? [" ", w] : [w])));
    $("translation-changed").textContent = out.what_if ? `with the changes: ${out.what_if.text}` : "";
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
  onScreen = state;
  showControls(state);
  nextWordButton();
  if (changed("align", [state.src, state.tgt, state.layer, state.ck])) drawAlignment(result, state);
  const stage = stages[state.stage];
  whatIfResult(store, result, { stages, stageOfHook, stage });
  if (changed("stage", [state.src, state.tgt, state.stage, state.head, stage.view === "next" ? sampling(state) : null, state.wi, state.ck])) {
    $("stage-title").textContent = `${stage.group} · ${stage.label}`;
    $("head-control").hidden = ![...stage.inputs, ...stage.hooks].some((p) => p.per_head) && stage.view !== "heads";
    await panel.draw(result, state.stage, state.head, { output: result.output, vocab, temperature: state.t, request: JSON.stringify(forwardBody(state)) });
  }
  if (changed("next", [state.src, state.tgt, sampling(state), state.ck])) {
    await nextToken($("plot-next"), result.output, vocab, { panels: ["probs"], order: "prob", top: 12 });
    panel.nextWordChart($("plot-next"), result);
  }
}

// What was typed stays in its box when the server refuses it (its message says why, beside the boxes).
let typed = null;
function showControls(state) {
  if (typed === null || (typed.src === state.src && typed.tgt === state.tgt)) {
    $("source").value = state.src;
    $("target").value = state.tgt;
    typed = null;
  }
  $("layer").value = String(state.layer);
  $("head").value = String(state.head);
}

function buildControls() {
  $("examples").replaceChildren(...EXAMPLES.map((src) => {
    const button = el("button", { type: "button", className: "word", disabled: true }, src);
    button.addEventListener("click", async () => {
      typed = null;
      await update({ src, tgt: await ownTranslation(src).catch(() => "") });
    });
    return button;
  }));
  $("layer").replaceChildren(...Array.from({ length: config.n_layers }, (_, L) => el("option", { value: String(L) }, String(L))));
  $("head").replaceChildren(...Array.from({ length: config.n_heads }, (_, h) => el("option", { value: String(h) }, String(h))));
  const submitSource = async () => {
    const src = $("source").value;
    typed = { src, tgt: $("target").value };
    const tgt = await ownTranslation(src).catch(() => ""); // a refused source: the forward request says why
    typed.tgt = tgt;
    await update({ src, tgt });
  };
  const submitTarget = () => {
    typed = { src: store.state.src, tgt: $("target").value };
    return update({ tgt: typed.tgt });
  };
  $("source").addEventListener("change", submitSource);
  $("target").addEventListener("change", submitTarget);
  vocabulary("source", detail.vocab, submitSource);
  vocabulary("target", vocab.filter((w) => w !== config.bos && w !== config.eos), submitTarget);
  $("layer").addEventListener("change", () => store.set({ layer: Number($("layer").value) }));
  $("head").addEventListener("change", () => store.set({ head: Number($("head").value) }));
  $("next-word").addEventListener("click", () => {
    update({ tgt: [store.state.tgt.trim(), controller.results.output.prediction].filter(Boolean).join(" ") });
  });
  $("translate").addEventListener("click", async () => {
    await translate();
    if (document.body.dataset.translated !== undefined) await update({ tgt: document.body.dataset.translated }); // the plots follow
  });
  store.subscribe(clearTranslation, ["src", "wi", "ck"]); // a translation of another sentence (or model) would mislead
}

// A class's polls (core/class.js) ask about the stage on screen: the next French word on the next-word stage; where a
// head's pattern is shown, which word the page's head attends to most from the lit query row, else from the last row
// (the encoder's last English word; the decoder's last French word, the one that predicts the next).
offerPolls({
  nextWord: () => (stages[store.state.stage].view === "next" ? { model: page.dataset.modelId, request: forwardBody(store.state) } : null),
  attention: () => {
    const pattern = patternShown(stages[store.state.stage]);
    const result = controller.results;
    if (!pattern || !result) return null;
    const rows = (pattern.rows === "target" ? result.target_tokens : result.tokens).length;
    return { model: page.dataset.modelId, request: forwardBody(store.state), hook: pattern.hook, head: store.state.head, query: queryRow(store.state.qi, rows) };
  },
});
buildControls();
const { stageOf, stageOfHook } = stageFinders(stages);
const showChanges = whatIfBox(store, { heads: config.n_heads, experiments: captions.experiments ?? {}, stageOf,
  stacks: [{ stack: "encoder", layers: config.n_layers }, { stack: "decoder", layers: config.n_layers, causal: true },
    { stack: "cross", layers: config.n_layers }],
  onExperiment: () => $("stage").scrollIntoView({ block: "start" }) });
showChanges(store.state);
store.subscribe(showChanges, ["wi"]);
const keys = samplingControls(store, detail.limits);
scrubber(store, $("scrubber"), detail);
walk(store, stages.map((s) => captions.stages[s.label] ?? {}), { into: "caption" }); // before the first drawing: it sizes the plots
await controller.start();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
nextWordButton();
stickyHeight();
if (new URLSearchParams(location.search).has("stage")) $("stage").scrollIntoView({ block: "start", behavior: "instant" }); // a shared link's stage
stepper(store, { count: stages.length, panel: "stage", extraKeys: { ...keys, ...digitKeys(config.n_heads, (head) => store.set({ head })) } });
