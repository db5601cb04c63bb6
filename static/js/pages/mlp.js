// The MLP page: move x and follow it through the net. Every number comes from /api (the page's JSON twin).
/* global Plotly */
import { getJSON, postJSON, remembered } from "../core/api.js";
import { $, el } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole } from "../core/url.js";
import { heatmap } from "../views/heatmap.js";
import { lossPlot, markEpoch } from "../views/loss.js";
import { network } from "../views/network.js";
import { BLUE, CONFIG, GREY, ORANGE, PRESENT, baseLayout, fmt, plotlyReady } from "../views/plotly.js";
import { FINAL, checkpointBody, checkpointCheck, detailAt, scrubber } from "../views/scrubber.js";
import { stepper } from "../views/stepper.js";
import { symbolOf, trace } from "../views/trace.js";
import { trainLive } from "../views/training.js";
import { buttonFor, numberButton, numberButtonsIn, parseUnfold, unfoldCells, unfoldKey, unfolder } from "../views/unfold.js";
import { unitKey, unitPanels } from "../views/units.js";
import { walk } from "../views/walk.js";
import { interventions, parseChanges, valueEditor } from "../views/whatif.js";

const page = $("page");
const slider = $("x-slider");
const numberBox = $("x-number");
const signed = (v) => (v < 0 ? `− ${fmt(-v)}` : `+ ${fmt(v)}`);
const bound = (v, fallback) => (v === null ? fallback : v);
const affine = (steps) => steps.filter((s) => s.W); // z = W·a + b, layer by layer

// `ck`: the training checkpoint shown (views/scrubber.js); its detail holds that net's kinks, regions and curve.
const detailOf = remembered((ck) => getJSON(detailAt(page.dataset.detailUrl, ck)));
const store = new Store({ x: 4, stage: 0, ux: "", wi: "", ck: FINAL });
const controller = new PageController({
  store,
  requestKeys: ["x", "wi", "ck"],
  lightKeys: ["ux"], // the number unfolded: drawn by the drawer, no new pass
  load: (s) => Promise.all([postJSON(page.dataset.forwardUrl, { input: s.x, ...checkpointBody(s), ...interventions(s) }), detailOf(s.ck)]),
  draw,
  summary: (s) => ({ x: s.x, checkpoint: s.ck === FINAL ? null : s.ck }),
  download: ([result]) => [result, `${page.dataset.modelId}-x-${result.input}${result.checkpoint === null ? "" : `-epoch-${result.checkpoint}`}.json`],
});
controller.prefetch(); // before Plotly has run (see views/plotly.js); the first drawing waits for all three
const [detail, captions] = await Promise.all([detailOf(FINAL), getJSON(page.dataset.captionsUrl), plotlyReady]);
const { training, limits } = detail;
let { analysis } = detail; // the net on screen's: the checkpoint's (useAnalysis)
store.check({ stage: (v) => whole(v, 0, captions.stages.length - 1), ux: (v) => v === "" || parseUnfold(v) !== null,
  wi: (v) => (parseChanges(v) ?? []).every((c) => c.op === "set_param"), ck: checkpointCheck(detail) }); // x is the server's to check
Object.assign(numberBox, { min: limits.input_min, max: limits.input_max });

// Each x move redraws the function plot whole: Plotly redraws every trace when an axis range, a shape or a trace's
// data changes, and the ranges follow x outside the training domain. Each sample marker costs about 20 µs a draw,
// so a model with many samples shows every Nth of them (the legend and the caption say so).
const MAX_SAMPLES_SHOWN = 200;
const stride = Math.ceil(training.data.samples.length / MAX_SAMPLES_SHOWN);
const samples = training.data.samples.filter((_, i) => i % stride === 0);
const ordinal = (n) => `${n}${[11, 12, 13].includes(n % 100) ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th")}`;
const samplesName = stride === 1 ? "training samples" : `every ${ordinal(stride)} training sample`;
if (stride > 1) $("samples-shown").textContent = `every ${ordinal(stride)} of its ${training.data.samples.length.toLocaleString("en")} training samples`;

