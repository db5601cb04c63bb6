// The MiniLM page (a pretrained BERT encoder): step through every stage of its 6 post-LN blocks on any English
// sentence, one panel per screen under the architecture map, each stage's steps asked for as the walk reaches it; then
// compare two sentences by the cosine of their mean-pooled embeddings, what the model is for. Every number comes from
// /api; the store, mirrored in the URL, holds the whole view, the lit cell (qi, kj) included.
/* global Plotly */
import { getJSON, postJSON, remembered } from "../core/api.js";
import { offerPolls, patternShown, queryRow } from "../core/class.js";
import { $, el } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole } from "../core/url.js";
import { BLUE, CONFIG, ORANGE, baseLayout, drawnFrom, fmt, plotlyReady } from "../views/plotly.js";
import { parseUnfold } from "../views/unfold.js";
import { positions, stagePanel, stagesOnDemand } from "../views/panel.js";
import { FINAL, checkpointBody, checkpointCheck, scrubber } from "../views/scrubber.js";
import { digitKeys, stepper, stickyHeight } from "../views/stepper.js";
import { walk } from "../views/walk.js";
import { interventions, parseChanges, stageFinders, whatIfBox, whatIfResult } from "../views/whatif.js";

const page = $("page");
const EXAMPLES = ["A man is eating food.", "The bank raised its interest rates.", "She sat on the river bank.",
  "Transformers read unbelievably long sentences."];
const PAIRS = [["A man is eating food.", "A man is eating a piece of bread."], ["A man is eating food.", "The girl is carrying a baby."],
  ["The bank raised its interest rates.", "She sat on the river bank."]];

// `ck`: the training checkpoint (views/scrubber.js): MiniLM was pretrained elsewhere, so it has only the final weights,
// and the scrubber says so; a BERT trained here would be scrubbed like any other model.
const comparison = remembered((a, b, ck) => postJSON(page.dataset.compareUrl, { input: a, other: b, ...checkpointBody({ ck }) }));
const detailAsked = getJSON(page.dataset.detailUrl);
// Each stage's steps as the walk reaches it (views/panel.js): 12 heads × 6 blocks of a sentence are megabytes.
const steps = stagesOnDemand(page.dataset.forwardUrl, detailAsked.then((d) => d.stages));
const passBody = (s) => ({ input: s.text, ...checkpointBody(s) }); // what an unfolding explains: the unchanged pass
const forwardBody = (s) => ({ ...passBody(s), ...interventions(s) });
const load = (s) => Promise.all([steps.load(forwardBody(s), s.stage, [s.text, s.wi, s.ck]), comparison(s.a, s.b, s.ck)]);
const store = new Store({ text: EXAMPLES[0], stage: 0, head: 0, qi: -1, kj: -1, ux: "", a: PAIRS[0][0], b: PAIRS[0][1], wi: "", ck: FINAL });
const controller = new PageController({
  store,
  requestKeys: ["text", "stage", "a", "b", "wi", "ck"], // a stage's steps are asked for when it is reached
  lightKeys: ["qi", "kj", "ux"], // hover and focus: the panel lights them itself (views/panel.js)
  load,
  draw,
  summary: (s) => ({ text: s.text, stage: s.stage, head: s.head, a: s.a, b: s.b }),
  download: ([result, similarity], s) => {
    const both = (forward) => ({ forward, compare: similarity });
    return [both(result), `${page.dataset.modelId}-forward.json`, async () => both(await steps.all(forwardBody(s)))]; // every step
  },
});
controller.prefetch(); // before Plotly has run (see views/plotly.js); used if the detail's checks leave the state as it is
const [detail, captions] = await Promise.all([detailAsked, getJSON(page.dataset.captionsUrl), plotlyReady]);
const { config, limits, stages } = detail;
store.check({
  head: (v) => whole(v, 0, config.n_heads - 1), stage: (v) => whole(v, 0, stages.length - 1),
  qi: (v) => whole(v, -1, limits.max_tokens - 1), kj: (v) => whole(v, -1, limits.max_tokens - 1),
  ux: (v) => v === "" || parseUnfold(v) !== null, wi: (v) => parseChanges(v) !== null, ck: checkpointCheck(detail),
});
// A number of the panel unfolded (views/unfold.js), for the request whose answers are on screen.
let onScreen = store.state;
const explain = (hook, index) => postJSON(page.dataset.explainUrl, { ...passBody(onScreen), hook, index });
const panel = stagePanel(store, { stages, heads: config.n_heads, explain, labels: (axis, result) => positions(result.tokens) });

// ---- two sentences' embeddings and their cosine (computed on the server) ---------------------------------------
function compare(c) {
  $("cosine").textContent = fmt(c.cosine, 3).replace("-", "−");
  const closeness = c.cosine > 0.7 ? "close in meaning" : c.cosine > 0.4 ? "somewhat related" : c.cosine > 0.1 ? "loosely related" : "unrelated";
  $("compare-summary").textContent = `${c.tokens.length} and ${c.other_tokens.length} pieces; each embedding is the average of its sentence's last hidden states. ` +
    `cos = ${fmt(c.cosine, 4)}: to this model the two sentences are ${closeness}.`;
  const x = c.embedding.map((_, i) => i);
  Plotly.react($("plot-embeddings"), [
    { x, y: c.embedding, name: "A", type: "scatter", mode: "lines", line: { color: BLUE, width: 1 } },
    { x, y: c.other_embedding, name: "B", type: "scatter", mode: "lines", line: { color: ORANGE, width: 1 } },
  ], baseLayout({ height: 260, xaxis: { title: { text: "d_model (0 to 383)" } }, yaxis: { title: { text: "value" } },
    legend: { orientation: "h", y: 1.15 } }), CONFIG);
}

