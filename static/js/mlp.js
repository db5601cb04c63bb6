// The MLP page: move x and walk it through the net. Everything shown comes from /api (the page's JSON twin).
/* global Plotly */
import { clearError, coalesced, getJSON, postJSON, showError } from "./api.js";
import { el, offerJSON, svgEl } from "./dom.js";
import { BLUE, CONFIG, GREY, RED, baseLayout, fmt, heatmap, lossPlot, plotlyReady } from "./plots.js";
import { readState, writeState } from "./state.js";
import { startTour } from "./tour.js";
import { renderWalk } from "./walk.js";

const page = document.getElementById("page");
const slider = document.getElementById("x-slider");
const numberBox = document.getElementById("x-number");
const signed = (v) => (v < 0 ? `− ${fmt(-v)}` : `+ ${fmt(v)}`);
const formula = (r) => `y = ${fmt(r.slope)}·x ${signed(r.intercept)}`;
const bound = (v, fallback) => (v === null ? fallback : v);

// Both requests go out at once, before Plotly has run (see plots.js); the first drawing waits for all three.
const state = readState({ x: 4 });
const detailRequest = getJSON(page.dataset.detailUrl);
const firstRequest = postJSON(page.dataset.forwardUrl, { input: state.x }).catch((error) => {
  showError(error); // e.g. a shared link with an x out of range: say why, and show x = 4 instead
  return postJSON(page.dataset.forwardUrl, { input: 4 });
});
const [detail] = await Promise.all([detailRequest, plotlyReady]);
const { analysis, training } = detail;
const zSteps = (steps) => steps.filter((s) => s.name.endsWith(".hook_z"));

// Each x move redraws the function plot whole: Plotly redraws every trace when an axis range, a shape or a trace's
// data changes, and the ranges follow x outside the training domain. Each sample marker costs about 20 µs a draw,
// so a model with many samples shows every Nth of them (the legend and the caption say so).
const MAX_SAMPLES_SHOWN = 200;
const stride = Math.ceil(training.data.samples.length / MAX_SAMPLES_SHOWN);
const samples = training.data.samples.filter((_, i) => i % stride === 0);
const ordinal = (n) => `${n}${[11, 12, 13].includes(n % 100) ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th")}`;
const samplesName = stride === 1 ? "training samples" : `every ${ordinal(stride)} training sample`;
if (stride > 1) {
  document.getElementById("samples-shown").textContent =
    `every ${ordinal(stride)} of its ${training.data.samples.length.toLocaleString("en")} training samples`;
}

// ---- the function plot -------------------------------------------------------------------------------------
function functionPlot(result) {
  const x = result.input;
  const [lo, hi] = analysis.domain;
  const view = [Math.min(lo - 0.5, x - 0.5), Math.max(hi + 0.5, x + 0.5)];
  const r = result.output.region;
  const left = Math.max(bound(r.left, -Infinity), view[0]);
  const right = Math.min(bound(r.right, Infinity), view[1]);
  const sqrtXs = Array.from({ length: 401 }, (_, i) => (view[1] * i) / 400).filter((v) => v >= 0);
  const traces = [
    { name: samplesName, x: samples, y: samples.map(Math.sqrt), mode: "markers",
      marker: { size: 4, color: "#bbbbbb" }, hoverinfo: "skip" },
    { name: "sqrt(x)", x: sqrtXs, y: sqrtXs.map(Math.sqrt), mode: "lines", line: { color: GREY, dash: "dash" } },
    { name: "net f(x)", x: analysis.curve.map((p) => p[0]), y: analysis.curve.map((p) => p[1]), mode: "lines",
      line: { color: BLUE, width: 3 } },
    { name: "this region", x: [left, right], y: [left, right].map((v) => r.slope * v + r.intercept),
      mode: "lines", line: { color: "#e08214", width: 2, dash: "dot" }, hoverinfo: "skip" },
    { name: `x = ${fmt(x, 2)}`, x: [x], y: [result.output.y], mode: "markers",
      marker: { size: 12, color: "#e08214", line: { color: "black", width: 1 } } },
  ];
  const kinks = analysis.breakpoints.map((p) => ({
    type: "line", x0: p.x, x1: p.x, yref: "paper", y0: 0, y1: 1,
    line: { color: p.kink ? "#666666" : "#cccccc", width: 1, dash: "dot" },
  }));
  const band = { type: "rect", x0: left, x1: right, yref: "paper", y0: 0, y1: 1, fillcolor: "#e08214",
    opacity: 0.12, line: { width: 0 }, layer: "below" };
  const label = { x: (left + right) / 2, y: 1.02, yref: "paper", showarrow: false, text: formula(r),
    font: { color: "#a4560c" } };
  const layout = baseLayout({
    height: 380, xaxis: { title: { text: "x" }, range: view }, yaxis: { title: { text: "y" } },
    shapes: [band, ...kinks], annotations: [label], legend: { orientation: "h", y: -0.2 },
  });
  return Plotly.react("plot-function", traces, layout, CONFIG);
}

