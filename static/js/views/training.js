// "Train it live": the server trains the MLP or the text net with the settings chosen here (POST /api/train) and
// streams every few epochs as Server-Sent Events; this panel draws them as they come: the loss, the MLP's f(x)
// over sqrt(x) with its kinks (or the text net's embedding plane, its words moving), and the prediction table.
// Every number is the server's (models/training/live.py); this file only reads the stream and draws.
// EventSource cannot POST, so the stream is read with fetch() and a reader. Drawing waits for animation frames.
/* global Plotly */
import { ApiError } from "../core/api.js";
import { $, clearError, el, showError } from "../core/dom.js";
import { BLUE, CONFIG, GREY, ORANGE, PRESENT, RED, baseLayout, fmt, plotlyReady } from "./plotly.js";

const OPTIMIZERS = [["sgd", "SGD"], ["momentum", "SGD with momentum"], ["adam", "Adam"]];
const COLOURS = [BLUE, ORANGE];
const DRAW_MS = 100;
const said = (name) => Object.fromEntries(OPTIMIZERS)[name] ?? name;

// The events of a text/event-stream body, as {event, data} objects, as they arrive.
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2)]));
      yield { event: fields.event, data: JSON.parse(fields.data) };
    }
  }
}

// The settings the page's model was trained with (its detail: record and config), as the form's first values.
function settingsOf({ training, config }) {
  const o = training.optimizer;
  const optimizer = o.name === "SGD" ? (o.momentum ? "momentum" : "sgd") : "adam";
  const width = config.d_embed ?? config.hidden?.[0] ?? 2;
  return { optimizer, lr: o.lr, seed: training.seed, epochs: training.epochs, width };
}

