// The next-token distribution: the logits, logits ÷ T and the probabilities softmax gives them, as bars. Words top-k
// or top-p cut are grey; the argmax is orange. Also says the argmax and the entropy (#prediction, #entropy).
/* global Plotly */
import { $ } from "../core/dom.js";
import { BLUE, CONFIG, CUT, ORANGE, baseLayout, fmt } from "./plotly.js";

// A panel's title above it (panels side by side), or its axis's title (one panel, or panels stacked).
function titleOf(name, out, temperature, above) {
  if (name === "logits") return above ? "logits" : "logit";
  if (name === "probs") return above ? "probabilities" : "probability";
  return out.scaled ? `logits ÷ T (T = ${temperature})` : "logits ÷ T: undefined at T = 0";
}

// `panels`: which of logits, scaled (÷ T) and probs to draw, each in its own panel. `order`: "vocab" keeps the
// vocabulary's order (a small one); "logit" and "prob" sort by that, largest first; `top` keeps the first n.
// `numbers` prints each bar's value above it (few bars). A few bars put the panels side by side, many stack them.
export function nextToken(el, out, vocab, { panels = ["logits", "probs"], order = "vocab", top = null, numbers = false, temperature = null }) {
  let ids = vocab.map((_, i) => i);
  if (order !== "vocab") {
    const by = order === "logit" ? out.logits : out.probs;
    ids.sort((a, b) => by[b] - by[a]);
  }
  if (top !== null) ids = ids.slice(0, top);
  const colour = ids.map((i) => (!out.kept.includes(i) ? CUT : i === out.prediction_id ? ORANGE : BLUE));
  const side = panels.length > 1 && ids.length <= 12;
  const axis = (n) => (n ? String(n + 1) : "");
  const traces = panels.map((name, n) => {
    const values = name === "scaled" && !out.scaled ? ids.map(() => 0) : ids.map((i) => out[name][i]);
    const text = name === "scaled" && !out.scaled ? [] : values.map((v) => fmt(v, name === "probs" ? 3 : 2));
    return { type: "bar", x: ids.map((i) => vocab[i]), y: values, xaxis: `x${axis(n)}`, yaxis: `y${axis(n)}`,
      marker: { color: colour }, hovertemplate: "%{x}: %{y:.4f}<extra></extra>",
      ...(numbers ? { text, textposition: "outside", cliponaxis: false } : {}) };
  });
  const layout = baseLayout({
    height: side ? 330 : panels.length === 1 ? 260 : 170 * panels.length,
    showlegend: false,
    grid: { rows: side ? 1 : panels.length, columns: side ? panels.length : 1, pattern: "independent" },
    margin: { l: 50, r: 15, t: side ? 50 : 30, b: 40 },
    annotations: side ? panels.map((name, n) => ({ text: titleOf(name, out, temperature, true), xref: `x${axis(n)} domain`,
      x: 0.5, yref: "paper", y: 1.12, showarrow: false })) : [],
  });
  panels.forEach((name, n) => {
    layout[`yaxis${axis(n)}`] = { title: { text: side ? "" : titleOf(name, out, temperature, false) },
      ...(name === "probs" ? { range: [0, side ? 1.15 : 1.05] } : {}) };
  });
  $("prediction").textContent = `argmax: ${out.prediction}`;
  $("entropy").textContent = fmt(out.entropy, 3);
  return Plotly.react(el, traces, layout, CONFIG);
}
