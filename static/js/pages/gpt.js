// The GPT page: step through every stage of the forward pass, one panel per screen under the architecture map, then
// the next-word distribution, the logit lens, generation one word at a time, and the comparison of two inputs. Every
// number comes from /api; the store, mirrored in the URL, holds the whole view, the lit cell (qi, kj) included. The
// stages, their inputs and results come from the model's detail.
/* global Plotly */
import { getJSON, postJSON, remembered } from "../core/api.js";
import { offerPolls, patternShown, queryRow } from "../core/class.js";
import { $, el, showError } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole, within } from "../core/url.js";
import { heatmap } from "../views/heatmap.js";
import { nextToken } from "../views/next-token.js";
import { drawnFrom, fmt, plotlyReady, visibleToken } from "../views/plotly.js";
import { sampling, samplingControls } from "../views/sampling.js";
import { parseUnfold } from "../views/unfold.js";
import { positions, stagePanel, stagesOnDemand } from "../views/panel.js";
import { FINAL, checkpointBody, checkpointCheck, scrubber } from "../views/scrubber.js";
import { digitKeys, stepper, stickyHeight } from "../views/stepper.js";
import { vocabulary } from "../views/vocabulary.js";
import { interventions, parseChanges, stageFinders, whatIfBox, whatIfResult } from "../views/whatif.js";
import { walk } from "../views/walk.js";

const page = $("page");
// The texts offered to start from: the model's own (its record's, in the page), or these, in the grammar's words.
const OWN = JSON.parse(page.dataset.examples || "[]");
const EXAMPLES = OWN.length ? OWN : ["the dogs that chased the cat", "the queen met the king and",
  "the dog chased the cat . who was chased ? the", "the boy took the money , reached the bank and saw the", "dog bites man ."];

// A comparison depends on the two texts (and the checkpoint) alone: it is asked for once per pair, not on every
// sampling move. `ck`: the training checkpoint shown (views/scrubber.js); every request names it.
const comparison = remembered((text, other, ck) => postJSON(page.dataset.compareUrl, { input: text, other, ...checkpointBody({ ck }) }));
const detailAsked = getJSON(page.dataset.detailUrl);
// Each stage's steps as the walk reaches it (views/panel.js); the server keeps the pass, so a stage reruns nothing.
const steps = stagesOnDemand(page.dataset.forwardUrl, detailAsked.then((d) => d.stages));
const passBody = (s) => ({ input: s.text, ...sampling(s), ...checkpointBody(s) }); // what an unfolding explains: the unchanged pass
const forwardBody = (s) => ({ ...passBody(s), ...interventions(s) });
const load = (s) => Promise.all([
  steps.load(forwardBody(s), s.stage, [s.text, s.wi, s.ck]),
  s.cmp.trim() ? comparison(s.text, s.cmp, s.ck) : null,
]);
const store = new Store({ text: EXAMPLES[0], stage: 0, head: 0, qi: -1, kj: -1, ux: "", t: 1, k: 0, p: 0, rp: 0, seed: 0, cmp: "", wi: "", ck: FINAL });
const controller = new PageController({
  store,
  requestKeys: ["text", "t", "k", "p", "rp", "cmp", "stage", "wi", "ck"], // a stage's steps are asked for when it is reached
  lightKeys: ["qi", "kj", "ux"], // hover and focus: the panel lights them itself (views/panel.js)
  load,
  draw,
  summary: (s) => ({ text: s.text, stage: s.stage, head: s.head, ...sampling(s), cmp: s.cmp, checkpoint: s.ck === FINAL ? null : s.ck }),
  download: ([result, comparison], s) => {
    const both = (forward) => (comparison ? { forward, compare: comparison } : forward);
    return [both(result), `${page.dataset.modelId}-forward.json`, async () => both(await steps.all(forwardBody(s)))]; // every step
  },
});
controller.prefetch(); // before Plotly has run (see views/plotly.js); used if the detail's checks leave the state as it is
const [detail, captions] = await Promise.all([detailAsked, getJSON(page.dataset.captionsUrl), plotlyReady]);
const { config, limits, stages } = detail;
const vocab = detail.vocab.map(visibleToken); // a character model's space and line break, seen as ␣ and ↵
const shownTokens = (result) => result.tokens.map(visibleToken);
// A bad number in a link falls back alone; the text stays (the server checks it).
store.check({
  t: (v) => v === 0 || within(v, limits.temperature_min, limits.temperature_max), p: (v) => within(v, 0, 1),
  rp: (v) => v === 0 || within(v, 1, limits.repetition_penalty_max), seed: (v) => whole(v, 0, limits.seed_max - config.n_ctx),
  k: (v) => whole(v, 0, limits.top_k_max), head: (v) => whole(v, 0, config.n_heads - 1),
  stage: (v) => whole(v, 0, stages.length - 1), qi: (v) => whole(v, -1, config.n_ctx - 1), kj: (v) => whole(v, -1, config.n_ctx - 1),
  ux: (v) => v === "" || parseUnfold(v) !== null, wi: (v) => parseChanges(v) !== null, ck: checkpointCheck(detail),
});
// A number of the panel unfolded (views/unfold.js), for the request whose answers are on screen.
let onScreen = store.state;
const explain = (hook, index) => postJSON(page.dataset.explainUrl, { ...passBody(onScreen), hook, index });
const panel = stagePanel(store, { stages, heads: config.n_heads, explain, labels: (axis, result) => (axis === "vocab" ? vocab : positions(shownTokens(result))) });

