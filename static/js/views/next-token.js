// The next-token distribution: the logits, logits ÷ T and the probabilities softmax gives them, as bars. Words top-k
// or top-p cut are grey; the argmax is orange. Also says the argmax and the entropy (#prediction, #entropy).
/* global Plotly */
import { $ } from "../core/dom.js";
import { BLUE, CONFIG, CUT, ORANGE, PRESENT, TEXT, baseLayout, escapeLabel, fmt, textWidth, visibleToken } from "./plotly.js";

const CHAR = 0.62; // a character's width in ems of the system font (a safe over-estimate)
const LINE = 1.3; // a line's height in ems
const PANEL = PRESENT ? 260 : 170; // a stacked panel's height, px

// A panel's title above it (panels side by side), or its axis's title (one panel, or panels stacked: on two lines,
// so that it fits beside a short panel).
function titleOf(name, out, temperature, above) {
  if (name === "logits") return above ? "logits" : "logit";
  if (name === "probs") return above ? "probabilities" : "probability";
  const br = above ? " " : "<br>";
  return out.scaled ? `logits ÷ T${br}(T = ${temperature})` : `logits ÷ T:${br}undefined at T = 0`;
}

// An answer's next-token arrays hold the whole vocabulary in id order, or, for a wide one (GPT-2's 50,257), its
// likeliest tokens: `out.ids` lists which. The value of token `id` in array `name`; undefined when not sent.
export function tokenValue(out, name, id) {
  const values = out[name];
  if (!values) return undefined;
  if (!out.ids) return values[id];
  const at = out.ids.indexOf(id);
  return at < 0 ? undefined : values[at];
}

// What a chart of a wide vocabulary leaves out, said under it.
const leftOut = (out, size) => {
  const others = size - out.ids.length;
  return `the ${out.ids.length} likeliest of ${size.toLocaleString("en")} tokens · the other ${others.toLocaleString("en")}: p = ${fmt(out.rest, 3)} together`;
};