// ---- one drawing: the panel for the stage, the pieces for the text, the comparison for its pair ----------------
const changed = drawnFrom();
async function draw([result, similarity], state) {
  onScreen = state;
  showControls(state);
  if (changed("text", [state.text, state.ck])) {
    $("tokens").replaceChildren(...result.tokens.map((t, i) => {
      const token = el("span", { className: "token", title: `position ${i}`, tabIndex: 0, dataset: { i: String(i) } }, `${t} `, el("small", {}, `#${result.ids[i]}`));
      const light = () => store.set({ qi: i, kj: -1 });
      token.addEventListener("mouseenter", light);
      token.addEventListener("focus", light);
      return token;
    }));
  }
  const stage = stages[state.stage];
  whatIfResult(store, result, { stages, stageOfHook, stage: stages[state.stage] });
  if (changed("stage", [state.text, state.stage, state.head, state.wi, state.ck])) {
    $("stage-title").textContent = `${stage.group} · ${stage.label}`;
    $("head-control").hidden = ![...stage.inputs, ...stage.hooks].some((p) => p.per_head) && stage.view !== "heads";
    await panel.draw(result, state.stage, state.head, { request: JSON.stringify(forwardBody(state)) });
  }
  if (changed("compare", [state.a, state.b, state.ck])) compare(similarity);
}

// What was typed stays in the box when the server refuses it (its message says why, beside the box).
let typed = null;
function showControls(state) {
  if (typed === null || typed === state.text) $("text").value = state.text;
  if (typed === state.text) typed = null;
  $("sentence-a").value = state.a;
  $("sentence-b").value = state.b;
  $("head").value = String(state.head);
}

function buildControls() {
  $("limit-note").textContent = `Any English text: WordPiece splits a word it does not know into pieces it does (or [UNK]). ` +
    `This page reads at most ${limits.max_tokens} pieces, [CLS] and [SEP] included (the model could read ${limits.n_ctx}).`;
  $("examples").replaceChildren(...EXAMPLES.map((text) => {
    const button = el("button", { type: "button", className: "word", disabled: true }, text);
    button.addEventListener("click", () => { typed = null; store.set({ text }); });
    return button;
  }));
  $("compare-pairs").replaceChildren(...PAIRS.map(([a, b]) => {
    const button = el("button", { type: "button", className: "word", disabled: true }, `${a} / ${b}`);
    button.addEventListener("click", () => store.set({ a, b }));
    return button;
  }));
  $("head").replaceChildren(...Array.from({ length: config.n_heads }, (_, h) => el("option", { value: String(h) }, String(h))));
  $("head").addEventListener("change", () => store.set({ head: Number($("head").value) }));
  const submit = () => {
    typed = $("text").value;
    store.set({ text: typed });
  };
  $("run").addEventListener("click", submit);
  $("text").addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
  const pair = () => store.set({ a: $("sentence-a").value, b: $("sentence-b").value });
  $("compare-run").addEventListener("click", pair);
  for (const id of ["sentence-a", "sentence-b"]) $(id).addEventListener("keydown", (e) => { if (e.key === "Enter") pair(); });
}

// A class's attention poll (core/class.js): where a head's pattern is shown, which piece the page's head attends to
// most from the lit query row, else from the last piece before [SEP] (the sentence's last word).
offerPolls({
  attention: () => {
    const pattern = patternShown(stages[store.state.stage]);
    const result = controller.results?.[0];
    return pattern && result ? { model: page.dataset.modelId, request: forwardBody(store.state), hook: pattern.hook, head: store.state.head,
      query: queryRow(store.state.qi, result.tokens.length, Math.max(0, result.tokens.length - 2)) } : null;
  },
});
buildControls();
const { stageOf, stageOfHook } = stageFinders(stages);
const showChanges = whatIfBox(store, { stacks: [{ stack: null, layers: config.n_layers }], heads: config.n_heads,
  experiments: captions.experiments ?? {}, stageOf, onExperiment: () => $("stage").scrollIntoView({ block: "start" }) });
showChanges(store.state);
store.subscribe(showChanges, ["wi"]);
scrubber(store, $("scrubber"), detail);
walk(store, stages.map((s) => captions.stages[s.label] ?? {}), { into: "caption" }); // before the first drawing: it sizes the plots
await controller.start();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
stickyHeight();
if (new URLSearchParams(location.search).has("stage")) $("stage").scrollIntoView({ block: "start", behavior: "instant" }); // a shared link's stage
stepper(store, { count: stages.length, panel: "stage", extraKeys: digitKeys(config.n_heads, (head) => store.set({ head })) });
