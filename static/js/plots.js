// Thin wrappers around the vendored Plotly, so every page draws with the same look.
/* global Plotly */

// Plotly (1.5 MB) is a classic script that each model page loads with `defer` *after* its own module
// (templates/_partials.html: page_scripts). So the page's module runs first and sends its API requests; Plotly is
// run while they are on the wire, and the page draws once both are in: `await plotlyReady` before the first plot.
export const plotlyReady = new Promise((resolve, reject) => {
  const script = document.getElementById("plotly");
  const ready = () => {
    performance.mark("layerwalk:plotly-ready"); // for the bench (static/js/perf.js lists the marks)
    resolve(window.Plotly);
  };
  if (window.Plotly) ready();
  else if (!script) reject(new Error("This page loads no Plotly (no script#plotly)."));
  else {
    script.addEventListener("load", ready);
    script.addEventListener("error", () => reject(new Error(`Plotly did not load from ${script.src}.`)));
  }
});
plotlyReady.catch(() => {}); // a page that only formats numbers never waits for Plotly; one that draws sees the error

// Every plot downloads as PNG (Plotly's camera button) and as SVG (our button beside it).
const svgButton = {
  name: "Download plot as SVG",
  icon: { width: 1000, height: 1000, path: "M100 100h800v800h-800zM250 650l150-200 120 150 80-100 150 150z", transform: "matrix(1 0 0 -1 0 1000)" },
  click: (gd) => Plotly.downloadImage(gd, { format: "svg", filename: gd.id || "layerwalk-plot" }),
};
export const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToAdd: [svgButton],
  modeBarButtonsToRemove: ["sendChartToCloud"], // it would send the chart to a Plotly server: never, here
  toImageButtonOptions: { format: "png", scale: 2 },
};
export const BLUE = "#2166ac";
export const RED = "#b2182b";
export const GREY = "#8a8a8a";
// Signed values: a diverging scale centred on 0 (blue +, red −), readable by colour-blind viewers.
export const DIVERGING = [
  [0, RED],
  [0.5, "#f7f7f7"],
  [1, BLUE],
];

// What each view of a page was last drawn from, so that a view is redrawn only when that changes (a temperature
// move need not redraw weights that do not depend on it): `if (changed("weights", word)) drawWeights()`.
export function drawnFrom() {
  const drawn = new Map();
  return (view, from) => {
    const key = JSON.stringify(from);
    if (drawn.get(view) === key) return false;
    drawn.set(view, key);
    return true;
  };
}

export const fmt = (v, digits = 4) => (Object.is(v, -0) ? 0 : v).toFixed(digits);
// In presentation mode every plot's text is sized for the back row of a lecture hall.
export const PRESENT = document.documentElement.classList.contains("present");
const TEXT = PRESENT ? 24 : 13;

export function baseLayout(extra = {}) {
  return {
    margin: { l: 50, r: 15, t: 30, b: 40 },
    font: { family: "system-ui, sans-serif", size: TEXT, color: PRESENT ? "#000000" : "#1a1a1a" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    ...extra,
  };
}

// A matrix as an annotated heatmap: numbers on the cells when there are few enough to read.
// Signed values get the diverging scale centred on 0; magnitudes (`sequential`) get viridis from 0. Null cells
// (masked attention scores) are left blank.
export function heatmap(el, { z, x, y, title, annotate = true, highlightRow = null, sequential = false }) {
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
    height: Math.min(PRESENT ? 640 : 420, (PRESENT ? 110 : 70) + (PRESENT ? 36 : 22) * z.length),
    margin: { l: 16 + (PRESENT ? 14 : 7) * Math.max(4, ...y.map((label) => String(label).length)), r: 10, t: PRESENT ? 50 : 30, b: PRESENT ? 60 : 30 },
    yaxis: { autorange: "reversed", type: "category" },
    xaxis: { type: "category", side: "bottom" },
    plot_bgcolor: z.flat().some((v) => v === null) ? "#b8b8b8" : "rgba(0,0,0,0)", // null cells show as grey: masked
    shapes: highlightRow === null ? [] : [{ type: "rect", xref: "paper", x0: 0, x1: 1, y0: highlightRow - 0.5,
      y1: highlightRow + 0.5, yref: "y", line: { color: "#e08214", width: 3 } }],
  });
  return Plotly.react(el, [trace], layout, CONFIG);
}

// A training loss curve from a record's [[epoch, loss]] pairs, on a log scale.
export function lossPlot(el, curve, lossName) {
  const trace = { x: curve.map((p) => p[0]), y: curve.map((p) => p[1]), mode: "lines", line: { color: BLUE } };
  const layout = baseLayout({ height: 260, xaxis: { title: { text: "epoch" } },
    yaxis: { type: "log", title: { text: lossName } } });
  return Plotly.react(el, [trace], layout, CONFIG);
}
