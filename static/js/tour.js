// The guided walk: stages from the page's captions file, each highlighting one element with a caption. The keys a
// presenter's clicker sends drive it: → / Space / PageDown next, ← / PageUp back, Home / End; pages add their own
// keys (a head, the temperature). The stage is kept in the query string (?stage=).
import { getJSON } from "./api.js";

const NEXT = new Set(["ArrowRight", " ", "PageDown"]);
const BACK = new Set(["ArrowLeft", "PageUp"]);

export async function startTour(captionsUrl, extraKeys = {}) {
  const { stages } = await getJSON(captionsUrl);
  const panel = document.getElementById("tour");
  const params = new URLSearchParams(window.location.search);
  let stage = Number(params.get("stage"));
  if (!Number.isInteger(stage) || stage < 0 || stage >= stages.length) stage = 0;

  function show() {
    const { target, what, formula, intuition } = stages[stage];
    for (const el of document.querySelectorAll(".tour-focus")) el.classList.remove("tour-focus");
    const el = document.getElementById(target);
    el?.classList.add("tour-focus");
    el?.scrollIntoView({ block: "center", behavior: "instant" });
    panel.hidden = false;
    panel.dataset.stage = String(stage);
    document.getElementById("tour-step").textContent = `${stage + 1} / ${stages.length}`;
    document.getElementById("tour-what").textContent = what;
    document.getElementById("tour-formula").textContent = formula;
    document.getElementById("tour-intuition").textContent = intuition;
    const url = new URL(window.location.href);
    url.searchParams.set("stage", String(stage));
    window.history.replaceState(null, "", url);
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
    let action = null;
    if (NEXT.has(event.key)) action = () => { stage = Math.min(stages.length - 1, stage + 1); show(); };
    else if (BACK.has(event.key)) action = () => { stage = Math.max(0, stage - 1); show(); };
    else if (event.key === "Home") action = () => { stage = 0; show(); };
    else if (event.key === "End") action = () => { stage = stages.length - 1; show(); };
    else if (extraKeys[event.key]) action = extraKeys[event.key];
    if (!action) return;
    event.preventDefault(); // Space and PageDown would scroll the page
    action();
  });
  show();
}
