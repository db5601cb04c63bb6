// The one stepper: moves the store's `stage` through a page's stages. A presenter's clicker sends these keys:
// → / Space / PageDown next, ← / PageUp back, Home / End; a page adds its own (a digit picks a head, + and − step
// the temperature). Where a page has them, the previous and next buttons and one button per stage drive it too.
import { $, el } from "../core/dom.js";

const NEXT = new Set(["ArrowRight", " ", "PageDown"]);
const BACK = new Set(["ArrowLeft", "PageUp"]);
const ARROWS = new Set(["ArrowLeft", "ArrowRight"]);

// Keys a digit picks a head with: "0" … "n − 1".
export function digitKeys(n, pick) {
  return Object.fromEntries(Array.from({ length: Math.min(n, 10) }, (_, h) => [String(h), () => pick(h)]));
}

export function stepper(store, { count, labels = null, extraKeys = {} }) {
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
  $("prev")?.addEventListener("click", () => go(store.state.stage - 1));
  $("next")?.addEventListener("click", () => go(store.state.stage + 1));

  function show({ stage }) {
    for (const button of list?.children ?? []) button.setAttribute("aria-pressed", String(Number(button.dataset.stage) === stage));
    if ($("prev")) $("prev").disabled = stage === 0;
    if ($("next")) $("next").disabled = stage === count - 1;
  }
  store.subscribe(show, ["stage"]);
  show(store.state);
}
