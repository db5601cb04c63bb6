// The MLP page: move x and follow it through the net. Every number comes from /api (the page's JSON twin).
/* global Plotly */
import { getJSON, postJSON } from "../core/api.js";
import { $, el } from "../core/dom.js";
import { PageController } from "../core/page.js";
import { Store } from "../core/store.js";
import { whole } from "../core/url.js";
import { heatmap } from "../views/heatmap.js";
import { lossPlot } from "../views/loss.js";
import { network } from "../views/network.js";
import { BLUE, CONFIG, GREY, ORANGE, baseLayout, fmt, plotlyReady } from "../views/plotly.js";
import { stepper } from "../views/stepper.js";
import { trace } from "../views/trace.js";
import { walk } from "../views/walk.js";

const page = $("page");
const slider = $("x-slider");
const numberBox = $("x-number");
const signed = (v) => (v < 0 ? `− ${fmt(-v)}` : `+ ${fmt(v)}`);
const bound = (v, fallback) => (v === null ? fallback : v);
const affine = (steps) => steps.filter((s) => s.W); // z = W·a + b, layer by layer

const store = new Store({ x: 4, stage: 0 });
const controller = new PageController({
  store,
  requestKeys: ["x"],
  load: (s) => postJSON(page.dataset.forwardUrl, { input: s.x }),
  draw,
  summary: (s) => ({ x: s.x }),
  download: (result) => [result, `${page.dataset.modelId}-x-${result.input}.json`],
});
controller.prefetch(); // before Plotly has run (see views/plotly.js); the first drawing waits for all three
const [detail, captions] = await Promise.all([getJSON(page.dataset.detailUrl), getJSON(page.dataset.captionsUrl), plotlyReady]);
const { analysis, training, limits } = detail;
store.check({ stage: (v) => whole(v, 0, captions.stages.length - 1) }); // x is the server's to check: it says why
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

// ---- the function plot: f(x), sqrt(x), the kinks, and the region holding x ------------------------------------
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
    { name: "sqrt(x)", x: sqrtXs, y: sqrtXs.map(Math.sqrt), mode: "lines", line: { color: GREY, dash: "dash" } },
    { name: "net f(x)", x: analysis.curve.map((p) => p[0]), y: analysis.curve.map((p) => p[1]), mode: "lines", line: { color: BLUE, width: 3 } },
    { name: "this region", x: [left, right], y: [left, right].map((v) => r.slope * v + r.intercept), mode: "lines",
      line: { color: ORANGE, width: 2, dash: "dot" }, hoverinfo: "skip" },
    { name: `x = ${fmt(x, 2)}`, x: [x], y: [result.output.y], mode: "markers", marker: { size: 12, color: ORANGE, line: { color: "black", width: 1 } } },
  ];
  const kinks = analysis.breakpoints.map((p) => ({ type: "line", x0: p.x, x1: p.x, yref: "paper", y0: 0, y1: 1,
    line: { color: p.kink ? "#666666" : "#cccccc", width: 1, dash: "dot" } }));
  const band = { type: "rect", x0: left, x1: right, yref: "paper", y0: 0, y1: 1, fillcolor: ORANGE, opacity: 0.12, line: { width: 0 }, layer: "below" };
  const label = { x: (left + right) / 2, y: 1.02, yref: "paper", showarrow: false, text: `y = ${fmt(r.slope)}·x ${signed(r.intercept)}`, font: { color: "#a4560c" } };
  const layout = baseLayout({ height: 380, xaxis: { title: { text: "x" }, range: view }, yaxis: { title: { text: "y" } },
    shapes: [band, ...kinks], annotations: [label], legend: { orientation: "h", y: -0.2 } });
  return Plotly.react("plot-function", traces, layout, CONFIG);
}