// ---- the walk, in the article's words ------------------------------------------------------------------
function walk(result) {
  const { y, target } = result.output;
  const end = target === null ? "sqrt(x) undefined for x < 0" : `target sqrt(x) = ${fmt(target)}, error = ${fmt(y - target)}`;
  renderWalk(document.getElementById("walk"), result.steps, { before: [`INPUT x = ${fmt(result.input)}`], after: [["target", end]] });
}

// ---- each layer's arithmetic: W as a heatmap, then b, z, a per unit -----------------------------------------
function layerCards(first) {
  const box = document.getElementById("layers");
  box.replaceChildren();
  zSteps(first.steps).forEach((step, i) => {
    const card = el("article", { className: "layer" }, el("h3", {}, step.title.replace(/ \(.*/, "")));
    const plot = el("div", { className: "plot heat" });
    const table = el("div", { className: "table-wrap", tabIndex: 0, role: "region", ariaLabel: `${step.title} table (scrolls)` });
    card.append(el("p", { className: "formula" }, step.formula), plot, table); // focusable: keyboard users can scroll it
    box.append(card);
    const source = i === 0 ? "x" : `a${i}`;
    heatmap(plot, {
      z: step.W,
      x: step.W[0].map((_, k) => `${source}[${k}]`),
      y: step.W.map((_, j) => `unit ${j}`),
      title: `W${i + 1}  [${step.W.length}×${step.W[0].length}]`,
    });
  });
}

function layerTables(result) {
  const cards = document.querySelectorAll("#layers .layer .table-wrap");
  const steps = result.steps;
  zSteps(steps).forEach((z, i) => {
    const a = steps[steps.indexOf(z) + 1]?.name.endsWith(".hook_a") ? steps[steps.indexOf(z) + 1] : null;
    const input = i === 0 ? [result.input] : steps[steps.indexOf(z) - 1].data;
    const small = input.length <= 4;
    const head = el("tr", {}, ...["unit", ...(small ? ["W·a + b"] : []), "b", "z", ...(a ? ["a = ReLU(z)", ""] : [])]
      .map((t) => el("th", { scope: "col" }, t)));
    const rows = z.data.map((zj, j) => {
      const arithmetic = z.W[j].map((w, k) => `${fmt(w)}·${fmt(input[k])}`).join(" + ") + ` ${signed(z.b[j])}`;
      const off = a && zj <= 0;
      return el("tr", { className: off ? "off" : "" },
        el("td", {}, String(j)), ...(small ? [el("td", { className: "arith" }, arithmetic)] : []),
        el("td", {}, fmt(z.b[j])), el("td", {}, fmt(zj)),
        ...(a ? [el("td", {}, fmt(a.data[j])), el("td", { className: "state" }, off ? "off" : "on")] : []));
    });
    cards[i].replaceChildren(el("table", { className: "numbers" }, el("thead", {}, head), el("tbody", {}, ...rows)));
  });
}

// ---- a per-neuron view of the whole net ---------------------------------------------------------------------
function network(result) {
  const svg = document.getElementById("network");
  const zs = zSteps(result.steps);
  const columns = [[result.input], ...result.steps.filter((s) => s.name.endsWith(".hook_a")).map((s) => s.data),
    [result.output.y]];
  const W = 400, H = 300, pad = 30;
  const pos = columns.map((col, c) => col.map((_, j) => [
    pad + (c * (W - 2 * pad)) / (columns.length - 1), pad + ((j + 0.5) * (H - 2 * pad)) / col.length]));
  const maxW = Math.max(...zs.flatMap((s) => s.W.flat().map(Math.abs)));
  svg.replaceChildren();
  zs.forEach((s, c) => s.W.forEach((row, j) => row.forEach((w, k) => {
    const [x1, y1] = pos[c][k], [x2, y2] = pos[c + 1][j];
    svg.append(svgEl("line", { x1, y1, x2, y2, stroke: w >= 0 ? BLUE : RED,
      "stroke-width": 0.3 + (3 * Math.abs(w)) / maxW, opacity: 0.55 }));
  })));
  const r = Math.max(4, Math.min(14, (H - 2 * pad) / (2.4 * Math.max(...columns.map((col) => col.length)))));
  columns.forEach((col, c) => col.forEach((v, j) => {
    const hidden = c > 0 && c < columns.length - 1;
    const off = hidden && zs[c - 1].data[j] <= 0;
    const [cx, cy] = pos[c][j];
    const circle = svgEl("circle", { cx, cy, r, class: off ? "neuron off" : "neuron" });
    circle.append(svgEl("title", {}, `${fmt(v)}${off ? " (ReLU off)" : ""}`));
    svg.append(circle);
    if (col.length <= 4) svg.append(svgEl("text", { x: cx, y: cy - r - 4, "text-anchor": "middle" }, fmt(v, 2)));
  }));
}

// ---- regions and training, drawn once -----------------------------------------------------------------------
function regionsTable(result) {
  const current = result.output.region;
  const table = document.getElementById("regions");
  const head = el("tr", {}, ...["#", "from", "to", "slope", "intercept", "ReLUs on"].map((t) => el("th", { scope: "col" }, t)));
  const rows = analysis.regions.map((r, i) => {
    const on = r.active.flat().filter(Boolean).length;
    const here = JSON.stringify(r.active) === JSON.stringify(current.active); // each pattern holds one region
    return el("tr", { className: here ? "current" : "" }, ...[String(i + 1), fmt(r.left, 3), fmt(r.right, 3),
      fmt(r.slope), fmt(r.intercept), `${on}/${r.active.flat().length}`].map((t) => el("td", {}, t)));
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function trainingPanel() {
  const m = training.metrics;
  const kinks = analysis.breakpoints.filter((p) => p.kink).length;
  document.getElementById("region-summary").textContent =
    `${kinks} kinks and ${analysis.n_regions} linear regions in [${analysis.domain.join(", ")}], solved exactly from the weights.`;
  document.getElementById("training-summary").textContent =
    `${training.optimizer.name} (lr ${training.optimizer.lr}, ${training.optimizer.schedule}) for ${training.epochs} epochs ` +
    `on ${training.data.n_samples} samples, seed ${training.seed}. Final MSE ${m.final_mse.toExponential(2)}; ` +
    `max |f(x) − sqrt(x)| = ${fmt(m.max_abs_error_0_10)} on [0, 10] and ${fmt(m.max_abs_error_1_10)} on [1, 10]. ` +
    `Reproduce with: ${training.command}`;
  lossPlot("plot-loss", training.loss_curve, "MSE");
}

// ---- input: slider, number box, query string ----------------------------------------------------------------
async function render(result) {
  slider.value = String(result.input);
  if (Number(numberBox.value) !== result.input) numberBox.value = String(result.input);
  document.getElementById("extrapolating").hidden = !result.output.extrapolating;
  walk(result);
  layerTables(result);
  network(result);
  regionsTable(result);
  await functionPlot(result);
  writeState({ x: result.input });
  offerJSON(result, `${page.dataset.modelId}-x-${result.input}.json`);
  document.body.dataset.renderedX = String(result.input);
}

const request = coalesced(async (x) => {
  try {
    const result = await postJSON(page.dataset.forwardUrl, { input: x });
    clearError();
    await render(result);
  } catch (error) {
    showError(error);
  }
});

// First render, then controls: an input before the layer cards exist would have nothing to draw into.
trainingPanel();
const first = await firstRequest;
layerCards(first);
await render(first);
slider.addEventListener("input", () => request(Number(slider.value)));
numberBox.addEventListener("change", () => {
  if (numberBox.value.trim() !== "") request(Number(numberBox.value));
});
slider.disabled = false;
numberBox.disabled = false;
await startTour(page.dataset.captionsUrl);
