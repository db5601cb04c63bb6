// A matrix as a heatmap, readable at any width: a colour scale with its legend, axes that say what they show, tick
// labels Plotly's margins make room for, numbers on the cells only when the cells can hold them, a title wrapped
// to the plot's width, and rows, columns or cells lit (`highlight`) without redrawing the cells.
/* global Plotly */
import { CONFIG, DIVERGING, ORANGE, PRESENT, TEXT, baseLayout, escapeLabel, textWidth } from "./plotly.js";

const CHAR = 0.62; // the width of a character (digits, lower case) in ems of the system font: a safe over-estimate
const LINE = 1.3; // a line of text's height, in ems
const HIGHLIGHT = "layerwalk-highlight"; // the name of the shapes `highlight` draws; other shapes are kept
const CELL_TEXT = PRESENT ? 20 : 12; // the numbers on the cells
const ROW = PRESENT ? 36 : 22; // a row's height when the caller does not fix the plot's
const MAX_ROWS_HEIGHT = PRESENT ? 520 : 340; // … up to this many pixels for all of them
const MIN_ROWS_HEIGHT = PRESENT ? 110 : 64; // a one-row heatmap still has room for its colour bar's ticks

// A plot's width as the page laid its div out (Plotly would assume 700 px for a div not yet laid out).
const widthOf = (el) => el.getBoundingClientRect().width || el.parentElement?.getBoundingClientRect().width || 600;

// `text` on lines of at most `chars` characters, broken at spaces; a word longer than a line is cut with "…".
export function wrap(text, chars) {
  const lines = [];
  for (const word of String(text).split(" ")) {
    const fitted = word.length > chars ? `${word.slice(0, Math.max(1, chars - 1))}…` : word;
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + fitted.length <= chars) lines[last] += ` ${fitted}`;
    else lines.push(fitted);
  }
  return lines;
}

// The rectangles that light rows, columns and cells ([row, column] pairs), on category axes (row i spans i ± 0.5).
function marks({ rows = [], cols = [], cells = [] }) {
  const line = { color: ORANGE, width: 3 };
  const rect = (extra) => ({ type: "rect", name: HIGHLIGHT, line, fillcolor: "rgba(0,0,0,0)", ...extra });
  return [
    ...rows.map((r) => rect({ xref: "paper", x0: 0, x1: 1, yref: "y", y0: r - 0.5, y1: r + 0.5 })),
    ...cols.map((c) => rect({ yref: "paper", y0: 0, y1: 1, xref: "x", x0: c - 0.5, x1: c + 0.5 })),
    ...cells.map(([r, c]) => rect({ xref: "x", x0: c - 0.5, x1: c + 0.5, yref: "y", y0: r - 0.5, y1: r + 0.5 })),
  ];
}

// A colour bar's ticks: its two ends (the largest magnitude, so the reader sees how far the colours go), and
// between them evenly, `count` in all; Plotly's own choice may leave a single "0" on a short bar.
function scaleTicks(zmin, zmax, count) {
  const tickvals = Array.from({ length: count }, (_, i) => zmin + ((zmax - zmin) * i) / (count - 1));
  const short = (v) => {
    const text = Math.abs(v) >= 10 ? v.toFixed(0) : Math.abs(v) >= 0.1 || v === 0 ? v.toFixed(2) : v.toPrecision(2);
    return Number(text) === 0 ? "0" : text.replace("-", "−");
  };
  return { tickmode: "array", tickvals, ticktext: tickvals.map(short) };
}

// How many ticks a colour bar this many px tall holds, two lines of text apart.
const tickCount = (height) => (height >= 6 * LINE * TEXT ? 5 : height >= 3 * LINE * TEXT ? 3 : 2);

// Lights `rows`, `cols` and `cells` ([row, column] pairs) of a drawn heatmap, and unlights what was lit before.
// Only the shapes change (Plotly.relayout), so a hover can call it on every move.
export function highlight(el, { rows = [], cols = [], cells = [] } = {}) {
  const kept = (el.layout?.shapes ?? []).filter((shape) => shape.name !== HIGHLIGHT);
  return Plotly.relayout(el, { shapes: [...kept, ...marks({ rows, cols, cells })] });
}

