// The text-net page: pick a word, follow it through the net, turn logits into a next word, generate chains.
// Every number comes from /api (the page's JSON twin); the store, mirrored in the URL, holds the whole view. Its
// `hover` key is the word pointed at or focused anywhere, lit in every view at once (views/linked.js).
/* global Plotly */
import { getJSON, postJSON, remembered } from "../core/api.js";
import { offerPolls } from "../core/class.js";
import { $, el } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole } from "../core/url.js";
import { heatmap } from "../views/heatmap.js";
import { barColumn, lightShapes, linked, pointsIn, ring, rowFrame, rowLabelsIn, wordsIn } from "../views/linked.js";
import { lossPlot, markEpoch } from "../views/loss.js";
import { nextToken } from "../views/next-token.js";
import { BLUE, CONFIG, ORANGE, PRESENT, baseLayout, drawnFrom, fmt, plotlyReady } from "../views/plotly.js";
import { samplingControls } from "../views/sampling.js";
import { FINAL, checkpointBody, checkpointCheck, detailAt, scrubber } from "../views/scrubber.js";
import { stepper } from "../views/stepper.js";
import { symbolOf, trace } from "../views/trace.js";
import { trainLive } from "../views/training.js";
import { barKey, barOf, buttonFor, numberButtonsIn, parseUnfold, unfoldBars, unfoldCells, unfoldKey, unfolder } from "../views/unfold.js";
import { walk } from "../views/walk.js";
import { changesText, interventions, parseChanges, valueEditor } from "../views/whatif.js";

const page = $("page");

// The greedy chain depends on the word alone: it is asked for once per word (and checkpoint).
// What if: the words moved in the embedding plane (`wi`, set_param on E) go with every request.
// `ck`: the training checkpoint shown (views/scrubber.js): every request names it, and its detail holds the
// embedding table and the training pairs' predictions of that step.
const greedy = remembered((word, wi, ck) => postJSON(page.dataset.generateUrl, { prompt: word, temperature: 0, ...checkpointBody({ ck }), ...interventions({ wi }) }));
const detailOf = remembered((ck) => getJSON(detailAt(page.dataset.detailUrl, ck)));
const forwardBody = (s) => ({ input: s.word, temperature: s.t, top_k: s.k || null, top_p: s.p || null, ...checkpointBody(s) });
function load(s) {
  const { input, ...settings } = forwardBody(s);
  const changes = interventions(s);
  const forward = postJSON(page.dataset.forwardUrl, { input, ...settings, ...changes });
  const sampled = postJSON(page.dataset.generateUrl, { prompt: s.word, ...settings, seed: s.seed, ...changes });
  // All three settle; of their refusals the forward pass's is shown (its message names `input`: the word).
  return Promise.allSettled([forward, greedy(s.word, s.wi, s.ck), sampled, detailOf(s.ck)]).then((answers) => {
    const refused = answers.find((a) => a.status === "rejected");
    if (refused) throw refused.reason;
    return answers.map((a) => a.value);
  });
}

// A link that names the word needs nothing from the model's detail to ask for its pass; without one, the word is
// the vocabulary's first, known from the detail.
// The word pointed at (`hover`) is a moment's gesture: lit at once, never redrawn for, never in the URL.
const store = new Store({ word: "", hover: "", t: 1, k: 0, p: 0, seed: 0, dx: 0, dy: 1, stage: 0, ux: "", wi: "", ck: FINAL }, {}, { unshared: ["hover"] });
const controller = new PageController({
  store,
  requestKeys: ["word", "t", "k", "p", "seed", "wi", "ck"],
  lightKeys: ["hover", "ux"], // `ux`: the number unfolded (views/unfold.js), drawn by the drawer
  load,
  draw,
  summary: (s) => ({ word: s.word, temperature: s.t, top_k: s.k || null, top_p: s.p || null, seed: s.seed, checkpoint: s.ck === FINAL ? null : s.ck }),
  download: ([forward, greedyChain, sampled], s) => [{ forward, greedy: greedyChain, sampled }, `${page.dataset.modelId}-${s.word}.json`],
});
if (store.state.word) controller.prefetch();
const [detail, captions] = await Promise.all([detailOf(FINAL), getJSON(page.dataset.captionsUrl), plotlyReady]);
const { vocab, training } = detail;
let { embedding } = detail; // the checkpoint's on screen (draw)
const dEmbed = embedding[0].length;
const dimension = (d) => whole(d, 0, dEmbed - 1); // which of the table's columns the plot shows
store.check({ word: (w) => w !== "", hover: (w) => w === "", ux: (v) => v === "" || parseUnfold(v) !== null, dx: dimension, dy: dimension, stage: (v) => whole(v, 0, captions.stages.length - 1),
  wi: (v) => (parseChanges(v) ?? [null]).every((c) => c?.op === "set_param" && c.name === "E"), ck: checkpointCheck(detail) }, { word: vocab[0] });

