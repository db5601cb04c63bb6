// The one stepper: moves the store's `stage` through a page's stages. A presenter's clicker sends these keys:
// → / Space / PageDown next, ← / PageUp back, Home / End; a page adds its own (a digit picks a head, + and − step
// the temperature). Where a page has them, the previous and next buttons (the stage panel's, or the walk bar's:
// touch works too) and one button per stage drive it. With `panel`, every move brings that whole panel into view.
import { $, el } from "../core/dom.js";

const NEXT = new Set(["ArrowRight", " ", "PageDown"]);
const BACK = new Set(["ArrowLeft", "PageUp"]);
const ARROWS = new Set(["ArrowLeft", "ArrowRight"]);

// Keys a digit picks a head with: "0" … "n − 1".
export function digitKeys(n, pick) {
  return Object.fromEntries(Array.from({ length: Math.min(n, 10) }, (_, h) => [String(h), () => pick(h)]));
}

export function stepper(store, { count, labels = null, extraKeys = {}, panel = null }) {
  const go = (stage) => store.set({ stage: Math.max(0, Math.min(count - 1, stage)) });
  const keys = (key) => {
    if (NEXT.has(key)) return () => go(store.state.stage + 1);
    if (BACK.has(key)) return () => go(store.state.stage - 1);
    if (key === "Home") return () => go(0);
    if (key === "End") return () => go(count - 1);
    return extraKeys[key] ?? null;
  };
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
    if (ARROWS.has(event.key) && target.closest("[role=region][tabindex]")) return; // the arrows scroll a focused table
    if (event.key === " " && target.closest("button, a[href], summary")) return; // Space presses what has the focus
    const action = keys(event.key);
    if (!action) return;
    event.preventDefault(); // Space and PageDown would scroll the page
    action();
  });

  const list = $("stages");
  if (list && labels) {
    list.replaceChildren(...labels.map((label, i) => {
      const button = el("button", { type: "button", className: "stage", dataset: { stage: String(i) } }, `${i + 1} ${label}`);
      button.addEventListener("click", () => go(i));
      return button;
    }));
  }
  const buttons = ["prev", "next", "walk-prev", "walk-next"].map($).filter(Boolean);
  for (const button of buttons) button.addEventListener("click", () => go(store.state.stage + (button.id.endsWith("prev") ? -1 : 1)));

  function show({ stage }) {
    for (const button of list?.children ?? []) button.setAttribute("aria-pressed", String(Number(button.dataset.stage) === stage));
    for (const button of buttons) button.disabled = button.id.endsWith("prev") ? stage === 0 : stage === count - 1;
    if ($("stage-count")) $("stage-count").textContent = `${stage + 1} / ${count}`;
  }
  store.subscribe(show, ["stage"]);
  show(store.state);
  // The panel's top sits under the page's sticky bar (its height is --sticky, kept by stickyHeight below).
  if (panel) store.subscribe(() => $(panel).scrollIntoView({ block: "start", behavior: "instant" }), ["stage"]);
}

// Keeps the CSS variable --sticky equal to the height of the page's sticky bar (`.controls`), so a stage panel can be
// sized to the screen below it and scrolled to just under it.
export function stickyHeight() {
  const bar = document.querySelector(".controls");
  const set = () => document.documentElement.style.setProperty("--sticky", `${bar?.offsetHeight ?? 0}px`);
  if (bar) new ResizeObserver(set).observe(bar);
  set();
}
