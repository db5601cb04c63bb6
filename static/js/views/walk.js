// The guided walk: at each stage, its caption (what happens, the formula, one line of intuition) and, where the
// stage has a `target`, that element highlighted and brought into view. Captions come from the page's captions file
// (static/captions/<family>.json), which a lecturer can edit without touching code; the stepper moves the stage.
import { $ } from "../core/dom.js";

// `stages`: [{target?, what, formula, intuition}]. `into`: the id prefix of the caption's elements: "walk" (the
// bar at the foot of the page, with its step counter) or another page's own ("caption": #caption-what, …).
export function walk(store, stages, { into = "walk" } = {}) {
  const panel = $(into);

  function show({ stage }) {
    const { target = null, what = "", formula = "", intuition = "" } = stages[stage] ?? {};
    for (const focused of document.querySelectorAll(".walk-focus")) focused.classList.remove("walk-focus");
    const element = target && $(target);
    element?.classList.add("walk-focus");
    element?.scrollIntoView({ block: "center", behavior: "instant" });
    panel.hidden = false;
    panel.dataset.stage = String(stage);
    if ($(`${into}-step`)) $(`${into}-step`).textContent = `${stage + 1} / ${stages.length}`;
    $(`${into}-what`).textContent = what;
    $(`${into}-formula`).textContent = formula;
    $(`${into}-intuition`).textContent = intuition;
  }
  store.subscribe(show, ["stage"]);
  show(store.state);
}