// ---- what lights what: a unit and the kinks it makes, a kink and the units that switch there ----------------------
// Hovering or focusing a unit's panel (or its neuron) lights it, its neuron and its kinks in f(x); a kink in f(x),
// or a region's row (the kinks at its two ends), lights the units that switch there. Nothing is lit otherwise.
let { breakpoints } = analysis;
const layerName = (layer) => `L${layer + 1}`;
const switchedAt = (i) => breakpoints[i].switched.map((u) => unitKey(u.layer, u.unit));
let unitByKey = new Map(analysis.units.map((u) => [unitKey(u.layer, u.unit), u]));
let lit = { units: new Set(), kinks: new Set() };

function light(next) {
  lit = next ?? { units: new Set(), kinks: new Set() };
  panels.light(lit.units);
  for (const circle of $("network").querySelectorAll("circle[data-unit]")) circle.classList.toggle("lit", lit.units.has(circle.dataset.unit));
  const plot = $("plot-function");
  plot.dataset.litKinks = [...lit.kinks].sort((a, b) => a - b).join(",");
  if (plot.layout) Plotly.relayout(plot, { shapes: [plot.layout.shapes[0], ...kinkShapes()] });
}
const lightUnit = (key) => light(key && { units: new Set([key]), kinks: new Set(unitByKey.get(key).switches.map((s) => s.breakpoint)) });
const lightKinks = (kinks) => light({ units: new Set(kinks.flatMap(switchedAt)), kinks: new Set(kinks) });

let panels = unitPanels($("units"), { units: analysis.units, xs: analysis.curve.map((p) => p[0]), domain: analysis.domain }, { onLight: lightUnit });

// Another checkpoint's net: its kinks, units and regions replace the ones on screen (nothing lit carries over).
function useAnalysis(next) {
  if (next === analysis) return;
  analysis = next;
  ({ breakpoints } = analysis);
  unitByKey = new Map(analysis.units.map((u) => [unitKey(u.layer, u.unit), u]));
  lit = { units: new Set(), kinks: new Set() };
  panels = unitPanels($("units"), { units: analysis.units, xs: analysis.curve.map((p) => p[0]), domain: analysis.domain }, { onLight: lightUnit });
  regionsTable();
  regionSummary();
}

// ---- the function plot: f(x), sqrt(x), the kinks, and the region holding x ------------------------------------
// Each kink's dotted line, orange and solid while lit: the plot's shapes after the region's band (shapes[0]).
function kinkShapes() {
  return breakpoints.map((p, i) => ({ type: "line", x0: p.x, x1: p.x, yref: "paper", y0: 0, y1: 1, line: lit.kinks.has(i)
    ? { color: ORANGE, width: 3, dash: "solid" } : { color: p.kink ? "#666666" : "#cccccc", width: 1, dash: "dot" } }));
}