// `panels`: which of logits, scaled (÷ T) and probs to draw, each in its own panel. `order`: "vocab" keeps the
// vocabulary's order (a small one); "logit" and "prob" sort by that, largest first; `top` keeps the first n.
// `numbers` prints each bar's value above it (few bars). `before`: an unchanged answer's output, drawn as grey
// ticks over a what-if's bars. A few bars put the panels side by side when the plot is
// wide enough for them; otherwise the panels are stacked and share one axis of words, labelled once, at the bottom.
// `height`: the whole chart's height in px, to fit a screen.
export function nextToken(el, out, vocab, options) {
  refitted(el, () => nextToken(el, out, vocab, options));
  const { panels = ["logits", "probs"], order = "vocab", top = null, numbers = false, temperature = null, height = null, before = null } = options;
  let ids = out.ids ? [...out.ids] : vocab.map((_, i) => i);
  if (order !== "vocab") {
    const by = order === "logit" ? "logits" : "probs";
    const value = new Map(ids.map((i) => [i, tokenValue(out, by, i)]));
    ids.sort((a, b) => value.get(b) - value.get(a));
  }
  if (top !== null) ids = ids.slice(0, top);
  const colour = ids.map((i) => (!out.kept.includes(i) ? CUT : i === out.prediction_id ? ORANGE : BLUE));
  const words = ids.map((i) => escapeLabel(visibleToken(vocab[i])));
  const width = el.getBoundingClientRect().width || 600;
  // The width a bar needs: its number (measured, the widest of all the panels'; a little smaller if that puts the
  // panels side by side), or its word turned.
  const printed = panels.flatMap((name) => (out[name] ?? []).map((v) => fmt(v, name === "probs" ? 3 : 2)));
  const barAt = (size) => (numbers ? Math.max(2 * TEXT, ...printed.map((t) => textWidth(t, size))) + 6 : 2 * TEXT);
  const room = (width - 60 * panels.length) / panels.length / Math.max(1, ids.length); // per bar, side by side
  const numberSize = barAt(TEXT) <= room ? TEXT : Math.round(0.8 * TEXT);
  const side = panels.length > 1 && ids.length <= 12 && barAt(numberSize) <= room;
  const axis = (n) => (n ? String(n + 1) : "");
  const traces = panels.map((name, n) => {
    const values = name === "scaled" && !out.scaled ? ids.map(() => 0) : ids.map((i) => tokenValue(out, name, i));
    const text = name === "scaled" && !out.scaled ? [] : values.map((v) => fmt(v, name === "probs" ? 3 : 2));
    return { type: "bar", name, customdata: ids, x: words, y: values, xaxis: side ? `x${axis(n)}` : "x", yaxis: `y${axis(n)}`,
      marker: { color: colour }, hovertemplate: "%{x}: %{y:.4f}<extra></extra>",
      ...(numbers ? { text, textposition: "outside", cliponaxis: false, textfont: { size: numberSize } } : {}) };
  });
  // What if: each word's value before the change, a grey tick over its bar (a word the change moved shows a gap).
  if (before) {
    panels.forEach((name, n) => {
      if (name === "scaled" && !(out.scaled && before.scaled)) return;
      traces.push({ type: "scatter", mode: "markers", name: `${name}, unchanged`, x: words, y: ids.map((i) => tokenValue(before, name, i) ?? null),
        xaxis: side ? `x${axis(n)}` : "x", yaxis: `y${axis(n)}`, marker: { symbol: "line-ew-open", size: 18, color: "#555555", line: { width: 3 } },
        hovertemplate: "%{x} before the change: %{y:.4f}<extra></extra>" });
    });
  }
  // The words under the bars: flat when each fits its bar, else turned (Plotly decides), with room kept for them.
  const longest = Math.max(1, ...ids.map((i) => String(vocab[i]).length));
  const columns = side ? panels.length : 1;
  const flat = longest * CHAR * TEXT + 6 <= (width - 60 * columns) / columns / Math.max(1, ids.length);
  let note = out.ids ? leftOut(out, vocab.length) : null; // under the words: on two lines where one does not fit
  if (note && textWidth(note, Math.round(0.85 * TEXT)) > width - 70) note = note.replace(" · ", "<br>");
  const noteLines = note ? note.split("<br>").length : 0;
  const labels = (flat ? LINE * TEXT + 8 : longest * CHAR * TEXT + 12) + noteLines * LINE * TEXT + (note ? 6 : 0);
  const titles = side ? LINE * TEXT + 10 : 8; // a title above each panel, side by side
  const rows = side ? 1 : panels.length;
  const panel = height !== null // fitted to the room it is given (a stage panel), or each panel its usual height
    ? Math.max(60, (height - titles - labels) / rows)
    : side ? 280 : panels.length === 1 ? 220 : PANEL;
  const layout = baseLayout({
    width: Math.floor(width), // drawn at the width it was decided for (refitted draws it again at a new one)
    height: Math.round(titles + (side ? panel : panel * panels.length) + labels),
    showlegend: false,
    grid: side
      ? { rows: 1, columns: panels.length, pattern: "independent", xgap: 0.25 }
      : { rows: panels.length, columns: 1, pattern: "coupled", roworder: "top to bottom", ygap: 0.12 },
    margin: { l: 50, r: 10, t: Math.round(titles), b: 10 },
    annotations: side ? panels.map((name, n) => ({ text: titleOf(name, out, temperature, true), xref: `x${axis(n)} domain`,
      x: 0.5, yref: "paper", y: 1, yanchor: "bottom", yshift: 4, showarrow: false, font: { size: TEXT } })) : [],
  });
  // y axes: a title each (stacked; its short name when the panel is shorter than the title is long), at most one
  // tick per two lines of text, room above the bars for their numbers
  const SHORT = { logits: "logit", scaled: "÷ T", probs: "p" };
  const fitted = (title, name) => (Math.max(...title.split("<br>").map((line) => textWidth(line, TEXT))) + 12 <= panel ? title : SHORT[name]);
  const ticks = Math.max(2, Math.min(8, Math.floor((panel * 0.8) / (2 * LINE * TEXT)))); // a short panel: 0 and the top
  panels.forEach((name, n) => {
    layout[`yaxis${axis(n)}`] = { title: { text: side ? "" : fitted(titleOf(name, out, temperature, false), name) }, nticks: ticks, ticklabelstandoff: 6, // clear of a turned first word
      automargin: true, ...(name === "probs" ? { range: [0, side || numbers ? 1.15 : 1.05] } : {}) };
  });
  layout.xaxis = { type: "category", automargin: true, ticklabelstandoff: 4, // the first word clear of the y axis's 0
    ...(note ? { title: { text: note, standoff: 6, font: { size: Math.round(0.85 * TEXT) } } } : {}) };
  $("prediction").textContent = `argmax: ${visibleToken(out.prediction)}`;
  $("entropy").textContent = fmt(out.entropy, 3);
  return Plotly.react(el, traces, layout, { ...CONFIG, responsive: false }); // a new width draws it again (refitted)
}

// Whether the panels go side by side is decided for the plot's width: a new width (a window resized, a phone
// turned) draws it again with `again`, rather than letting Plotly squeeze three panels' margins into a phone.
const drawAgain = new WeakMap(); // plot → [its width when drawn, the drawing to repeat]
const watcher = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    const [width, again] = drawAgain.get(target) ?? [];
    if (again && target.isConnected && Math.abs(target.clientWidth - width) > 1) again();
  }
});
function refitted(el, again) {
  if (!drawAgain.has(el)) watcher.observe(el);
  drawAgain.set(el, [el.clientWidth, again]);
}