// ---- controls ------------------------------------------------------------------------------------------------
function buildControls() {
  $("picker").replaceChildren(...vocab.map((word) => {
    const button = el("button", { type: "button", className: "word", disabled: true, dataset: { word } }, word);
    button.addEventListener("click", () => store.set({ word }));
    return button;
  }));
  $("top-k").replaceChildren(el("option", { value: "0" }, "off"), ...vocab.map((_, i) => el("option", { value: String(i + 1) }, String(i + 1))));
  if (dEmbed > 2) {
    $("dims").hidden = false;
    for (const [id, key] of [["dim-x", "dx"], ["dim-y", "dy"]]) {
      $(id).replaceChildren(...embedding[0].map((_, d) => el("option", { value: String(d) }, String(d))));
      $(id).addEventListener("change", () => store.set({ [key]: Number($(id).value) }));
    }
  }
  $("sample-again").addEventListener("click", () => store.set({ seed: store.state.seed + 1 }));
}

function showControls(state) {
  for (const button of $("picker").children) button.setAttribute("aria-pressed", String(button.dataset.word === state.word));
  if (dEmbed > 2) {
    $("dim-x").value = String(state.dx);
    $("dim-y").value = String(state.dy);
  }
  for (const link of document.querySelectorAll("[data-model-link]")) link.search = window.location.search; // the other model opens on the same view
}

// ---- the trace and the weights it used -----------------------------------------------------------------------
// Each is a learned parameter: a click on a cell unfolds it (the server says what it is: set by training).
const parameters = new Map(); // a parameter's name → its heatmap {id, z, name(index)}
function weights(result) {
  const matrices = [
    { id: "heat-embed", title: `E, the embedding table [${vocab.length}×${dEmbed}]`, z: embedding, y: vocab,
      x: embedding[0].map((_, d) => `dim ${d}`), row: vocab.indexOf(result.tokens.at(-1)),
      parameter: result.steps[0].parameters.E, name: ([t, d]) => `E['${vocab[t]}', ${d}]` },
    ...result.steps.filter((s) => s.W).map((s, i, all) => { // E sits beside the plane (the template), the rest here
      const symbol = i === all.length - 1 ? "W_out" : `W${i + 1}`;
      return { id: `heat-${i}`, title: `${symbol} [${s.W.length}×${s.W[0].length}]`, z: s.W,
        y: symbol === "W_out" ? vocab : s.W.map((_, j) => `unit ${j}`), x: s.W[0].map((_, k) => `${i === 0 ? "e" : `a${i}`}[${k}]`),
        parameter: s.parameters.W, name: ([j, k]) => `${symbol}[${k}, ${j}]` }; // W[in, out], as the formulas read it
    }),
  ];
  if (!$("weights").children.length) $("weights").append(...matrices.slice(1).map((m) => el("div", { id: m.id, className: "plot heat layer" })));
  return Promise.all(matrices.map(async (m) => {
    await heatmap($(m.id), { z: m.z, x: m.x, y: m.y, title: m.title, highlightRow: m.row ?? null });
    if (!parameters.has(m.parameter)) unfoldCells($(m.id), (i, j) => unfoldKey(m.parameter, [i, j]), drawer.open, m.title);
    parameters.set(m.parameter, m);
  }));
}
const wOut = () => $("weights").lastElementChild; // W_out: a row per word, whose logit it makes