function functionPlot(result) {
  const x = result.input;
  const [lo, hi] = analysis.domain;
  const view = [Math.min(lo - 0.5, x - 0.5), Math.max(hi + 0.5, x + 0.5)];
  const r = result.output.region;
  const left = Math.max(bound(r.left, -Infinity), view[0]);
  const right = Math.min(bound(r.right, Infinity), view[1]);
  const sqrtXs = Array.from({ length: 401 }, (_, i) => (view[1] * i) / 400).filter((v) => v >= 0);
  const traces = [
    { name: samplesName, x: samples, y: samples.map(Math.sqrt), mode: "markers", marker: { size: 4, color: "#bbbbbb" }, hoverinfo: "skip" },
    { name: "sqrt(x)", x: sqrtXs, y: sqrtXs.map(Math.sqrt), mode: "lines", line: { color: GREY, dash: "dash" }, hoverinfo: "skip" }, // the kinks near it take the hover
    { name: "net f(x)", x: analysis.curve.map((p) => p[0]), y: analysis.curve.map((p) => p[1]), mode: "lines", line: { color: BLUE, width: 3 },
      hoverinfo: "skip" }, // its points are the kinks, hovered on the marker drawn there (and the domain ends)
    { name: "this region", x: [left, right], y: [left, right].map((v) => r.slope * v + r.intercept), mode: "lines",
      line: { color: ORANGE, width: 2, dash: "dot" }, hoverinfo: "skip" },
    { name: "kinks", x: breakpoints.map((p) => p.x), y: analysis.curve.slice(1, -1).map((p) => p[1]), customdata: breakpoints.map((_, i) => i),
      mode: "markers", marker: { size: 9, symbol: "diamond-open", color: "#555555" }, showlegend: false,
      hovertext: breakpoints.map((p, i) => `${p.kink ? "kink" : "switch (no kink)"} at x = ${fmt(p.x, 3)}, f(x) = ${fmt(analysis.curve[i + 1][1], 3)}<br>switching: ${p.switched.map((u) => `${layerName(u.layer)} u${u.unit}`).join(", ")}`),
      hovertemplate: "%{hovertext}<extra></extra>" },
    { name: `x = ${fmt(x, 2)}`, x: [x], y: [result.output.y], mode: "markers", marker: { size: 12, color: ORANGE, line: { color: "black", width: 1 } } },
    ...changedTraces(result),
  ];
  const band = { type: "rect", x0: left, x1: right, yref: "paper", y0: 0, y1: 1, fillcolor: ORANGE, opacity: 0.12, line: { width: 0 }, layer: "below" };
  const label = { x: (left + right) / 2, y: 1.02, yref: "paper", showarrow: false, text: `y = ${fmt(r.slope)}·x ${signed(r.intercept)}`, font: { color: "#a4560c" } };
  const layout = baseLayout({ height: 380, xaxis: { title: { text: "x" }, range: view }, yaxis: { title: { text: "y" } },
    shapes: [band, ...kinkShapes()], annotations: [label], legend: { orientation: "h", y: -0.2 } });
  return Plotly.react("plot-function", traces, layout, CONFIG);
}

// What if: the net with its weights set as the box says, its curve and kinks over the trained ones (exact: the
// server solves the changed net as it solves the trained one).
const CHANGED = "#a34a00";
function changedTraces(result) {
  const changed = result.what_if?.analysis;
  if (!changed) return [];
  const kinks = changed.breakpoints;
  return [
    { name: "changed f(x)", x: changed.curve.map((p) => p[0]), y: changed.curve.map((p) => p[1]), mode: "lines", line: { color: CHANGED, width: 3 }, hoverinfo: "skip" },
    { name: "changed kinks", x: kinks.map((p) => p.x), y: changed.curve.slice(1, -1).map((p) => p[1]), mode: "markers", showlegend: false,
      marker: { size: 9, symbol: "diamond", color: CHANGED }, hovertext: kinks.map((p) => `changed net: kink at x = ${fmt(p.x, 3)}`), hovertemplate: "%{hovertext}<extra></extra>" },
    { name: `changed y at x`, x: [result.input], y: [result.what_if.output.y], mode: "markers", showlegend: false, marker: { size: 12, color: CHANGED, symbol: "square" } },
  ];
}

