// The page of a family with no page of its own: every hook of its forward pass is one stage of the walk, drawn from
// the API alone (titles and formulas from the steps, the input's kind and limits from the detail).
import { getJSON, postJSON } from "../core/api.js";
import { offerPolls } from "../core/class.js";
import { $, el } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole } from "../core/url.js";
import { nextToken } from "../views/next-token.js";
import { drawnFrom, plotlyReady } from "../views/plotly.js";
import { sampling, samplingControls } from "../views/sampling.js";
import { drawStage } from "../views/stage.js";
import { FINAL, checkpointBody, checkpointCheck, scrubber } from "../views/scrubber.js";
import { digitKeys, stepper } from "../views/stepper.js";
import { walk } from "../views/walk.js";

const page = $("page");
const [detail] = await Promise.all([getJSON(page.dataset.detailUrl), plotlyReady]);
const text = detail.input === "text";
const dials = text ? { t: 1, k: 0, p: 0, rp: 0 } : {}; // a text model's next token has sampling dials
const store = new Store({ input: text ? "" : 0, stage: 0, head: 0, ck: FINAL, ...dials }); // ck: views/scrubber.js
const body = (s) => ({ input: s.input, ...(text ? sampling(s) : {}), ...checkpointBody(s) });
const controller = new PageController({
  store,
  requestKeys: ["input", "ck", ...(text ? ["t", "k", "p", "rp"] : [])],
  load: (s) => postJSON(page.dataset.forwardUrl, body(s)),
  draw,
  summary: (s) => ({ ...body(s), stage: s.stage, head: s.head }),
  download: (result) => [result, `${page.dataset.modelId}-forward.json`],
});
// One stage per hook. How many heads there are is read off the first answer (the values' shapes).
store.check({ input: (v) => !text || v !== "", stage: (v) => whole(v, 0, detail.hook_names.length - 1), ck: checkpointCheck(detail) },
  { input: text ? detail.vocab[0] : 0 });
let stages = null;
let heads = 1;
function shape(result) {
  stages = result.steps.map((s) => ({ label: s.title, hooks: [s.name], per_head: s.shape.length === 3, columns: "index", numbers: true }));
  heads = Math.max(1, ...result.steps.map((s) => (s.shape.length === 3 ? s.shape[0] : 1)));
  $("head-control").hidden = heads === 1; // a model without heads has none to pick
  $("head").replaceChildren(...Array.from({ length: heads }, (_, h) => el("option", { value: String(h) }, String(h))));
}

const changed = drawnFrom();
async function draw(result, state) {
  if (stages === null) shape(result);
  if (!whole(state.head, 0, heads - 1)) { // a link's head this model does not have: draw the first, and say so
    store.set({ head: 0 });
    return;
  }
  $("input").value = String(state.input);
  $("head").value = String(state.head);
  if (result.tokens) $("tokens").replaceChildren(...result.tokens.map((t) => el("span", { className: "token" }, t)));
  if (changed("stage", [state.input, state.stage, state.head, state.ck])) {
    drawStage(result, stages[state.stage], { number: state.stage + 1, head: state.head, heads, vocab: detail.vocab ?? [] });
  }
  if (result.output?.probs && changed("next", [state.input, sampling(state), state.ck])) {
    $("next-section").hidden = false;
    await nextToken($("plot-next"), result.output, detail.vocab, { order: "logit", top: 24 });
  }
}

Object.assign($("input"), { type: text ? "text" : "number", step: "any" });
$("head").addEventListener("change", () => store.set({ head: Number($("head").value) }));
const submit = () => store.set({ input: text ? $("input").value : Number($("input").value) });
$("run").addEventListener("click", submit);
$("input").addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
const keys = text ? samplingControls(store, detail.limits) : {};
scrubber(store, $("scrubber"), detail);
// A class's polls (core/class.js): a text model's next word on its last stage (the logits, with the distribution
// below); where a stage is a head's attention pattern, which word the page's head attends to most from the last row.
const modelOf = () => ({ model: page.dataset.modelId, request: body(store.state) });
offerPolls({
  nextWord: () => (text && stages && store.state.stage === stages.length - 1 && controller.results?.output?.probs ? modelOf() : null),
  attention: () => {
    const step = controller.results?.steps[store.state.stage];
    return step && detail.attention_patterns.includes(step.name)
      ? { ...modelOf(), hook: step.name, head: store.state.head, query: step.shape[1] - 1 } : null;
  },
});
await controller.start();
for (const control of page.querySelectorAll("input, select, button")) control.disabled = false;
stepper(store, { count: stages.length, labels: stages.map((s) => s.label), extraKeys: { ...keys, ...digitKeys(heads, (head) => store.set({ head })) } });
const steps = controller.results.steps;
walk(store, steps.map((s, i) => ({ what: `${s.title}: shape [${s.shape.join(", ")}], hook ${s.name}`, formula: "",
  intuition: `Value ${i + 1} of ${steps.length} the forward pass makes, in order.` })), { into: "caption" });