const BAR_THICKNESS = PRESENT ? 16 : 10;
const MIN_CELL = PRESENT ? 4 : 3; // the narrowest a column may be (a 128-wide matrix fits a screen) and be hovered
const MIN_AREA = 28; // the narrowest plot area (one column of μ) Plotly is told to keep beside its margins

// The room a heatmap's text takes beside its cells: to the left its row labels and the y axis's title, to the right
// the colour bar (thin, its ticks and its sideways title) and a little air.
function frame({ y, yTitle = null, rowLabels = true }) {
  const labels = rowLabels ? Math.max(0, ...y.map((label) => textWidth(String(label), TEXT))) + 8 : 0;
  const left = labels + (yTitle ? LINE * TEXT + 8 : 0);
  // Plotly's own padding around the colour bar and its title comes to about a line more than the parts add up to.
  const right = BAR_THICKNESS + 8 + textWidth("−0.00", TEXT) + 4 + 2 * LINE * TEXT + 18;
  return { left, right };
}

// The narrowest a heatmap of these rows (`y`) and `columns` can be drawn with every label whole: what `heatmap` would
// need, for a page that shares a row of plots out by their widths.
export function heatmapMinWidth({ y, columns, yTitle = null, rowLabels = true }) {
  const { left, right } = frame({ y, yTitle, rowLabels });
  return Math.ceil(left + right + Math.max(MIN_AREA, MIN_CELL * columns));
}