// ---- each layer's arithmetic: W as a heatmap (drawn once), then b, z, a per unit --------------------------------
function layerCards(steps) {
  const cards = affine(steps).map((step) => {
    const plot = el("div", { className: "plot heat" });
    const table = el("div", { className: "table-wrap", tabIndex: 0, role: "region", ariaLabel: `${step.title} table (scrolls)` });
    $("layers").append(el("article", { className: "layer" }, el("h3", {}, step.title.replace(/ \(.*/, "")), el("p", { className: "formula" }, step.formula), plot, table));
    return plot;
  });
  affine(steps).forEach((step, i) => { // drawn once in place, so Plotly sizes them to their card
    const source = i === 0 ? "x" : `a${i}`;
    heatmap(cards[i], { z: step.W, x: step.W[0].map((_, k) => `${source}[${k}]`), y: step.W.map((_, j) => `unit ${j}`), title: `W${i + 1}  [${step.W.length}×${step.W[0].length}]` });
  });
}

function layerTables(result) {
  const cards = document.querySelectorAll("#layers .layer .table-wrap");
  const steps = result.steps;
  affine(steps).forEach((z, i) => {
    const at = steps.indexOf(z);
    const a = steps[at + 1]?.activation === "ReLU" ? steps[at + 1] : null;
    const input = i === 0 ? [result.input] : steps[at - 1].data;
    const small = input.length <= 4;
    const head = el("tr", {}, ...["unit", ...(small ? ["W·a + b"] : []), "b", "z", ...(a ? ["a = ReLU(z)", ""] : [])].map((t) => el("th", { scope: "col" }, t)));
    const rows = z.data.map((zj, j) => {
      const arithmetic = z.W[j].map((w, k) => `${fmt(w)}·${fmt(input[k])}`).join(" + ") + ` ${signed(z.b[j])}`;
      const off = a && zj <= 0;
      return el("tr", { className: off ? "off" : "" }, el("td", {}, String(j)), ...(small ? [el("td", { className: "arith" }, arithmetic)] : []),
        el("td", {}, fmt(z.b[j])), el("td", {}, fmt(zj)), ...(a ? [el("td", {}, fmt(a.data[j])), el("td", { className: "state" }, off ? "off" : "on")] : []));
    });
    cards[i].replaceChildren(el("table", { className: "numbers" }, el("thead", {}, head), el("tbody", {}, ...rows)));
  });
}

// ---- regions and training, drawn once -----------------------------------------------------------------------
function regionsTable(result) {
  const current = JSON.stringify(result.output.region.active); // each on/off pattern holds one region
  const head = el("tr", {}, ...["#", "from", "to", "slope", "intercept", "ReLUs on"].map((t) => el("th", { scope: "col" }, t)));
  const rows = analysis.regions.map((r, i) => el("tr", { className: JSON.stringify(r.active) === current ? "current" : "" },
    ...[String(i + 1), fmt(r.left, 3), fmt(r.right, 3), fmt(r.slope), fmt(r.intercept), `${r.active.flat().filter(Boolean).length}/${r.active.flat().length}`]
      .map((t) => el("td", {}, t))));
  $("regions").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function trainingPanel() {
  const m = training.metrics;
  const kinks = analysis.breakpoints.filter((p) => p.kink).length;
  $("region-summary").textContent = `${kinks} kinks and ${analysis.n_regions} linear regions in [${analysis.domain.join(", ")}], solved exactly from the weights.`;
  $("training-summary").textContent =
    `${training.optimizer.name} (lr ${training.optimizer.lr}, ${training.optimizer.schedule}) for ${training.epochs} epochs ` +
    `on ${training.data.n_samples} samples, seed ${training.seed}. Final MSE ${m.final_mse.toExponential(2)}; ` +
    `max |f(x) − sqrt(x)| = ${fmt(m.max_abs_error_0_10)} on [0, 10] and ${fmt(m.max_abs_error_1_10)} on [1, 10]. ` +
    `Reproduce with: ${training.command}`;
  lossPlot("plot-loss", training.loss_curve, "MSE");
}

// ---- one drawing of the answer for x ------------------------------------------------------------------------------
let drawnX = null;
async function draw(result) {
  if (result.input === drawnX) return; // the stage moved: nothing here depends on it
  drawnX = result.input;
  if (!$("layers").children.length) layerCards(result.steps); // W is the same for every x: drawn once
  const { y, target, error } = result.output;
  $("extrapolating").hidden = !result.output.extrapolating;
  const end = target === null ? "sqrt(x) undefined for x < 0" : `target sqrt(x) = ${fmt(target)}, error = ${fmt(error)}`;
  trace($("trace"), result.steps, { before: [`INPUT x = ${fmt(result.input)}`], after: [["target", end]] });
  layerTables(result);
  network($("network"), result.input, result.steps, y);
  regionsTable(result);
  await functionPlot(result);
}

function showX({ x }) {
  slider.value = String(x);
  if (Number(numberBox.value) !== x) numberBox.value = String(x);
}

// First render, then controls: an input before the layer cards exist would have nothing to draw into.
trainingPanel();
await controller.start();
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
