// The unfolding of one shown number: how the model computed it from the step before, term by term, as the server's
// /explain answers it (app/schemas.py: Unfolding). The browser computes nothing: it lays the answer out, a title
// naming the value and its shown number, the formula, a line per term (its two factors when it is a product), the
// "… n more" line, the sum, the scalars the formula used, the total (the shown number again) and the note.
//
// The open unfolding is the store's `ux`, "hook:i,j" (or "hook:head,i,j"): in the URL, so a shared link opens on the
// same number. `unfolder` keeps the drawer and the store in step on any page: a page says where a number is on
// screen (`locate`), and opens one from a click or Enter on it; views/panel.js does so for a stage's matrices,
// `numberButton` makes a shown number a button that unfolds it (the MLP's and text net's tables and traces), and
// `unfoldBars` makes a next-word chart's bars unfold.
/* global Plotly */
import { el } from "../core/dom.js";
import { tokenValue } from "./next-token.js";
import { fmt } from "./plotly.js";

// `hook:index` and back; null for "" or anything malformed (a link edited by hand).
export const unfoldKey = (hook, index) => `${hook}:${index.join(",")}`;
export function parseUnfold(ux) {
  const match = /^([\w.]+):(\d+(?:,\d+)*)$/.exec(ux ?? "");
  return match ? { hook: match[1], index: match[2].split(",").map(Number) } : null;
}

// A number at 4 decimals, with a true minus sign; a tiny one (ε) in exponent form, so it does not read 0.0000.
export function num(v) {
  if (v === null || v === undefined) return "—";
  const tiny = v !== 0 && Math.abs(v) < 5e-4;
  return (tiny ? v.toExponential(1) : fmt(v)).replace("-", "−");
}

// A count among the formula's scalars (d_head = 8, top_k = 5), not a measured number: no decimals.
const whole = (name, v) => Number.isInteger(v) && /^(d_|n_|top_k|kept)/.test(name);

// The drawer in `box`: `show(title, shownValue, answer)` lays an answer out, `wait(title)` says one is on its way,
// `fail(title, error)` says why there is none; `onClose` runs on the close button and on Escape inside it.
export function unfoldView(box, { onClose }) {
  const close = el("button", { type: "button", className: "unfold-close", ariaLabel: "close the unfolding (Escape)" }, "×");
  close.addEventListener("click", onClose);
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    onClose();
  });
  const heading = (title) => el("div", { className: "unfold-head" }, el("h3", { id: "unfold-title" }, title), close);

  function open(children) {
    box.replaceChildren(...children);
    box.hidden = false;
  }

  function wait(title) {
    open([heading(title), el("p", { className: "unfold-wait" }, "unfolding…")]);
  }

  function fail(title, error) {
    open([heading(title), el("p", { className: "unfold-note" }, error.detail ?? String(error))]);
  }

  function show(title, shown, answer, more = []) {
    const rows = answer.terms.map((term) => {
      const more = term.label.startsWith("…");
      const product = term.factors.length === 2 ? `${num(term.factors[0])} × ${num(term.factors[1])}` : "";
      return el("tr", { className: more ? "unfold-more" : "" },
        el("th", { scope: "row" }, term.label), el("td", { className: "unfold-factors" }, product ? `${product} =` : "="),
        el("td", { className: "unfold-value" }, num(term.value)));
    });
    const inputs = Object.entries(answer.inputs).map(([name, v]) => el("span", { className: "unfold-input" }, `${name} = ${whole(name, v) ? String(v) : num(v)}`));
    const parts = [
      heading(`${title} = ${shown === null ? "masked" : num(shown)}`),
      el("p", { className: "formula unfold-formula" }, answer.formula),
      el("div", { className: "unfold-terms-wrap", tabIndex: 0, role: "region", ariaLabel: "the terms" },
        el("table", { className: "unfold-terms" }, el("tbody", {}, ...rows))),
      el("p", { className: "unfold-sum" }, `Σ of ${answer.n_terms} term${answer.n_terms === 1 ? "" : "s"} = `, el("strong", {}, num(answer.sum))),
    ];
    if (inputs.length) parts.push(el("p", { className: "unfold-inputs" }, ...inputs));
    parts.push(el("p", { className: "unfold-total" }, answer.total === null ? "total: none, the value is masked"
      : `total = `, ...(answer.total === null ? [] : [el("strong", { id: "unfold-total" }, num(answer.total))])));
    if (answer.params.length) parts.push(el("p", { className: "unfold-params" }, `reads ${answer.params.join(", ")}`));
    if (answer.note) parts.push(el("p", { className: "unfold-note", id: "unfold-note" }, answer.note));
    open([...parts, ...more]);
  }

  function hide() {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.shown;
  }

  return { show, wait, fail, hide, focus: () => box.focus() }; // the drawer keeps it while its contents change
}

