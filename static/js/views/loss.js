// A training loss curve from a record's [[epoch, loss]] pairs, on a log scale.
/* global Plotly */
import { BLUE, CONFIG, baseLayout } from "./plotly.js";

export function lossPlot(el, curve, lossName) {
  const trace = { x: curve.map((p) => p[0]), y: curve.map((p) => p[1]), mode: "lines", line: { color: BLUE } };
  const layout = baseLayout({ height: 260, xaxis: { title: { text: "epoch" } },
    yaxis: { type: "log", title: { text: lossName } } });
  return Plotly.react(el, [trace], layout, CONFIG);
}
