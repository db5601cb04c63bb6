// A training loss curve from a record's [[epoch, loss]] pairs, on a log scale; `markEpoch` marks the checkpoint
// the page shows (views/scrubber.js) with a vertical line.
/* global Plotly */
import { BLUE, CONFIG, ORANGE, baseLayout } from "./plotly.js";

export function lossPlot(el, curve, lossName) {
  const trace = { x: curve.map((p) => p[0]), y: curve.map((p) => p[1]), mode: "lines", line: { color: BLUE } };
  const layout = baseLayout({ height: 260, xaxis: { title: { text: "epoch" } },
    yaxis: { type: "log", title: { text: lossName } } });
  return Plotly.react(el, [trace], layout, CONFIG);
}

// A vertical line at `epoch` (null: none) on a drawn loss plot.
export function markEpoch(el, epoch) {
  const div = typeof el === "string" ? document.getElementById(el) : el;
  if (!div?.layout) return null;
  div.dataset.markedEpoch = epoch === null ? "" : String(epoch);
  const shapes = epoch === null ? [] : [{ type: "line", x0: epoch, x1: epoch, yref: "paper", y0: 0, y1: 1, line: { color: ORANGE, width: 2 } }];
  return Plotly.relayout(div, { shapes });
}