// ---- the logit lens, and the comparison of two inputs (both computed on the server) ----------------------------
function lensTable(result) {
  const head = el("tr", {}, el("th", { scope: "col" }, "after"), ...shownTokens(result).map((t, i) => el("th", { scope: "col" }, `${i} ${t}`)));
  const rows = result.lens.map((layer) => el("tr", {}, el("th", { scope: "row" }, layer.layer),
    ...layer.top.map(([[word, p]]) => el("td", { title: `top: ${word} ${fmt(p, 3)}` }, `${word} ${fmt(p, 2)}`))));
  $("lens").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function compare(c) {
  if (!c) {
    $("compare-summary").textContent = "Type another text to compare, e.g. 'man bites dog .' against 'dog bites man .'.";
    Plotly.purge("plot-compare");
    return;
  }
  const n = c.distance[0].length;
  const x = Array.from({ length: n }, (_, i) => `${i} ${c.tokens[i]}${c.tokens[i] === c.other_tokens[i] ? "" : ` | ${c.other_tokens[i]}`}`);
  heatmap($("plot-compare"), { z: c.distance, x, y: c.layers.map((l) => l.layer), title: "‖a − b‖", sequential: true, annotate: false });
  const first = c.first_difference;
  $("compare-summary").textContent = (first === null ? `The two texts agree on their first ${n} words. `
    : `They first differ at position ${first} ('${c.tokens[first]}' / '${c.other_tokens[first]}'). `) +
    `Most likely next word (the logits' argmax): '${c.prediction}' for the first, '${c.other_prediction}' for the second.`;
}

// ---- generation, one token at a time. A word model's page shows the whole text in one pass, so it stops when the
// context is full; a character model writes on past it (the model reads the last n_ctx characters, and so does the
// walk), a speech at a time, shown as the passage it wrote.
const characters = detail.vocab.every((token) => token.length === 1);
const context = limits.max_tokens; // what the page reads: the model's context, at most 128 tokens (a GPT-2 reads 1,024)
const room = () => (characters ? Infinity : context - (controller.results?.[0].tokens.length ?? context));
let generating = false;
let written = 0; // tokens generated since the text was typed: each generation's seed moves on by as many
function generationButtons() {
  for (const id of ["step-one", "to-end"]) $(id).disabled = generating || room() <= 0;
  $("gen-note").textContent = room() <= 0 ? `The context is full (${context} words): start a new text to go on.` : "";
}
if (characters) {
  // A play's text has line breaks, which a one-line box drops: the text is a box of lines (Ctrl+Enter runs it).
  const box = $("text");
  const lines = Object.assign(document.createElement("textarea"), { id: box.id, rows: 4, cols: 60, disabled: box.disabled,
    title: "Ctrl+Enter runs it", className: "lines" });
  lines.setAttribute("aria-describedby", "error");
  box.replaceWith(lines);
  $("gen-title").textContent = "Generation, one character at a time";
  $("step-one").textContent = "add one character";
  $("to-end").textContent = `write ${limits.max_new_tokens} characters`;
}

async function generate(maxNew) {
  const { text: prompt, seed } = store.state;
  generating = true;
  generationButtons();
  try {
    const body = { prompt, max_new_tokens: Math.min(maxNew, room(), limits.max_new_tokens), ...sampling(store.state), seed: seed + written, ...checkpointBody(store.state), ...interventions(store.state) };
    const out = await postJSON(page.dataset.generateUrl, body);
    if (store.state.text !== prompt) return; // the text was changed meanwhile: this continuation is for another text
    written += out.steps.length;
    const drawn = (step) => [el("strong", {}, visibleToken(step.token)), ` drawn with p = ${fmt(step.prob, 3)} from: `,
      step.top.map(([w, p]) => `${visibleToken(w)} ${fmt(p, 3)}`).join(", ")];
    if (characters && out.steps.length > 1) { // a passage: the text it wrote, as a play is read
      $("generated").append(el("li", { className: "passage" }, el("pre", {}, out.steps.map((step) => step.token).join(""))));
    } else {
      for (const step of out.steps) $("generated").append(el("li", {}, ...drawn(step)));
    }
    if (out.stop_reason !== "max_new_tokens") $("generated").append(el("li", { className: "stop" }, out.stop_reason === "eos" ? "end of sentence" : `repeated ${out.loop.join(" → ")}`));
    if (out.what_if) { // the same draws with the changes made: where the two continuations part
      const theirs = out.what_if.steps.map((step) => visibleToken(step.token)).join(characters ? "" : " ");
      $("generated").append(el("li", { className: "what-if-text" }, el("strong", {}, "with the changes: "), theirs));
    }
    await controller.update({ text: characters ? out.text.slice(-context) : out.text }); // what the model reads next
  } catch (error) {
    showError(error);
  } finally {
    generating = false;
    generationButtons();
  }
}

// ---- one drawing: the activations depend on the text alone, so a temperature move redraws the next word alone --
const changed = drawnFrom();
async function draw([result, comparison], state) {
  onScreen = state;
  showControls(state);
  if (changed("text", [state.text, state.ck])) {
    $("tokens").replaceChildren(...shownTokens(result).map((t, i) => {
      const token = el("span", { className: "token", title: `position ${i}`, tabIndex: 0, dataset: { i: String(i) } }, `${t} `, el("small", {}, `#${result.ids[i]}`));
      const light = () => store.set({ qi: i, kj: -1 });
      token.addEventListener("mouseenter", light);
      token.addEventListener("focus", light);
      return token;
    }));
    lensTable(result);
  }
  const stage = stages[state.stage];
  const key = [state.text, state.stage, state.head, stage.view === "next" ? sampling(state) : null];
  if (changed("stage", [...key, state.wi, state.ck])) {
    $("stage-title").textContent = `${stage.group} · ${stage.label}`;
    $("head-control").hidden = ![...stage.inputs, ...stage.hooks].some((p) => p.per_head) && stage.view !== "heads";
    await panel.draw(result, state.stage, state.head, { output: result.output, vocab, temperature: state.t, request: JSON.stringify(forwardBody(state)) });
  }
  whatIfResult(store, result, { stages, stageOfHook, stage });
  if (changed("compare", [state.text, state.cmp, state.ck])) compare(comparison);
  generationButtons();
  if (changed("next", [state.text, sampling(state), state.ck])) {
    await nextToken($("plot-next"), result.output, vocab, { order: "logit" });
    panel.nextWordChart($("plot-next"), result);
  }
}

// What was typed stays in the box when the server refuses it (its message says why, beside the box).
let typed = null;
function showControls(state) {
  if (typed === null || typed === state.text) $("text").value = state.text;
  if (typed === state.text) typed = null;
  $("compare").value = state.cmp;
  $("head").value = String(state.head);
}

function buildControls() {
  $("examples").replaceChildren(...EXAMPLES.map((text) => {
    const button = el("button", { type: "button", className: "word", disabled: true }, text);
    button.addEventListener("click", () => { typed = null; $("generated").replaceChildren(); written = 0; store.set({ text }); });
    return button;
  }));
  $("head").replaceChildren(...Array.from({ length: config.n_heads }, (_, h) => el("option", { value: String(h) }, String(h))));
  $("head").addEventListener("change", () => store.set({ head: Number($("head").value) }));
  const submit = () => {
    typed = $("text").value;
    $("generated").replaceChildren();
    written = 0;
    store.set({ text: typed });
  };
  vocabulary("text", detail.vocab, submit, limits.whole_vocab);
  $("run").addEventListener("click", submit);
  $("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (!characters || e.ctrlKey)) submit(); });
  $("compare").addEventListener("change", () => store.set({ cmp: $("compare").value }));
  $("step-one").addEventListener("click", () => generate(1));
  $("to-end").addEventListener("click", () => generate(limits.max_new_tokens));
}

// A class's polls (core/class.js) ask about the stage on screen: the next word on the next-word stage; where a head's
// pattern is shown, which word the page's head attends to most from the lit query row, else from the last word (the
// one whose next word the model predicts).
offerPolls({
  nextWord: () => (stages[store.state.stage].view === "next" ? { model: page.dataset.modelId, request: forwardBody(store.state) } : null),
  attention: () => {
    const pattern = patternShown(stages[store.state.stage]);
    const result = controller.results?.[0];
    return pattern && result ? { model: page.dataset.modelId, request: forwardBody(store.state), hook: pattern.hook, head: store.state.head,
      query: queryRow(store.state.qi, result.tokens.length) } : null;
  },
});
buildControls();
const { stageOf, stageOfHook } = stageFinders(stages);
const showChanges = whatIfBox(store, { stacks: [{ stack: null, layers: config.n_layers, causal: true }], heads: config.n_heads,
  experiments: captions.experiments ?? {}, stageOf, onExperiment: () => $("stage").scrollIntoView({ block: "start" }) });
showChanges(store.state);
store.subscribe(showChanges, ["wi"]);
const keys = samplingControls(store, detail.limits);
scrubber(store, $("scrubber"), detail);
store.subscribe(() => { $("generated").replaceChildren(); written = 0; }, ["ck"]); // another net's continuation would mislead
walk(store, stages.map((s) => captions.stages[s.label] ?? {}), { into: "caption" }); // before the first drawing: it sizes the plots
await controller.start();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
stickyHeight();
if (new URLSearchParams(location.search).has("stage")) $("stage").scrollIntoView({ block: "start", behavior: "instant" }); // a shared link's stage
stepper(store, { count: stages.length, panel: "stage", extraKeys: { ...keys, ...digitKeys(config.n_heads, (head) => store.set({ head })) } });
generationButtons();