// ---- each layer's arithmetic: W as a heatmap (drawn once), then b, z, a per unit --------------------------------
const HEAT_MAX = PRESENT ? 400 : 270; // px
function layerCards(steps) {
  const cards = affine(steps).map((step) => {
    const plot = el("div", { className: "plot heat" });
    const table = el("div", { className: "table-wrap", tabIndex: 0, role: "region", ariaLabel: `${step.title} table (scrolls)` });
    $("layers").append(el("article", { className: "layer" }, el("h3", {}, step.title.replace(/ \(.*/, "")), el("p", { className: "formula" }, step.formula), plot, table));
    return plot;
  });
  affine(steps).forEach((step, i) => { // drawn once in place, so Plotly sizes them to their card
    const source = i === 0 ? "x" : `a${i}`;
    // A tall W is drawn shorter, so that a layer's card (W, then its scrolling table) fits on one screen.
    const drawn = heatmap(cards[i], { z: step.W, x: step.W[0].map((_, k) => `${source}[${k}]`), y: step.W.map((_, j) => `unit ${j}`),
      title: `W${i + 1}  [${step.W.length}×${step.W[0].length}]`, maxHeight: HEAT_MAX });
    weightPlots.set(step.parameters.W, { div: cards[i], step, symbol: `W${i + 1}` });
    drawn.then(() => unfoldCells(cards[i], (j, k) => unfoldKey(step.parameters.W, [j, k]), drawer.open, `W${i + 1}`));
  });
}
const weightPlots = new Map(); // a W's parameter name → its heatmap: a clicked cell unfolds (a learned number)

function layerTables(result) {
  const cards = document.querySelectorAll("#layers .layer .table-wrap");
  const steps = result.steps;
  affine(steps).forEach((z, i) => {
    const at = steps.indexOf(z);
    const a = steps[at + 1]?.activation === "ReLU" ? steps[at + 1] : null;
    const input = i === 0 ? [result.input] : steps[at - 1].data;
    const small = input.length <= 4;
    const head = el("tr", {}, ...["unit", ...(small ? ["W·a + b"] : []), "b", "z", ...(a ? ["a = ReLU(z)", ""] : [])].map((t) => el("th", { scope: "col" }, t)));
    const zName = symbolOf(z);
    const name = (symbol, j) => (z.data.length === 1 ? symbol : `${symbol}[${j}]`);
    const rows = z.data.map((zj, j) => {
      const arithmetic = z.W[j].map((w, k) => `${fmt(w)}·${fmt(input[k])}`).join(" + ") + ` ${signed(z.b[j])}`;
      const off = a && zj <= 0;
      const sum = numberButton(z.name, [j], zj, name(zName, j), arithmetic); // the sum written out unfolds too
      return el("tr", { className: off ? "off" : "" }, el("td", {}, String(j)), ...(small ? [el("td", { className: "arith" }, sum)] : []),
        el("td", {}, numberButton(z.parameters.b, [j], z.b[j], `b${i + 1}[${j}]`)), el("td", {}, numberButton(z.name, [j], zj, name(zName, j))),
        ...(a ? [el("td", {}, numberButton(a.name, [j], a.data[j], name(symbolOf(a), j))), el("td", { className: "state" }, off ? "off" : "on")] : []));
    });
    cards[i].replaceChildren(el("table", { className: "numbers" }, el("thead", {}, head), el("tbody", {}, ...rows)));
  });
}

// ---- regions and training, drawn once -----------------------------------------------------------------------
// The units on, layer by layer, runs of three or more joined: "L1: 0–3, 5 · L2: 2" ("none" for a layer all off).
function unitsOn(active) {
  const runs = (on) => {
    const ids = on.flatMap((v, j) => (v ? [j] : []));
    const parts = [];
    for (let k = 0; k < ids.length;) {
      let end = k;
      while (end + 1 < ids.length && ids[end + 1] === ids[end] + 1) end += 1;
      parts.push(...(end - k >= 2 ? [`${ids[k]}–${ids[end]}`] : ids.slice(k, end + 1).map(String)));
      k = end + 1;
    }
    return parts.join(", ") || "none";
  };
  return active.map((on, layer) => `${layerName(layer)}: ${runs(on)}`).join(" · ");
}

function regionsTable() {
  const head = el("tr", {}, ...["#", "from", "to", "slope", "intercept", "ReLUs on", "units on"].map((t) => el("th", { scope: "col" }, t)));
  const rows = analysis.regions.map((r, i) => {
    const cells = [String(i + 1), fmt(r.left, 3), fmt(r.right, 3), fmt(r.slope), fmt(r.intercept), `${r.active.flat().filter(Boolean).length}/${r.active.flat().length}`];
    const row = el("tr", { tabIndex: 0, dataset: { region: String(i) } }, ...cells.map((t) => el("td", {}, t)), el("td", { className: "units-on" }, unitsOn(r.active)));
    const ends = [i - 1, i].filter((k) => k >= 0 && k < breakpoints.length); // the kinks at its left and right ends
    for (const type of ["mouseenter", "focus"]) row.addEventListener(type, () => lightKinks(ends));
    for (const type of ["mouseleave", "blur"]) row.addEventListener(type, () => light(null));
    return row;
  });
  $("regions").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function currentRegion(result) {
  const current = JSON.stringify(result.output.region.active); // each on/off pattern holds one region
  for (const row of $("regions").tBodies[0].rows) row.classList.toggle("current", JSON.stringify(analysis.regions[Number(row.dataset.region)].active) === current);
}

// The network's hidden neurons, tagged with their unit (views/network.js draws circles column by column: the input,
// each hidden layer, the output), so that lighting a unit lights its neuron and hovering a neuron lights its unit.
// A click on a neuron unfolds the number it shows (a hidden unit's a = ReLU(z), the output's y).
function tagNeurons(result) {
  const circles = $("network").querySelectorAll("circle");
  const relus = result.steps.filter((s) => s.activation === "ReLU");
  analysis.units.forEach((u, k) => {
    const circle = circles[1 + k];
    circle.dataset.unit = unitKey(u.layer, u.unit);
    circle.dataset.ux = unfoldKey(relus[u.layer].name, [u.unit]);
    circle.classList.toggle("lit", lit.units.has(circle.dataset.unit));
    circle.addEventListener("mouseenter", () => lightUnit(circle.dataset.unit));
    circle.addEventListener("mouseleave", () => lightUnit(null));
  });
  circles[circles.length - 1].dataset.ux = unfoldKey(result.steps.at(-1).name, [0]);
  for (const circle of circles) if (circle.dataset.ux) circle.addEventListener("click", () => drawer.open(circle.dataset.ux)); // the same number's button in the trace takes the keyboard
}

function regionSummary() {
  const kinks = analysis.breakpoints.filter((p) => p.kink).length;
  $("region-summary").textContent = `${kinks} kinks and ${analysis.n_regions} linear regions in [${analysis.domain.join(", ")}], solved exactly from the weights` +
    `${(drawnCk ?? store.state.ck) === FINAL ? "" : ` at epoch ${drawnCk ?? store.state.ck} of training`}.`;
}

function trainingPanel() {
  const m = training.metrics;
  regionSummary();
  $("training-summary").textContent =
    `${training.optimizer.name} (lr ${training.optimizer.lr}, ${training.optimizer.schedule}) for ${training.epochs} epochs ` +
    `on ${training.data.n_samples} samples, seed ${training.seed}. Final MSE ${m.final_mse.toExponential(2)}; ` +
    `max |f(x) − sqrt(x)| = ${fmt(m.max_abs_error_0_10)} on [0, 10] and ${fmt(m.max_abs_error_1_10)} on [1, 10]. ` +
    `Reproduce with: ${training.command}`;
  lossPlot("plot-loss", training.loss_curve, "MSE");
}

// ---- what if: a weight or a bias set by hand (the unfolding of a learned number offers it) ------------------------
// The set_param changes live in the store's `wi` (the URL); each redraw sends them, and the server answers the
// changed net beside the trained one (its curve, kinks and regions solved exactly).
const learned = new Map(); // a parameter's name → its trained values (W: [d_out][d_in], b: [d_out]) and symbol
function rememberParameters(steps) {
  affine(steps).forEach((step, i) => {
    learned.set(step.parameters.W, { values: step.W, symbol: `W${i + 1}` });
    learned.set(step.parameters.b, { values: step.b, symbol: `b${i + 1}` });
  });
}
const trained = (name, index) => index.reduce((v, i) => v[i], learned.get(name).values);

// The changes in words above the function plot, with what they did; "trained weights" takes them all back.
function whatIfLine(result) {
  const changes = parseChanges(store.state.wi) ?? [];
  const line = $("what-if-mlp");
  if (!changes.length || !result.what_if) {
    line.replaceChildren();
    return;
  }
  const at = (index) => (index.length === 2 ? [index[1], index[0]] : index).join(", "); // W1[input, unit], as the drawer
  const words = changes.map((c) => `${learned.get(c.name)?.symbol ?? c.name}[${at(c.index)}] = ${fmt(c.value, 3)} (trained ${fmt(trained(c.name, c.index), 3)})`);
  const after = result.what_if.analysis;
  const kinks = (a) => a.breakpoints.filter((p) => p.kink).length;
  const back = el("button", { type: "button" }, "trained weights");
  back.addEventListener("click", () => store.set({ wi: "" }));
  line.replaceChildren(el("strong", {}, "What if: "), words.join("; "),
    ` · kinks ${kinks(analysis)} → ${kinks(after)}, regions ${analysis.n_regions} → ${after.n_regions}`,
    ` · f(${fmt(result.input, 2)}) = ${fmt(result.output.y, 3)} → ${fmt(result.what_if.output.y, 3)} `, back);
}

// ---- one drawing of the answer for x ------------------------------------------------------------------------------
let drawnX = null;
let drawnChanges = null;
let drawnCk = null; // the checkpoint on screen
async function draw([result, shown], state) {
  if (result.input === drawnX && state.wi === drawnChanges && state.ck === drawnCk) return; // the stage moved: nothing here depends on it
  drawnX = result.input;
  drawnChanges = state.wi;
  if (state.ck !== drawnCk) $("layers").replaceChildren(); // another checkpoint's weights
  drawnCk = state.ck;
  useAnalysis(shown.analysis);
  if (!$("layers").children.length) {
    layerCards(result.steps); // W is the same for every x: drawn once per checkpoint
    rememberParameters(result.steps);
  }
  whatIfLine(result);
  const { y, target, error } = result.output;
  $("extrapolating").hidden = !result.output.extrapolating;
  const end = target === null ? "sqrt(x) undefined for x < 0" : `target sqrt(x) = ${fmt(target)}, error = ${fmt(error)}`;
  trace($("trace"), result.steps, { before: [`INPUT x = ${fmt(result.input)}`], after: [["target", end]] });
  layerTables(result);
  network($("network"), result.input, result.steps, y);
  tagNeurons(result);
  const relus = result.steps.flatMap((s, i) => (s.activation === "ReLU" ? [[result.steps[i - 1].data, s.data]] : [])); // [layer] → [z, a]
  const at = (kind) => (key) => { const [layer, unit] = key.split(":").map(Number); return relus[layer][kind][unit]; };
  panels.show(result.input, { z: at(0), a: at(1) });
  currentRegion(result);
  await functionPlot(result);
  drawer.refresh(`${result.input} ${drawnCk}`);
}

function showX({ x }) {
  slider.value = String(x);
  if (Number(numberBox.value) !== x) numberBox.value = String(x);
}

// ---- every number unfolds (views/unfold.js): a number button (trace, tables), a neuron, a cell of W -------------
// A button shows the value and names it; a W's cell is a learned parameter, the server says so.
const drawer = unfolder(store, $("unfold"), {
  explain: (hook, index) => postJSON(page.dataset.explainUrl, { input: drawnX, ...checkpointBody({ ck: drawnCk }), hook, index }), // the x and net on screen
  extra: ({ hook, index }) => (learned.has(hook) ? [valueEditor(store, { name: hook, index, trained: trained(hook, index),
    note: "f(x), its kinks and its regions are solved again for the changed net, exactly, and drawn in orange over the trained ones." })] : []), // a weight or bias: what if it were…
  locate(wanted, ux) {
    const button = buttonFor(ux);
    if (button) return button;
    const plot = weightPlots.get(wanted.hook);
    if (!plot || wanted.index.length !== 2) return null;
    const [j, k] = wanted.index;
    const value = plot.step.W[j]?.[k];
    return value === undefined ? null : { title: `${plot.symbol}[${k}, ${j}]`, shown: value, opener: plot.div };
  },
});
numberButtonsIn(page, drawer.open);

// First render, then controls: an input before the layer cards exist would have nothing to draw into.
trainingPanel();
regionsTable();
scrubber(store, $("scrubber"), detail, { onShow: (epoch) => markEpoch("plot-loss", store.state.ck === FINAL ? null : epoch) });
await controller.start();
$("plot-function").on("plotly_hover", (event) => {
  const kink = event.points.find((p) => p.data.name === "kinks");
  if (kink) lightKinks([kink.customdata]);
});
$("plot-function").on("plotly_unhover", () => light(null));
store.subscribe(showX, ["x"]);
showX(store.state);
slider.addEventListener("input", () => store.set({ x: Number(slider.value) }));
numberBox.addEventListener("change", () => {
  if (numberBox.value.trim() !== "") store.set({ x: Number(numberBox.value) });
});
slider.disabled = false;
numberBox.disabled = false;
stepper(store, { count: captions.stages.length });
walk(store, captions.stages);
trainLive($("train-live"), detail); // views/training.js: the "Train it live" panel
