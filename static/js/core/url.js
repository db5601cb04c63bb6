// The view's state in the query string, so a reload or a shared link restores it. Every change to it is announced
// on window as `layerwalk:view` (a lecturer's page sends its view to the class: core/class.js).

export function readState(defaults, search = window.location.search) {
  const params = new URLSearchParams(search);
  const state = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const raw = params.get(key);
    if (raw === null) continue;
    if (typeof fallback === "number") {
      const value = Number(raw);
      if (raw.trim() !== "" && Number.isFinite(value)) state[key] = value;
    } else {
      state[key] = raw;
    }
  }
  return state;
}

export function writeState(state) {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(state)) params.set(key, String(value));
  const search = `?${params}`;
  if (search === window.location.search) return; // unchanged: browsers cap how often a page may rewrite its URL
  window.history.replaceState(null, "", `${window.location.pathname}${search}`);
  window.dispatchEvent(new CustomEvent("layerwalk:view")); // the view changed: a class session sends it (core/class.js)
}

// A link's numbers are checked before use: each key whose check fails falls back to its default alone.
export const within = (v, lo, hi) => Number.isFinite(v) && v >= lo && v <= hi;
export const whole = (v, lo, hi) => Number.isInteger(v) && within(v, lo, hi);
