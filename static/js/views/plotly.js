// The vendored Plotly, and what every plot shares: its configuration, colours, layout and number format.
/* global Plotly */

// Plotly (1.5 MB) is a classic script that each model page loads with `defer` *after* its own module
// (templates/_partials.html: page_scripts). So the page's module runs first and sends its API requests; Plotly is
// run while they are on the wire, and the page draws once both are in: `await plotlyReady` before the first plot.
export const plotlyReady = new Promise((resolve, reject) => {
  const script = document.getElementById("plotly");
  const ready = () => {
    performance.mark("layerwalk:plotly-ready"); // for the bench (static/js/core/perf.js lists the marks)
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
export const ORANGE = "#e08214"; // what is selected: the current word, the argmax, the region holding x
export const CUT = "#d4d4d4"; // a token top-k or top-p cut
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
export const TEXT = PRESENT ? 24 : 13;
export const FONT = "system-ui, sans-serif"; // the system's own: nothing to download

// How wide `text` is set in FONT at `size` px, measured on a canvas: room for labels is made before they are drawn.
const measure = document.createElement("canvas").getContext("2d");
export function textWidth(text, size) {
  measure.font = `${size}px ${FONT}`;
  return measure.measureText(text).width;
}

// Plotly reads `<…>` in any label as HTML: a word such as `<s>` or `</s>` would vanish. Escaping only `<` and `>`
// leaves a label that is already escaped as it is, so calling this twice does no harm.
// A token that is whitespace (a character model's space, line break or tab) as a glyph a reader can see.
const GLYPHS = { " ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍" };
// GPT-2's byte-level pieces write a leading space as Ġ and a line break as Ċ: shown the same way.
export const visibleToken = (token) => GLYPHS[token] ?? String(token).replace(/^Ġ/, "␣").replace(/Ċ/g, "↵");
export const escapeLabel = (text) => String(text).replace(/</g, "&lt;").replace(/>/g, "&gt;");

// What every plot's axes share (a template reaches x2, y3 … too, and a page's own `xaxis` does not undo it): the
// margins grow to hold the tick labels and the axis titles (automargin), and a title stands clear of its ticks. In
// presentation mode Plotly would space a y axis's ticks for 13 px labels, and 24 px ones would touch: a plot of a
// known height gets at most one tick per two lines of text (a plot that sets its axes' nticks keeps its own).
function template(height) {
  const ticks = PRESENT && height ? { nticks: Math.max(3, Math.floor((0.6 * height) / (2.6 * TEXT))) } : {};
  return {
    layout: {
      xaxis: { automargin: true, title: { standoff: PRESENT ? 12 : 8 } },
      yaxis: { automargin: true, title: { standoff: PRESENT ? 12 : 8 }, ...ticks },
    },
  };
}

export function baseLayout(extra = {}) {
  return {
    template: template(extra.height),
    margin: { l: 50, r: 15, t: 30, b: 40 },
    font: { family: FONT, size: TEXT, color: PRESENT ? "#000000" : "#1a1a1a" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    ...extra,
  };
}
