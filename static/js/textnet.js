// The text-net page: pick a word, walk it through the net, turn logits into a next word, generate chains.
// Everything shown comes from /api (the page's JSON twin); the query string holds the whole state.
/* global Plotly */
import { clearError, coalesced, getJSON, postJSON, showError } from "./api.js";
import { el, offerJSON } from "./dom.js";
import { BLUE, CONFIG, baseLayout, drawnFrom, fmt, heatmap, lossPlot, plotlyReady } from "./plots.js";
import { readState, writeState } from "./state.js";
import { sliderToT, tToSlider } from "./temperature.js";
import { startTour } from "./tour.js";
import { renderWalk } from "./walk.js";

const ORANGE = "#e08214";
const CUT = "#d4d4d4";
const page = document.getElementById("page");
const $ = (id) => document.getElementById(id);
const controls = () => [...$("picker").children, ...["temperature", "top-k", "top-p", "seed", "sample-again", "dim-x", "dim-y"].map($)];

// The requests go out before Plotly has run (see plots.js). A link that names the word needs nothing from the
// model's detail to ask for its pass; without one, the word is the vocabulary's first, known from the detail.
const linked = new URLSearchParams(window.location.search).has("word");
const detailRequest = getJSON(page.dataset.detailUrl);
const DEFAULTS = { word: "", t: 1, k: 0, p: 0, seed: 0, dx: 0, dy: 1 };
const state = readState(DEFAULTS);
const early = linked ? fetchAll(state) : null;
early?.catch(() => {}); // a failure is shown where it is awaited, below
const [detail] = await Promise.all([detailRequest, plotlyReady]);
const { vocab, embedding, training } = detail;
const dEmbed = embedding[0].length;
DEFAULTS.word = vocab[0];
if (!linked) state.word = DEFAULTS.word;
const dimension = (d) => (Number.isInteger(d) && d >= 0 && d < dEmbed ? d : null);
state.dx = dimension(state.dx) ?? DEFAULTS.dx; // which table columns to plot: only the page uses them
state.dy = dimension(state.dy) ?? DEFAULTS.dy;


function sampling() {
  return { temperature: state.t, top_k: state.k || null, top_p: state.p || null };
}

// ---- controls ------------------------------------------------------------------------------------------------
function buildControls() {
  $("picker").replaceChildren(
    ...vocab.map((word) => {
      const button = el("button", { type: "button", className: "word", disabled: true, dataset: { word } }, word);
      button.addEventListener("click", () => update({ word }));
      return button;
    }),
  );
  $("top-k").replaceChildren(el("option", { value: "0" }, "off"), ...vocab.map((_, i) => el("option", { value: String(i + 1) }, String(i + 1))));
  if (dEmbed > 2) {
    $("dims").hidden = false;
    for (const id of ["dim-x", "dim-y"]) {
      $(id).replaceChildren(...embedding[0].map((_, d) => el("option", { value: String(d) }, String(d))));
    }
    $("dim-x").addEventListener("change", () => update({ dx: Number($("dim-x").value) }));
    $("dim-y").addEventListener("change", () => update({ dy: Number($("dim-y").value) }));
  }
  $("temperature").addEventListener("input", () => update({ t: sliderToT(Number($("temperature").value)) }));
  $("top-k").addEventListener("change", () => update({ k: Number($("top-k").value) }));
  $("top-p").addEventListener("change", () => update({ p: $("top-p").value === "" ? 0 : Number($("top-p").value) }));
  $("seed").addEventListener("change", () => update({ seed: Math.max(0, Math.trunc(Number($("seed").value))) }));
  $("sample-again").addEventListener("click", () => update((w) => ({ seed: w.seed + 1 })));
}

function showControls() {
  for (const button of $("picker").children) button.setAttribute("aria-pressed", String(button.dataset.word === state.word));
  $("temperature").value = String(tToSlider(state.t));
  $("temperature-value").textContent = `T = ${state.t.toFixed(3)}`;
  $("top-k").value = String(state.k);
  $("top-p").value = state.p ? String(state.p) : "";
  $("seed").value = String(state.seed);
  if (dEmbed > 2) {
    $("dim-x").value = String(state.dx);
    $("dim-y").value = String(state.dy);
  }
  for (const link of document.querySelectorAll("[data-model-link]")) {
    link.search = window.location.search; // written just before: the other model opens on the same settings
  }
}