// The page's drawer (#unfold) and the store's `ux`. `locate({hook, index}, ux)` says what on screen shows that number:
// {title, shown (its value), opener (the element to give the focus back to), reveal()?}, or null when it is not on
// screen (another stage, a shorter text): the drawer then closes. `explain(hook, index)` asks the server.
// Returns `open(ux, opener, {focus, later})` and `refresh(request)`: a page calls it after each drawing, with its
// forward request's key (a new request unfolds the number again, from the new pass). `later`: the number is not on
// screen yet, but will be after the drawing under way (another stage was asked for with it).
// `extra(wanted, answer)`, when given, adds nodes under the unfolding (a page's "what if it were…" for a weight).
export function unfolder(store, box, { explain, locate, extra = null }) {
  const view = unfoldView(box, { onClose: () => close() });
  let unfolded = null; // [ux, the request's key, title] of what the drawer shows or waits for
  let opener = null; // the element to give the focus back to
  let openedFor = null; // the ux `opener` opened
  let request = "";
  let awaited = null; // a number opened with `later`, until the next drawing
  const same = (key) => JSON.stringify(unfolded) === JSON.stringify(key);

  function open(ux, from = null, { focus = false, later = false } = {}) {
    [opener, openedFor] = [from, ux];
    awaited = later ? ux : null;
    store.set({ ux }); // heard below
    if (focus) view.focus();
  }

  function close() {
    store.set({ ux: "" });
    (opener?.isConnected ? opener : null)?.focus({ preventScroll: true });
  }

  // A floating drawer keeps clear of what it explains: on the left when that is on the right half of the screen.
  function clear(of) {
    if (!box.classList.contains("floating") || !of?.isConnected) return;
    const rect = of.getBoundingClientRect();
    box.classList.toggle("at-left", rect.left + rect.width / 2 > window.innerWidth / 2);
  }

  // Escape closes it wherever the focus is (but in a box, which keeps its own Escape).
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && store.state.ux && !event.target.closest?.("input, select, textarea")) close();
  });

  function mark(ux) { // the number shown in the drawer is marked everywhere it stands (its buttons on the page)
    for (const node of document.querySelectorAll(".unfolded")) node.classList.remove("unfolded");
    if (ux) for (const node of document.querySelectorAll(`button[data-ux="${CSS.escape(ux)}"]`)) node.classList.add("unfolded");
  }

  async function show(ux) {
    const wanted = parseUnfold(ux);
    const found = wanted && locate(wanted, ux);
    mark(found ? ux : "");
    if (!found && ux === awaited) return; // the drawing under way will show it
    if (!found) {
      unfolded = null;
      view.hide();
      if (ux) store.set({ ux: "" });
      return;
    }
    if (openedFor !== ux || !opener?.isConnected) [opener, openedFor] = [found.opener, ux]; // opened from a link
    found.reveal?.();
    clear(found.opener ?? opener);
    const key = [ux, request, found.title];
    if (same(key)) return;
    unfolded = key;
    view.wait(found.title);
    try {
      const answer = await explain(wanted.hook, wanted.index);
      if (!same(key)) return; // another number was asked for meanwhile
      view.show(found.title, found.shown, answer, extra?.(wanted, answer) ?? []);
      box.dataset.shown = ux;
    } catch (error) {
      if (same(key)) view.fail(found.title, error);
    }
  }
  store.subscribe((state) => show(state.ux), ["ux"]);

  return {
    open,
    close,
    refresh(key = "") {
      request = key;
      awaited = null;
      return show(store.state.ux);
    },
  };
}

// A shown number as a button that unfolds it: `title` names it in the drawer ("z1[0]"), `value` is the number itself.
export function numberButton(hook, index, value, title, text = fmt(value)) {
  return el("button", { type: "button", className: "num", title: `${title}: unfold`, dataset: { ux: unfoldKey(hook, index), uxTitle: title, uxValue: String(value) } }, text);
}

// Every number button under `root` opens its unfolding (Enter and Space press a button, views/stepper.js lets them).
export function numberButtonsIn(root, open) {
  root.addEventListener("click", (event) => {
    const button = event.target.closest?.("button[data-ux]");
    if (button) open(button.dataset.ux, button, { focus: event.detail === 0 }); // a key press (detail 0) moves the focus there
  });
}

// Where a number button is on screen, for `unfolder`'s locate.
export function buttonFor(ux) {
  const button = document.querySelector(`button[data-ux="${CSS.escape(ux)}"]`);
  return button && { title: button.dataset.uxTitle, shown: Number(button.dataset.uxValue), opener: button };
}

