// A matrix as a heatmap: numbers on the cells when there are few enough to read, a highlighted row.
/* global Plotly */
import { CONFIG, DIVERGING, ORANGE, PRESENT, TEXT, baseLayout } from "./plotly.js";

// Signed values get the diverging scale centred on 0; magnitudes (`sequential`) get viridis from 0. Null cells
// (masked attention scores) are left blank.
export function heatmap(el, { z, x, y, title, annotate = true, highlightRow = null, sequential = false, xTitle = "", yTitle = "", height = null }) {
  const cells = z.length * (z[0]?.length ?? 0);
  const showText = annotate && cells <= 64 && (z[0]?.length ?? 0) <= 8;
  const limit = Math.max(1e-9, ...z.flat().filter((v) => v !== null).map(Math.abs));
  const scale = sequential ? { colorscale: "Viridis", zmin: 0, zmax: limit } : { colorscale: DIVERGING, zmin: -limit, zmax: limit, zmid: 0 };
  const trace = {
    type: "heatmap",
    z,
    x,
    y,
    ...scale,
    hovertemplate: "%{y}, %{x}: %{z:.4f}<extra></extra>",
    texttemplate: showText ? "%{z:.3f}" : "",
    textfont: { size: PRESENT ? 20 : 12 },
    showscale: false,
  };
  const layout = baseLayout({
    title: { text: title, font: { size: TEXT } },
    height: height ?? Math.min(PRESENT ? 640 : 420, (PRESENT ? 110 : 70) + (PRESENT ? 36 : 22) * z.length),
    margin: { l: 16 + (PRESENT ? 14 : 7) * Math.max(4, ...y.map((label) => String(label).length)), r: 10, t: PRESENT ? 50 : 30, b: PRESENT ? 60 : 30 },
    yaxis: { autorange: "reversed", type: "category", automargin: true, title: { text: yTitle } },
    xaxis: { type: "category", side: "bottom", automargin: true, title: { text: xTitle } },
    plot_bgcolor: z.flat().some((v) => v === null) ? "#b8b8b8" : "rgba(0,0,0,0)", // null cells show as grey: masked
    shapes: highlightRow === null ? [] : [{ type: "rect", xref: "paper", x0: 0, x1: 1, y0: highlightRow - 0.5,
      y1: highlightRow + 0.5, yref: "y", line: { color: ORANGE, width: 3 } }],
  });
  return Plotly.react(el, [trace], layout, CONFIG);
}


// Lights rows, columns or cells of a drawn heatmap (shapes only: fast enough for hover).
export function highlight(el, { rows = [], cols = [], cells = [] }) {
  const line = { color: ORANGE, width: 3 };
  const shapes = [
    ...rows.map((r) => ({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: r - 0.5, y1: r + 0.5, line })),
    ...cols.map((c) => ({ type: "rect", yref: "paper", y0: 0, y1: 1, xref: "x", x0: c - 0.5, x1: c + 0.5, line })),
    ...cells.map(([r, c]) => ({ type: "rect", xref: "x", yref: "y", x0: c - 0.5, x1: c + 0.5, y0: r - 0.5, y1: r + 0.5, line })),
  ];
  return Plotly.relayout(el, { shapes });
}