// ---- the walk and the weights it used ------------------------------------------------------------------------
function walk(result) {
  renderWalk($("walk"), result.steps, { after: [["target", `Predicted token: ${result.output.prediction}`]] });
}

function weights(result) {
  const box = $("weights");
  const matrices = [
    { id: "heat-embed", title: `E, the embedding table [${vocab.length}×${dEmbed}]`, z: embedding, y: vocab,
      x: embedding[0].map((_, d) => `dim ${d}`), row: vocab.indexOf(result.tokens.at(-1)) },
    ...result.steps.filter((s) => s.W).map((s, i, all) => {
      const last = i === all.length - 1;
      return { id: `heat-${i}`, title: `${last ? "W_out" : `W${i + 1}`} [${s.W.length}×${s.W[0].length}]`, z: s.W,
        y: last ? vocab : s.W.map((_, j) => `unit ${j}`), x: s.W[0].map((_, k) => `${i === 0 ? "e" : `a${i}`}[${k}]`) };
    }),
  ];
  if (!box.children.length) box.append(...matrices.map((m) => el("div", { id: m.id, className: "plot heat layer" })));
  for (const m of matrices) heatmap($(m.id), { z: m.z, x: m.x, y: m.y, title: m.title, highlightRow: m.row ?? null });
}

// ---- embeddings ----------------------------------------------------------------------------------------------
function embeddingPlot(word) {
  const selected = vocab.indexOf(word);
  const trace = {
    type: "scatter", mode: "markers+text", x: embedding.map((e) => e[state.dx]), y: embedding.map((e) => e[state.dy]),
    text: vocab, textposition: "top center", hovertemplate: "%{text}: (%{x:.4f}, %{y:.4f})<extra></extra>",
    marker: { size: vocab.map((_, i) => (i === selected ? 16 : 10)), color: vocab.map((_, i) => (i === selected ? ORANGE : BLUE)),
      line: { color: "black", width: 1 } },
  };
  const layout = baseLayout({ height: 340, showlegend: false, xaxis: { title: { text: `dim ${state.dx}` }, zeroline: true },
    yaxis: { title: { text: `dim ${state.dy}` }, zeroline: true } });
  return Plotly.react("plot-embed", [trace], layout, CONFIG);
}

// ---- logits → logits/T → probabilities -------------------------------------------------------------------
function distribution(out) {
  const colour = vocab.map((_, i) => (!out.kept.includes(i) ? CUT : i === out.prediction_id ? ORANGE : BLUE));
  const bar = (y, axis, texts) => ({ type: "bar", x: vocab, y, xaxis: `x${axis}`, yaxis: `y${axis}`, marker: { color: colour },
    text: texts, textposition: "outside", cliponaxis: false, hovertemplate: "%{x}: %{y:.4f}<extra></extra>" });
  const scaled = out.scaled ?? vocab.map(() => 0);
  const traces = [bar(out.logits, "", out.logits.map((v) => fmt(v, 2))), bar(scaled, "2", out.scaled ? scaled.map((v) => fmt(v, 2)) : []),
    bar(out.probs, "3", out.probs.map((v) => fmt(v, 3)))];
  const title = (text, x) => ({ text, x, y: 1.12, xref: "paper", yref: "paper", showarrow: false });
  const layout = baseLayout({
    height: 330, showlegend: false, grid: { rows: 1, columns: 3, pattern: "independent" }, margin: { l: 50, r: 15, t: 50, b: 40 },
    yaxis3: { range: [0, 1.15] },
    annotations: [title("logits", 0.12), title(out.scaled ? `logits ÷ T (T = ${state.t})` : "logits ÷ T: undefined at T = 0", 0.5),
      title("probabilities", 0.88)],
  });
  $("prediction").textContent = `argmax: ${out.prediction}`;
  $("entropy").textContent = fmt(out.entropy, 3);
  return Plotly.react("plot-dist", traces, layout, CONFIG);
}

