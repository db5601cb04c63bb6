// The sampling controls (temperature, top-k, top-p, repetition penalty, seed), bound to the store's t, k, p, rp and
// seed; 0 means "off" for k, p and rp. The temperature slider is quadratic, so its low end (where T changes the
// distribution most) gets the fine steps: position s in 0…100 gives T = T_MAX · (s / 100)².
import { $ } from "../core/dom.js";

export const T_MAX = 5;
export const sliderToT = (s) => Math.round(T_MAX * (s / 100) ** 2 * 1e3) / 1e3; // to 3 decimals
export const tToSlider = (t) => Math.round(100 * Math.sqrt(Math.min(t, T_MAX) / T_MAX));

// What the request says for the store's settings.
export const sampling = (s) => ({ temperature: s.t, top_k: s.k || null, top_p: s.p || null, repetition_penalty: s.rp || null });

const CONTROLS = { k: "top-k", p: "top-p", rp: "penalty", seed: "seed" }; // store key → element id

// `limits`: the model's, from its detail (the largest top-k, penalty and seed the server takes).
export function samplingControls(store, limits) {
  const number = (id) => ($(id).value === "" ? 0 : Number($(id).value));
  const most = { "top-k": limits.top_k_max, penalty: limits.repetition_penalty_max, seed: limits.seed_max };
  for (const [id, max] of Object.entries(most)) if ($(id)?.type === "number") $(id).max = String(max);
  $("temperature").addEventListener("input", () => store.set({ t: sliderToT(Number($("temperature").value)) }));
  for (const [key, id] of Object.entries(CONTROLS)) {
    const control = $(id);
    if (!control || !(key in store.state)) continue;
    control.addEventListener("change", () => {
      const value = number(id);
      store.set({ [key]: key === "seed" ? Math.max(0, Math.trunc(value)) : value });
    });
  }

  function show(state) {
    $("temperature").value = String(tToSlider(state.t));
    $("temperature-value").textContent = `T = ${state.t.toFixed(3)}`;
    for (const [key, id] of Object.entries(CONTROLS)) {
      const control = $(id);
      if (!control || !(key in state)) continue;
      const off = control.tagName === "SELECT" ? "0" : ""; // a select lists "off" as 0; a box is left empty
      control.value = state[key] || key === "seed" ? String(state[key]) : off;
    }
  }
  store.subscribe(show, ["t", ...Object.keys(CONTROLS)]);
  show(store.state);

  // + and − step the temperature five notches of the slider (a clicker's extra keys).
  const step = (notches) => () => store.set({ t: sliderToT(Math.max(0, Math.min(100, tToSlider(store.state.t) + notches))) });
  return { "+": step(5), "=": step(5), "-": step(-5) };
}