export function trainLive(mount, detail) {
  const family = mount.dataset.family;
  const url = mount.dataset.trainUrl;
  const first = settingsOf(detail);
  const field = (id, label, props) => [el("label", { htmlFor: `live-${id}` }, label), el("input", { id: `live-${id}`, ...props })];
  const optimizer = el("select", { id: "live-optimizer" }, ...OPTIMIZERS.map(([value, text]) => el("option", { value }, text)));
  optimizer.value = first.optimizer;
  const [lrLabel, lr] = field("lr", "learning rate", { type: "number", min: "0", step: "any", value: String(first.lr) });
  const [seedLabel, seed] = field("seed", "seed", { type: "number", min: "0", step: "1", value: String(first.seed) });
  const [epochsLabel, epochs] = field("epochs", "epochs", { type: "number", min: "1", step: "1", value: String(first.epochs) });
  const [widthLabel, width] = field("width", family === "mlp" ? "width (units per layer)" : "width (d_embed = d_hidden)",
    { type: "number", min: "1", step: "1", value: String(first.width) });
  const train = el("button", { type: "button", id: "live-train" }, "Train");
  const stop = el("button", { type: "button", id: "live-stop", disabled: true }, "Stop");
  const race = el("button", { type: "button", id: "live-race" }, "Race SGD vs Adam");
  const status = el("p", { id: "live-status", className: "live-status", ariaLive: "polite" }, "Pick the settings and press Train.");
  const scrub = el("input", { type: "range", id: "live-scrub", min: "0", max: "0", value: "0", disabled: true });
  const scrubLabel = el("label", { htmlFor: "live-scrub" }, "epoch");
  const scrubShown = el("output", { htmlFor: "live-scrub", id: "live-scrub-shown" }, "");
  const lossDiv = el("div", { id: "live-loss", className: "plot small" });
  const runsBox = el("div", { id: "live-runs", className: "live-runs" });
  mount.replaceChildren(
    el("h2", { id: "live-title" }, "Train it live"),
    el("p", {}, family === "mlp"
      ? "Train this net again on the server, from scratch, and watch f(x) bend towards sqrt(x): every few epochs the server sends the weights, the curve they compute and its kinks."
      : "Train this net again on the server, from scratch, and watch the words move in the embedding plane and the predictions change: every few epochs the server sends the weights, the table E and each pair's prediction."),
    el("div", { className: "inline-controls live-controls" },
      el("label", { htmlFor: "live-optimizer" }, "optimizer"), optimizer, lrLabel, lr, seedLabel, seed, epochsLabel, epochs, widthLabel, width),
    el("div", { className: "inline-controls" }, train, stop, race),
    status,
    el("figure", {}, lossDiv, el("figcaption", {}, "Training loss per epoch as it arrives, log scale.")),
    runsBox,
    el("div", { className: "inline-controls live-scrub" }, scrubLabel, scrub, scrubShown),
  );

  let runs = []; // {settings, colour, start, epochs: [epoch events], end: {event, data} | null}
  let controller = null;
  let pending = false;
  let at = null; // the epoch index the scrubber shows; null: the newest
  const settings = (over = {}) => ({ family, model: detail.id, optimizer: optimizer.value, lr: Number(lr.value), seed: Number(seed.value),
    epochs: Number(epochs.value), width: Number(width.value), ...over });

  // At most one drawing per animation frame, and one every DRAW_MS: the stream may bring hundreds of epochs a second.
  let drawnAt = 0;
  function drawSoon() {
    if (pending) return;
    pending = true;
    setTimeout(() => requestAnimationFrame(() => {
      pending = false;
      drawnAt = performance.now();
      draw();
    }), Math.max(0, drawnAt + DRAW_MS - performance.now()));
  }

  function running(on) {
    for (const control of [train, race, optimizer, lr, seed, epochs, width]) control.disabled = on;
    stop.disabled = !on;
    scrub.disabled = on || !runs.some((r) => r.epochs.length);
  }

  async function start(list) {
    controller?.abort();
    clearError();
    controller = new AbortController();
    const { signal } = controller;
    runs = list.map((s, i) => ({ settings: s, colour: COLOURS[i], start: null, epochs: [], end: null }));
    at = null;
    buildRuns();
    running(true);
    status.textContent = "Starting…";
    try {
      const settled = await Promise.allSettled(runs.map((run) => stream(run, signal))); // a race ends with both
      const refused = settled.find((s) => s.status === "rejected");
      if (refused) throw refused.reason;
    } catch (error) {
      if (error.name !== "AbortError") showError(error);
      if (signal.aborted) for (const run of runs) run.end ??= { event: "stopped", data: { message: "Stopped here." } };
    } finally {
      if (controller?.signal === signal) {
        controller = null;
        running(false);
        const longest = Math.max(0, ...runs.map((r) => r.epochs.length));
        scrub.max = String(Math.max(0, longest - 1));
        scrub.value = scrub.max;
        drawSoon();
      }
    }
  }

  async function stream(run, signal) {
    const response = await fetch(url, { method: "POST", signal, body: JSON.stringify(run.settings),
      headers: { "content-type": "application/json", accept: "text/event-stream" } });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ detail: response.statusText }));
      throw new ApiError(response.status, body.detail ?? response.statusText, body.errors ?? []);
    }
    for await (const { event, data } of events(response)) {
      if (event === "start") run.start = data;
      else if (event === "epoch") run.epochs.push(data);
      else run.end = { event, data };
      drawSoon();
    }
  }

  // ---- drawing ----------------------------------------------------------------------------------------------
  function buildRuns() {
    runsBox.className = `live-runs${runs.length > 1 ? " grid-2 race" : ""}`;
    runsBox.replaceChildren(...runs.map((run, i) => el("div", { className: "live-run", dataset: { run: String(i) } },
      el("h3", { style: `color: ${run.colour}` }, `${said(run.settings.optimizer)}, lr ${run.settings.lr}`),
      el("div", { id: `live-plot-${i}`, className: "plot" }),
      el("p", { className: "live-summary", id: `live-summary-${i}` }),
      el("div", { className: "table-wrap", tabIndex: 0, role: "region", ariaLabel: "Predictions as it trains (scrolls)" },
        el("table", { id: `live-table-${i}`, className: "numbers" })))));
  }

  const shown = (run) => run.epochs[at === null ? run.epochs.length - 1 : Math.min(at, run.epochs.length - 1)] ?? null;

  async function draw() {
    await plotlyReady;
    const traces = runs.map((run) => ({ type: "scatter", mode: "lines", name: said(run.settings.optimizer),
      x: run.epochs.map((e) => e.epoch), y: run.epochs.map((e) => e.loss), line: { color: run.colour } }));
    const marks = runs.map(shown).filter(Boolean).map((e, i) => ({ type: "scatter", mode: "markers", showlegend: false, hoverinfo: "skip",
      x: [e.epoch], y: [e.loss], marker: { color: runs[i].colour, size: PRESENT ? 14 : 9 } }));
    await Plotly.react(lossDiv, [...traces, ...marks], baseLayout({ height: PRESENT ? 300 : 220, showlegend: runs.length > 1,
      legend: { orientation: "h", y: 1.15 }, xaxis: { title: { text: "epoch" } },
      yaxis: { type: "log", ...(family === "mlp" ? { dtick: 1 } : {}), title: { text: family === "mlp" ? "MSE" : "cross-entropy" } } }), CONFIG);
    await Promise.all(runs.map((run, i) => (family === "mlp" ? drawCurve(run, i) : drawPlane(run, i))));
    const lines = runs.map((run) => {
      const e = shown(run);
      const total = run.settings.epochs;
      const head = runs.length > 1 ? `${said(run.settings.optimizer)}: ` : "";
      if (run.end && at === null) return head + ending(run);
      return e ? `${head}epoch ${e.epoch} of ${total}, loss ${fmt(e.loss)}` : `${head}starting…`;
    });
    status.textContent = lines.join(" · ");
    if (!scrub.disabled) scrubShown.textContent = runs.map((r) => shown(r)?.epoch ?? "").join(" / ");
  }

  function ending(run) {
    const { event, data } = run.end;
    if (event !== "done") return data.message;
    const m = data.record.metrics;
    return family === "mlp"
      ? `done: ${data.record.epochs} epochs, final MSE ${m.final_mse.toExponential(2)}, max |f − sqrt| ${fmt(m.max_abs_error_0_10, 3)} on [0, 10], ${m.n_kinks} kinks`
      : `done: ${data.record.epochs} epochs, final loss ${fmt(m.final_loss)}, ${m.pairs_right} of 6 pairs right`;
  }

  function drawCurve(run, i) {
    const e = shown(run);
    if (!run.start || !e) return null;
    const [lo, hi] = run.start.data.domain;
    const xs = Array.from({ length: 201 }, (_, k) => lo + ((hi - lo) * k) / 200);
    const samples = run.start.data.samples.filter((_, k) => k % 4 === 0);
    const traces = [
      { name: "samples", x: samples, y: samples.map(Math.sqrt), mode: "markers", marker: { size: 4, color: "#bbbbbb" }, hoverinfo: "skip" },
      { name: "sqrt(x)", x: xs, y: xs.map(Math.sqrt), mode: "lines", line: { color: GREY, dash: "dash" }, hoverinfo: "skip" },
      { name: "f(x)", x: e.view.curve.map((p) => p[0]), y: e.view.curve.map((p) => p[1]), mode: "lines", line: { color: run.colour, width: 3 } },
      { name: "kinks", x: e.view.kinks.map((p) => p[0]), y: e.view.kinks.map((p) => p[1]), mode: "markers",
        marker: { color: RED, size: PRESENT ? 14 : 9, symbol: "diamond" }, hovertemplate: "kink at x = %{x:.3f}<extra></extra>" },
    ];
    table(i, ["epoch", "loss", "kinks in [0, 10]"], [[String(e.epoch), fmt(e.loss, 5), String(e.view.kinks.length)]]);
    summary(run, i);
    return Plotly.react(`live-plot-${i}`, traces, baseLayout({ height: PRESENT ? 420 : 300, showlegend: false,
      xaxis: { title: { text: "x" }, range: [lo, hi] }, yaxis: { title: { text: "y" }, range: [-0.5, 4] } }), CONFIG);
  }

  function drawPlane(run, i) {
    const e = shown(run);
    if (!run.start || !e) return null;
    const vocab = run.start.data.vocab;
    const table_ = e.view.embedding;
    // The plane keeps the range of every epoch received, so the words move in a frame that stays put.
    const all = run.epochs.flatMap((ep) => ep.view.embedding);
    const range = (d) => {
      const v = all.map((row) => row[d] ?? 0);
      const [a, b] = [Math.min(...v), Math.max(...v)];
      const pad = 0.1 * (b - a || 1);
      return [a - pad, b + pad];
    };
    const trace = { type: "scatter", mode: "markers+text", x: table_.map((r) => r[0]), y: table_.map((r) => r[1] ?? 0), text: vocab,
      textposition: "top center", cliponaxis: false, hovertemplate: "%{text}: (%{x:.3f}, %{y:.3f})<extra></extra>",
      marker: { size: PRESENT ? 14 : 10, color: run.colour, line: { color: "black", width: 1 } } };
    const rows = e.view.predictions.map((p) => [p.input, p.target, p.predicted, fmt(p.prob, 3), p.predicted === p.target ? "✓" : "✗"]);
    table(i, ["input", "target", "predicted", "p", ""], rows, e.view.predictions.map((p) => p.predicted !== p.target));
    summary(run, i);
    const dims = table_[0].length;
    return Plotly.react(`live-plot-${i}`, [trace], baseLayout({ height: PRESENT ? 420 : 300, showlegend: false,
      xaxis: { title: { text: "dim 0" }, range: range(0), zeroline: true },
      yaxis: { title: { text: dims > 1 ? "dim 1" : "(one dimension)" }, range: range(1), zeroline: true } }), CONFIG);
  }

  function table(i, head, rows, wrong = []) {
    $(`live-table-${i}`).replaceChildren(
      el("thead", {}, el("tr", {}, ...head.map((t) => el("th", { scope: "col" }, t)))),
      el("tbody", {}, ...rows.map((cells, r) => el("tr", { className: wrong[r] ? "wrong" : "" }, ...cells.map((c) => el("td", {}, c))))));
  }

  function summary(run, i) {
    const box = $(`live-summary-${i}`);
    if (!run.end || run.end.event !== "done") {
      box.textContent = run.end ? run.end.data.message : "";
      box.dataset.end = run.end?.event ?? "";
      return;
    }
    const record = run.end.data.record;
    const chains = record.greedy_chains?.filter((c) => c.loop).map((c) => c.chain.join(" → ")) ?? [];
    box.dataset.end = "done";
    box.textContent = `${ending(run)}. ` + (chains.length ? `Greedy chains stuck: ${chains.slice(0, 2).join("; ")}${chains.length > 2 ? "; …" : "."}` : "");
  }

  train.addEventListener("click", () => start([settings()]));
  race.addEventListener("click", () => start([settings({ optimizer: "sgd" }), settings({ optimizer: "adam" })]));
  stop.addEventListener("click", () => controller?.abort());
  scrub.addEventListener("input", () => {
    at = Number(scrub.value);
    drawSoon();
  });
}