// ---- generation ----------------------------------------------------------------------------------------------
// A greedy chain that repeats a transition can never leave it; a sampled one repeated it by chance.
function chain(box, result, greedy) {
  const parts = result.prompt_tokens.map((t) => el("span", { className: "token prompt" }, t));
  for (const step of result.steps) {
    parts.push(el("span", { className: "arrow", ariaHidden: "true" }, " → "),
      el("span", { className: "token", title: `p = ${fmt(step.prob)}; top: ${step.top.map(([t, p]) => `${t} ${fmt(p, 3)}`).join(", ")}` }, step.token));
  }
  const end = {
    eos: ["done", `reached '${result.steps.at(-1)?.token}'`],
    max_new_tokens: ["warn", `stopped after ${result.steps.length} new words`],
    loop: greedy ? ["stuck", `stuck: ${result.loop?.join(" → ")}`] : ["warn", `repeated ${result.loop?.join(" → ")}`],
  }[result.stop_reason];
  parts.push(el("span", { className: `badge ${end[0]}`, dataset: { stop: result.stop_reason } }, end[1]));
  box.replaceChildren(...parts);
}

// ---- training, drawn once --------------------------------------------------------------------------------------
function trainingPanel() {
  const search = training.seed_search;
  $("training-summary").textContent =
    `${training.optimizer.name} (lr ${training.optimizer.lr}, full batch) for ${training.epochs} epochs on the six pairs; ` +
    `final loss ${fmt(training.metrics.final_loss, 4)}. Seed ${training.seed}: ${search.why} ` +
    `(${search.tried.length} tried). Reproduce with: ${training.command}`;
  lossPlot("plot-loss", training.loss_curve, "cross-entropy");
  const head = el("tr", {}, ...["input", "target", "predicted", "p", ""].map((t) => el("th", { scope: "col" }, t)));
  const rows = training.predictions.map((p) => {
    const right = p.predicted === p.target;
    return el("tr", { className: right ? "" : "wrong" }, ...[p.input, p.target, p.predicted, fmt(p.prob, 3), right ? "✓" : "✗"]
      .map((t) => el("td", {}, t)));
  });
  $("pairs").replaceChildren(el("caption", {}, "Each training pair, as the trained net predicts it"), el("thead", {}, head), el("tbody", {}, ...rows));
}

// ---- one update: every request from the same state, then every view --------------------------------------------
async function fetchAll(s) {
  const params = { temperature: s.t, top_k: s.k || null, top_p: s.p || null };
  return Promise.all([
    postJSON(page.dataset.forwardUrl, { input: s.word, ...params }),
    postJSON(page.dataset.generateUrl, { prompt: s.word, temperature: 0 }),
    postJSON(page.dataset.generateUrl, { prompt: s.word, ...params, seed: s.seed }),
  ]);
}

// The weights and the embeddings do not depend on the sampling settings: a temperature move redraws the
// distribution alone.
const changed = drawnFrom();

async function render([forward, greedy, sampled]) {
  writeState(state);
  showControls();
  walk(forward);
  if (changed("weights", state.word)) weights(forward);
  chain($("chain-greedy"), greedy, true);
  chain($("chain-sampled"), sampled, false);
  if (changed("embedding", [state.word, state.dx, state.dy])) await embeddingPlot(state.word);
  await distribution(forward.output);
  offerJSON({ forward, greedy, sampled }, `${page.dataset.modelId}-${state.word}.json`);
  document.body.dataset.rendered = JSON.stringify({ word: state.word, ...sampling(), seed: state.seed });
}

// `state` is what is shown; `wanted` gathers every change asked for since, so quick changes to two controls
// (or two clicks on "sample again") all count, and only the newest `wanted` is fetched.
const wanted = { ...state };
const run = coalesced(async (next) => {
  try {
    const results = await fetchAll(next);
    Object.assign(state, next);
    clearError();
    await render(results);
  } catch (error) {
    showError(error);
    Object.assign(wanted, state); // forget the change that failed
    showControls(); // and put the controls back to the state that is shown
  }
});

function update(change) {
  Object.assign(wanted, typeof change === "function" ? change(wanted) : change);
  return run({ ...wanted });
}

const firstRequest = early ?? fetchAll(state);
buildControls(); // while the requests are on the wire
trainingPanel();
let first;
try {
  first = await firstRequest;
} catch (error) {
  showError(error); // e.g. a link with a word outside the vocabulary or a bad setting: say why, show the defaults
  Object.assign(state, DEFAULTS);
  first = await fetchAll(state);
}
Object.assign(wanted, state);
await render(first);
for (const control of controls()) control.disabled = false;
const step = (notches) => () => update((w) => ({ t: sliderToT(Math.max(0, Math.min(100, tToSlider(w.t) + notches))) }));
await startTour(page.dataset.captionsUrl, { "+": step(5), "=": step(5), "-": step(-5) });