// A next-word chart's panels (views/next-token.js) and what each unfolds: a logit is the logits hook's entry (as
// `logit(id)` says where it is), the scaled logit and the probability are the next token's, output.scaled and
// output.probs. `barKey` is a bar's `ux`, `barTitle` its name in the drawer; `barOf` reads a `ux` back.
export const NEXT_TOKEN = { scaled: "output.scaled", probs: "output.probs" };
export const barKey = (logit) => (name, id) => (name === "logits" ? unfoldKey(...logit(id)) : unfoldKey(NEXT_TOKEN[name], [id]));
export const barTitle = (name, word) => ({ logits: `logit of '${word}'`, scaled: `logit of '${word}' ÷ T`, probs: `p('${word}')` })[name];
export function barOf({ hook, index }, logits, { vocab, output }) {
  const name = Object.keys(NEXT_TOKEN).find((n) => NEXT_TOKEN[n] === hook) ?? (hook === logits.hook ? "logits" : null);
  const id = name === "logits" ? logits.id(index) : index[0];
  if (!name || !(id >= 0 && id < vocab.length)) return null;
  const value = tokenValue(output, name, id);
  return value === undefined ? null : { name, title: barTitle(name, vocab[id]), shown: value };
}

// A next-word chart (a trace per panel, named logits, scaled or probs, each bar's token id in its customdata)
// unfolds a clicked bar; in the focused chart ← and → move to a bar (`lit(id, at)` shows which; `lit(null, -1)`
// unlights it when the focus leaves) and Enter unfolds its probability. `keyOf(panel name, token id)` is the bar's
// `ux` (null: that panel does not unfold). `cursor` ({at}: the bar the arrows reached) outlives the element when a
// page draws the chart in a new one; without it, each drawing (a new answer) starts again from no bar.
const wired = new WeakMap(); // chart → what its listeners call: a chart drawn again in the same element keeps them
export function unfoldBars(div, keyOf, open, { lit, cursor = { at: -1 } }) {
  const known = wired.has(div);
  wired.set(div, { keyOf, open, lit, cursor });
  if (cursor.at >= 0) lit(div.data[0].customdata[cursor.at], cursor.at);
  if (known) return;
  const now = () => wired.get(div);
  Object.assign(div, { tabIndex: 0 });
  div.setAttribute("role", "region");
  div.setAttribute("aria-label", "next-word chart: click a bar, or ← → to a word and Enter, to unfold its number");
  div.on("plotly_click", (event) => {
    const bar = event.points[0];
    const ux = now().keyOf(bar.data.name, bar.customdata);
    if (ux) now().open(ux, div);
  });
  div.addEventListener("blur", () => { if (div.isConnected) now().lit(null, -1); }); // (a chart drawn anew is gone)
  div.addEventListener("keydown", (event) => {
    const { cursor: at, keyOf: key, lit: light } = now();
    const order = div.data?.[0]?.customdata ?? [];
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (step) {
      event.preventDefault();
      at.at = Math.max(0, Math.min(order.length - 1, at.at + step));
      light(order[at.at], at.at);
    } else if (event.key === "Enter" && order.length) {
      event.preventDefault();
      now().open(key("probs", order[Math.max(0, at.at)]), div, { focus: true });
    }
  });
}

// A heatmap of learned numbers (a W, the table E) from the keyboard: focused, the arrow keys move a cell outlined
// in black (a shape of its own, so the page's own marks stay) and Enter unfolds it, as a click does. `keyOf(i, j)`
// is cell (i, j)'s `ux`; `label` names the plot for a screen reader.
export function unfoldCells(div, keyOf, open, label) {
  const cell = [0, 0];
  Object.assign(div, { tabIndex: 0 });
  div.setAttribute("role", "region");
  div.setAttribute("aria-label", `${label}: click a cell, or the arrow keys and Enter, to unfold it`);
  const outline = (on) => {
    const kept = (div.layout?.shapes ?? []).filter((shape) => shape.name !== "cursor");
    const [i, j] = cell;
    const shape = { type: "rect", name: "cursor", xref: "x", yref: "y", x0: j - 0.5, x1: j + 0.5, y0: i - 0.5, y1: i + 0.5,
      line: { color: "#000000", width: 3 }, fillcolor: "rgba(0,0,0,0)" };
    if (div.isConnected && div._fullLayout) Plotly.relayout(div, { shapes: on ? [...kept, shape] : kept });
  };
  div.on("plotly_click", (event) => open(keyOf(...event.points[0].pointIndex), div));
  div.addEventListener("focus", () => outline(true));
  div.addEventListener("blur", () => outline(false));
  div.addEventListener("keydown", (event) => {
    const move = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
    const z = div.data?.[0]?.z ?? [[]];
    if (move) {
      event.preventDefault();
      cell[0] = Math.max(0, Math.min(z.length - 1, cell[0] + move[0]));
      cell[1] = Math.max(0, Math.min(z[0].length - 1, cell[1] + move[1]));
      outline(true);
    } else if (event.key === "Enter") {
      event.preventDefault();
      open(keyOf(...cell), div, { focus: true });
    }
  });
}
