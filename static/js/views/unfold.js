// The unfolding of one shown number: how the model computed it from the step before, term by term, as the server's
// /explain answers it (app/schemas.py: Unfolding). The browser computes nothing: it lays the answer out, a title
// naming the value and its shown number, the formula, a line per term (its two factors when it is a product), the
// "… n more" line, the sum, the scalars the formula used, the total (the shown number again) and the note.
//
// The open unfolding is the store's `ux`, "hook:i,j" (or "hook:head,i,j"): in the URL, so a shared link opens on the
// same number; views/panel.js sets it from a click or Enter on a cell and names what it is.
import { el } from "../core/dom.js";

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
  const text = tiny ? v.toExponential(1) : (Object.is(v, -0) ? 0 : v).toFixed(4);
  return text.replace("-", "−");
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

  function show(title, shown, answer) {
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
    open(parts);
  }

  function hide() {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.shown;
  }

  return { show, wait, fail, hide, focus: () => box.focus() }; // the drawer keeps it while its contents change
}