// ---- embeddings ----------------------------------------------------------------------------------------------
function embeddingPlot({ word, dx, dy }) {
  const selected = vocab.indexOf(word);
  const points = placed();
  const moved = vocab.map((_, i) => points[i][dx] !== embedding[i][dx] || points[i][dy] !== embedding[i][dy]);
  const ghosts = { type: "scatter", mode: "markers", hoverinfo: "skip", name: "trained",  // where a moved word was
    x: embedding.filter((_, i) => moved[i]).map((e) => e[dx]), y: embedding.filter((_, i) => moved[i]).map((e) => e[dy]),
    marker: { size: 10, color: "rgba(0,0,0,0)", line: { color: "#888888", width: 1.5, dash: "dot" } } };
  const trace = {
    type: "scatter", mode: "markers+text", x: points.map((e) => e[dx]), y: points.map((e) => e[dy]),
    text: vocab, textposition: "top center", cliponaxis: false, hovertemplate: "%{text}: (%{x:.4f}, %{y:.4f})<extra></extra>",
    marker: { size: vocab.map((_, i) => (i === selected ? 16 : 10)), color: vocab.map((_, i) => (i === selected ? ORANGE : BLUE)),
      line: { color: vocab.map((_, i) => (moved[i] ? "#a34a00" : "black")), width: vocab.map((_, i) => (moved[i] ? 3 : 1)) } },
  };
  const layout = baseLayout({ height: PRESENT ? 520 : 340, showlegend: false,
    xaxis: { title: { text: `dim ${dx}` }, zeroline: true, automargin: true },
    yaxis: { title: { text: `dim ${dy}` }, zeroline: true, automargin: true } });
  return Plotly.react("plot-embed", [trace, ghosts], layout, CONFIG);
}

// ---- what if: a word's point dragged in the plane (set_param on its row of E) ---------------------------------
// Every word where the changes put it (the trained table, with each set entry in its place).
function placed() {
  const points = embedding.map((row) => [...row]);
  for (const c of parseChanges(store.state.wi) ?? []) points[c.index[0]][c.index[1]] = c.value;
  return points;
}

// A point pressed and dragged moves its word: while dragging it follows the pointer, and on release the word's two
// shown entries of E are set there (the other dimensions keep their trained values). The keyboard's way is the
// unfolding of a cell of E.
function draggable(div) {
  let dragging = null; // {i, pointer id}
  const toData = (event) => {
    const { xaxis, yaxis } = div._fullLayout;
    const box = div.querySelector(".nsewdrag")?.getBoundingClientRect() ?? div.getBoundingClientRect();
    return [xaxis.p2l(event.clientX - box.left), yaxis.p2l(event.clientY - box.top)];
  };
  div.addEventListener("pointerdown", (event) => {
    const { dx, dy } = store.state;
    const [x, y] = toData(event);
    const { xaxis, yaxis } = div._fullLayout;
    const points = placed();
    const pixels = (i) => Math.hypot(xaxis.l2p(points[i][dx]) - xaxis.l2p(x), yaxis.l2p(points[i][dy]) - yaxis.l2p(y));
    const nearest = points.map((_, i) => i).sort((a, b) => pixels(a) - pixels(b))[0];
    if (nearest === undefined || pixels(nearest) > 14) return;
    dragging = { i: nearest };
    div.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  div.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const [x, y] = toData(event);
    const xs = [...div.data[0].x];
    const ys = [...div.data[0].y];
    xs[dragging.i] = x;
    ys[dragging.i] = y;
    Plotly.restyle(div, { x: [xs], y: [ys] }, [0]);
  });
  div.addEventListener("pointerup", (event) => {
    if (!dragging) return;
    const { i } = dragging;
    dragging = null;
    const [x, y] = toData(event);
    moveWord(i, x, y);
  });
}

function moveWord(i, x, y) {
  const { dx, dy } = store.state;
  const round = (v) => Math.round(v * 1e4) / 1e4;
  const others = (parseChanges(store.state.wi) ?? []).filter((c) => !(c.index[0] === i && [dx, dy].includes(c.index[1])));
  const mine = [[dx, x], [dy, y]].filter(([d, v]) => round(v) !== round(embedding[i][d]))
    .map(([d, v]) => ({ op: "set_param", name: "E", index: [i, d], value: round(v) }));
  store.set({ wi: changesText([...others, ...mine].slice(-8)), word: vocab[i] });
}

