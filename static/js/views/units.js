// Small multiples of a ReLU net's hidden units: one light SVG sparkline per unit, a row of them per hidden layer, each
// the unit's a = ReLU(z) over the input's domain (its z dashed below 0), the x's where it switches, and the current
// x. The curves come from the API (exact at the points given, linear between them); nothing is computed here but
// where to draw. Each panel is focusable; hovering or focusing one calls `onLight` with its key, leaving it with null.
import { el, svgEl } from "../core/dom.js";
import { fmt } from "./plotly.js";

const W = 100; // the sparkline's own coordinates, stretched to its panel (strokes keep their width: CSS)
const H = 40;
const PAD = 4; // room above and below the curve for the current-x dot

export const unitKey = (layer, unit) => `${layer}:${unit}`;

// `units`: the detail's analysis.units; `xs`: the x of each of their points; `domain`: [lo, hi].
export function unitPanels(container, { units, xs, domain }, { onLight = () => {} } = {}) {
  const [lo, hi] = domain;
  const xOf = (x) => (W * (x - lo)) / (hi - lo);
  const panels = new Map(); // key → {panel, unit, now, dot, yOf}
  const switchesText = (u) => (u.switches.length
    ? `switches ${u.switches.map((s) => `${s.turns_on ? "on" : "off"} at x = ${fmt(s.x, 2)}`).join(", ")}`
    : `never switches in [${lo}, ${hi}]`);
  const layers = [...new Set(units.map((u) => u.layer))];
  container.replaceChildren(...layers.map((layer) => {
    const own = units.filter((u) => u.layer === layer);
    const row = el("div", { className: own.length <= 4 ? "unit-row few" : "unit-row" });
    for (const u of own) row.append(panel(u));
    return el("div", { className: "unit-layer" }, el("h3", {}, `Layer ${layer + 1}`), row);
  }));

  function panel(u) {
    const values = [0, ...u.z, ...u.a];
    const [low, high] = [Math.min(...values), Math.max(...values)];
    const span = high - low || 1;
    const yOf = (v) => PAD + ((H - 2 * PAD) * (high - v)) / span;
    const line = (vs) => vs.map((v, k) => `${xOf(xs[k]).toFixed(2)},${yOf(v).toFixed(2)}`).join(" ");
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", "aria-hidden": "true" });
    svg.append(
      svgEl("line", { x1: 0, x2: W, y1: yOf(0), y2: yOf(0), class: "zero" }),
      ...u.switches.map((s) => svgEl("line", { x1: xOf(s.x), x2: xOf(s.x), y1: 0, y2: H, class: "switch" })),
      svgEl("polyline", { points: line(u.z), class: "z" }),
      svgEl("polyline", { points: line(u.a), class: "a" }),
    );
    const now = svgEl("line", { y1: 0, y2: H, class: "now" });
    const dot = svgEl("line", { class: "dot" }); // a zero-length line with round caps: a dot that is not stretched
    svg.append(now, dot);
    const key = unitKey(u.layer, u.unit);
    const label = el("span", { className: "unit-label" }, `u${u.unit}`);
    const node = el("div", { className: "unit-panel", tabIndex: 0, role: "img", dataset: { unit: key } }, label, svg);
    node.setAttribute("aria-label", `layer ${u.layer + 1} unit ${u.unit}: ${switchesText(u)}`); // with x once shown
    for (const type of ["mouseenter", "focus"]) node.addEventListener(type, () => onLight(key));
    for (const type of ["mouseleave", "blur"]) node.addEventListener(type, () => onLight(null));
    panels.set(key, { node, unit: u, now, dot, yOf });
    return node;
  }

  // The current x and each unit's a there (from the forward pass): `a(key)` → that unit's a, `z(key)` → its z. While
  // the panels are off screen, only the latest is kept, and drawn when they come into view: a slider's every move
  // would otherwise repaint every panel unseen.
  let seen = false;
  let latest = null;
  new IntersectionObserver(([entry]) => {
    seen = entry.isIntersecting;
    if (seen && latest) draw(...latest);
  }).observe(container);
  function show(x, values) {
    latest = [x, values];
    if (seen) draw(x, values);
  }

  function draw(x, { a, z }) {
    latest = null;
    const inside = x >= lo && x <= hi;
    for (const [key, { node, unit: u, now, dot, yOf }] of panels) {
      const on = z(key) > 0;
      node.classList.toggle("off", !on);
      const name = `layer ${u.layer + 1} unit ${u.unit}: ${on ? "on" : "off"} (a = ${fmt(a(key), 3)} at x = ${fmt(x, 2)}), ${switchesText(u)}`;
      node.setAttribute("aria-label", name);
      node.title = name;
      for (const mark of [now, dot]) mark.style.display = inside ? "" : "none";
      if (!inside) continue;
      const px = xOf(x).toFixed(2);
      const py = yOf(a(key)).toFixed(2);
      for (const [k, v] of Object.entries({ x1: px, x2: px })) now.setAttribute(k, v);
      for (const [k, v] of Object.entries({ x1: px, x2: px, y1: py, y2: py })) dot.setAttribute(k, v);
    }
  }

  // Lights the panels of these unit keys (a Set, or null for none).
  function light(keys) {
    for (const [key, { node }] of panels) node.classList.toggle("lit", Boolean(keys?.has(key)));
  }

  return { show, light };
}