// Signed values get the diverging scale centred on 0; magnitudes (`sequential`) get viridis from 0. Null cells
// (masked attention scores) are left blank, on grey. `xTitle`, `yTitle`: what the axes show ("key position");
// `scaleTitle`: what the colours show ("score", "p"); `height`: the plot's height in px, to fit it to a screen, or
// `maxHeight`: the most it may take (a tall matrix is drawn shorter, its rows thinner);
// `rowLabels: false` leaves the rows unlabelled (a plot beside another with the same rows).
export function heatmap(el, {
  z, x, y, title = "", annotate = true, highlightRow = null, sequential = false,
  xTitle = null, yTitle = null, scaleTitle = "value", height = null, maxHeight = null, rowLabels = true,
}) {
  const rows = z.length;
  const cols = z[0]?.length ?? 0;
  const values = z.flat().filter((v) => v !== null);
  const limit = Math.max(1e-9, ...values.map(Math.abs));
  const scale = sequential ? { colorscale: "Viridis", zmin: 0, zmax: limit } : { colorscale: DIVERGING, zmin: -limit, zmax: limit, zmid: 0 };

  // Where the plot area will be, from the div's width and the labels' lengths: the title on as many lines as the
  // width needs, the y labels to the left, the colour bar (thin, ticks and a sideways title) to the right.
  const width = widthOf(el);
  const titleLines = title ? wrap(title, Math.max(8, Math.floor((width - 16) / (CHAR * TEXT)))) : [];
  const { left, right } = frame({ y, yTitle, rowLabels });
  const cellWidth = Math.max(1, width - left - right) / Math.max(1, cols);
  const xWidest = Math.max(1, ...x.map((label) => textWidth(String(label), TEXT)));
  const xFlat = xWidest + 6 <= cellWidth; // else the x labels stand upright, one line of text per column
  const top = titleLines.length * LINE * TEXT + 12 + 0.6 * TEXT; // the colour bar's top label stands half a line up
  const bottom = (xFlat ? LINE * TEXT : xWidest) + 8 + (xTitle ? LINE * TEXT + 8 : 0);
  // The y axis's title is centred on the rows, turned: the rows are at least as tall as it is long, less the margins.
  const titleRoom = yTitle ? textWidth(yTitle, TEXT) + 8 - 2 * Math.min(top, bottom) : 0;
  const natural = Math.max(MIN_ROWS_HEIGHT, titleRoom, Math.min(MAX_ROWS_HEIGHT, ROW * rows));
  const plotHeight = height === null
    ? Math.min(natural, maxHeight === null ? Infinity : Math.max(MIN_ROWS_HEIGHT, maxHeight - top - bottom))
    : Math.max(20, height - top - bottom);
  const cellHeight = plotHeight / Math.max(1, rows);

  // Numbers on the cells only when the widest of them fits its cell, with a little air: first by the estimate, then
  // (once Plotly has placed the axes) by the cells' real size and the numbers' measured width.
  const widest = Math.max(1, ...values.map((v) => textWidth(v.toFixed(3), CELL_TEXT)));
  const fits = (w, h) => widest + 6 <= w && LINE * CELL_TEXT <= h;
  const showText = annotate && fits(cellWidth, cellHeight);

  const xs = x.map(escapeLabel);
  const ys = y.map(escapeLabel);
  const trace = {
    type: "heatmap",
    z,
    x: xs,
    y: ys,
    ...scale,
    hovertemplate: "%{y}, %{x}: %{z:.4f}<extra></extra>",
    texttemplate: showText ? "%{z:.3f}" : "",
    textfont: { size: CELL_TEXT },
    showscale: true,
    colorbar: {
      thickness: BAR_THICKNESS,
      len: 1,
      outlinewidth: 0,
      xpad: 6,
      ypad: 0,
      ticks: "outside",
      ticklen: 3,
      ...scaleTicks(scale.zmin, scale.zmax, tickCount(plotHeight)),
      tickfont: { size: TEXT },
      title: { text: escapeLabel(scaleTitle), side: "right", font: { size: TEXT } },
    },
  };
  const axisTitle = (text) => ({ text: text ? escapeLabel(text) : "", font: { size: TEXT } });
  const layout = baseLayout({
    title: {
      text: titleLines.map(escapeLabel).join("<br>"),
      font: { size: TEXT },
      // From the top down. Plotly 4.1 sets a title of several lines with its first baseline on the anchor (a line
      // of its own would hang 0.7 em below it): a line's ascent more of padding keeps the first line in the plot.
      yref: "container",
      y: 1,
      yanchor: "top",
      pad: { t: titleLines.length > 1 ? 6 + 0.8 * TEXT : 6 },
    },
    height: Math.round(height ?? top + bottom + plotHeight),
    margin: { l: 8, r: 8, t: Math.round(top), b: 8 },
    minreducedwidth: MIN_AREA, // else Plotly gives up the margins a small plot's labels need (it keeps 64 px)
    minreducedheight: MIN_AREA,
    yaxis: { autorange: "reversed", type: "category", automargin: true, nticks: 0, title: axisTitle(yTitle), showticklabels: rowLabels },
    xaxis: { type: "category", side: "bottom", automargin: true, nticks: 0, title: axisTitle(xTitle), tickangle: xFlat ? 0 : -90 },
    plot_bgcolor: values.length < rows * cols ? "#b8b8b8" : "rgba(0,0,0,0)", // null cells show as grey: masked
    shapes: marks({ rows: highlightRow === null ? [] : [highlightRow] }),
  });
  // Once drawn, the real plot area decides: no numbers on cells too small for them, no more colour bar ticks than
  // its height holds.
  return Plotly.react(el, [trace], layout, CONFIG).then((plot) => {
    const { xaxis, yaxis } = plot._fullLayout;
    const update = {};
    if (showText && !fits(xaxis._length / Math.max(1, cols), yaxis._length / Math.max(1, rows))) update.texttemplate = "";
    if (tickCount(yaxis._length) !== tickCount(plotHeight)) {
      const { tickvals, ticktext } = scaleTicks(scale.zmin, scale.zmax, tickCount(yaxis._length));
      Object.assign(update, { "colorbar.tickvals": [tickvals], "colorbar.ticktext": [ticktext] });
    }
    return Object.keys(update).length ? Plotly.restyle(plot, update).then(() => plot) : plot;
  });
}