// What moved, said under the plane, with the changed greedy chain; "trained points" takes every move back.
function whatIfLine(forward, greedyChain) {
  const box = $("what-if-textnet");
  const changes = parseChanges(store.state.wi) ?? [];
  if (!changes.length || !forward.what_if) {
    box.replaceChildren();
    return;
  }
  const words = [...new Set(changes.map((c) => vocab[c.index[0]]))];
  const back = el("button", { type: "button" }, "trained points");
  back.addEventListener("click", () => store.set({ wi: "" }));
  const after = forward.what_if.output;
  const chained = greedyChain.what_if ? [forward.tokens.at(-1), ...greedyChain.what_if.steps.map((s) => s.token)].join(" → ") : "";
  box.replaceChildren(el("strong", {}, "What if: "), `moved ${words.map((w) => `'${w}'`).join(", ")}. `,
    `After '${forward.tokens.at(-1)}' the net now predicts '${after.prediction}' (p = ${fmt(after.probs[after.prediction_id], 3)}), `,
    `where it predicted '${forward.output.prediction}' (p = ${fmt(forward.output.probs[forward.output.prediction_id], 3)}). `,
    ...(chained ? [`Greedy chain now: ${chained}. `] : []), back);
}

// ---- generation: a greedy chain that repeats a transition can never leave it; a sampled one repeated it by chance
function chain(box, result, isGreedy) {
  const token = (word, props = {}) => el("span", { tabIndex: 0, dataset: { word }, ...props }, word); // lights its word
  const parts = result.prompt_tokens.map((t) => token(t, { className: "token prompt" }));
  for (const step of result.steps) {
    parts.push(el("span", { className: "arrow", ariaHidden: "true" }, " → "),
      token(step.token, { className: "token", title: `p = ${fmt(step.prob)}; top: ${step.top.map(([t, p]) => `${t} ${fmt(p, 3)}`).join(", ")}` }));
  }
  const end = {
    eos: ["done", `reached '${result.steps.at(-1)?.token}'`],
    max_new_tokens: ["warn", `stopped after ${result.steps.length} new words`],
    loop: isGreedy ? ["stuck", `stuck: ${result.loop?.join(" → ")}`] : ["warn", `repeated ${result.loop?.join(" → ")}`],
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
}

// The training pairs as the net on screen predicts them (the checkpoint's `predictions`).
function pairsTable(predictions, ck) {
  const head = el("tr", {}, ...["input", "target", "predicted", "p", ""].map((t) => el("th", { scope: "col" }, t)));
  const rows = predictions.map((p) => {
    const right = p.predicted === p.target;
    const words = [p.input, p.target, p.predicted].map((word) => el("td", { dataset: { word } }, word));
    // A row lights its input word, a word's cell that word; rows take the focus, so the keyboard lights them too.
    return el("tr", { className: right ? "" : "wrong", tabIndex: 0, dataset: { word: p.input } },
      ...words, ...[fmt(p.prob, 3), right ? "✓" : "✗"].map((t) => el("td", {}, t)));
  });
  const as = ck === FINAL ? "the trained net" : `the net at epoch ${ck} of training`;
  $("pairs").replaceChildren(el("caption", {}, `Each training pair, as ${as} predicts it`), el("thead", {}, head), el("tbody", {}, ...rows));
}

// ---- one drawing: the weights and the embeddings do not depend on the sampling settings --------------------------
const changed = drawnFrom();
let drawn = null; // the answers on screen
async function draw(answers, state) {
  const [forward, greedyChain, sampled, at] = answers;
  const fresh = answers !== drawn;
  drawn = answers;
  embedding = at.embedding;
  showControls(state);
  if (fresh) {
    const logit = (step, j) => (step.name === forward.steps.at(-1).name ? `logit of '${vocab[j]}'` : `${symbolOf(step)}[${j}]`);
    trace($("trace"), forward.steps, { after: [["target", `Predicted token: ${forward.output.prediction}`]], name: logit });
    chain($("chain-greedy"), greedyChain, true);
    chain($("chain-sampled"), sampled, false);
  }
  const redrawn = [];
  if (changed("weights", [state.word, state.ck])) redrawn.push(weights(forward));
  if (changed("embedding", [state.word, state.dx, state.dy, state.wi, state.ck])) redrawn.push(embeddingPlot(state));
  if (changed("pairs", state.ck)) pairsTable(at.predictions, state.ck);
  if (fresh) whatIfLine(forward, greedyChain);
  if (fresh) {
    const panels = { panels: ["logits", "scaled", "probs"], numbers: true, temperature: state.t };
    redrawn.push(nextToken($("plot-dist"), forward.output, vocab, panels).then(() => {
      const logits = forward.steps.at(-1).name; // [vocab]: the logits of the one word read
      unfoldBars($("plot-dist"), barKey((id) => [logits, [id]]), drawer.open, { lit: (id) => store.set({ hover: id === null ? "" : vocab[id] }) });
    }));
  }
  if (redrawn.length) await Promise.all(redrawn);
  if (redrawn.length) relight(); // the figures just drawn start unlit, and the chains and rows are new elements
  onScreen = { forward, body: forwardBody(state) };
  drawer.refresh(JSON.stringify(onScreen.body));
}

// ---- every number unfolds (views/unfold.js): the trace's numbers, a cell of E or a W, a bar of the next word ----
let onScreen = null; // the forward answer drawn and the request that made it
const drawer = unfolder(store, $("unfold"), {
  explain: (hook, index) => postJSON(page.dataset.explainUrl, { ...onScreen.body, hook, index }), // the pass on screen
  // A cell of E: what if the word's point were elsewhere (the keyboard's way to move it; a drag is the mouse's).
  extra: ({ hook, index }) => (parameters.get(hook)?.id === "heat-embed" && index.length === 2 ? [valueEditor(store, { name: "E", index,
    trained: embedding[index[0]][index[1]], note: "The word's point moves there: its logits and its chains are computed from it." })] : []),
  locate({ hook, index }, ux) {
    const button = buttonFor(ux);
    if (button) return button;
    const m = parameters.get(hook);
    if (m) {
      const value = index.length === 2 ? m.z[index[0]]?.[index[1]] : undefined;
      return value === undefined ? null : { title: m.name(index), shown: value, opener: $(m.id) };
    }
    const logits = { hook: onScreen?.forward.steps.at(-1).name, id: (at) => at[0] };
    const bar = onScreen && barOf({ hook, index }, logits, { vocab, output: onScreen.forward.output });
    return bar && { ...bar, opener: $("plot-dist") };
  },
});
numberButtonsIn(page, drawer.open);

// ---- linked: the word pointed at or focused (the store's `hover`), lit everywhere at once ------------------------
function light(word) {
  for (const node of page.querySelectorAll("[data-word]")) node.classList.toggle("lit", node.dataset.word === word);
  const row = vocab.indexOf(word); // -1: none
  const lit = (shape) => (row < 0 ? [] : [shape()]);
  const { dx, dy } = store.state;
  lightShapes($("plot-embed"), lit(() => ring(embedding[row][dx], embedding[row][dy])));
  lightShapes($("plot-dist"), ($("plot-dist").data ?? []).flatMap((bars) => lit(() => barColumn(bars, bars.x.indexOf(word)))));
  lightShapes($("heat-embed"), lit(() => rowFrame(row)));
  lightShapes(wOut(), lit(() => rowFrame(row)));
}
const relight = linked(store, light);
function linkSources() {
  wordsIn(store, page); // the picker, the chains' tokens, the training pairs
  pointsIn(store, $("plot-embed"), (point) => vocab[point.pointIndex] ?? "");
  pointsIn(store, $("plot-dist"), (bar) => bar.x);
  for (const rowsAreWords of [$("heat-embed"), wOut()]) {
    pointsIn(store, rowsAreWords, (cell) => cell.y);
    rowLabelsIn(store, rowsAreWords, vocab);
  }
}

// A class's poll (core/class.js): on the stages showing the next word's distribution, which word comes next.
const NEXT_WORD = new Set(["next-word", "plot-dist"]);
offerPolls({ nextWord: () => (NEXT_WORD.has(captions.stages[store.state.stage].target)
  ? { model: page.dataset.modelId, request: { ...forwardBody(store.state), ...interventions(store.state) } } : null) });
buildControls(); // while the requests are on the wire
trainingPanel();
scrubber(store, $("scrubber"), detail, { onShow: (epoch) => markEpoch("plot-loss", store.state.ck === FINAL ? null : epoch) });
const keys = samplingControls(store, detail.limits);
await controller.start();
linkSources();
draggable($("plot-embed"));
for (const control of page.querySelectorAll("button, select, input")) control.disabled = false;
stepper(store, { count: captions.stages.length, extraKeys: keys });
walk(store, captions.stages);
trainLive($("train-live"), detail); // views/training.js: the "Train it live" panel
