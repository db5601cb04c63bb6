// The selection store: the one view state of a page ({stage, layer, head, text, t, …}). Every view and control
// subscribes to it and sets it; the URL mirrors it once it is drawn (core/page.js: a slider's every move would
// write the URL faster than browsers allow). Nothing keeps a private copy.
import { readState, writeState } from "./url.js";

// The page's store (a page builds one; the gallery none), for what works on any page: a class session's student
// follows the lecturer's view by applying it here (core/class.js). Its making is announced as `layerwalk:store`.
let current = null;
export const pageStore = () => current;

export class Store extends EventTarget {
  #state;

  // `defaults` names every key and its type (number or string); the URL's values replace them where valid.
  // `unshared` keys are a moment's gesture (the word pointed at), not part of a view worth sharing: the URL neither
  // holds nor sets them.
  constructor(defaults, checks = {}, { unshared = [] } = {}) {
    super();
    this.defaults = Object.freeze({ ...defaults });
    this.unshared = unshared;
    this.#state = Object.freeze({ ...defaults, ...readState(this.#shared(defaults)) });
    this.check(checks);
    current = this;
    window.dispatchEvent(new CustomEvent("layerwalk:store", { detail: this }));
  }

  get state() {
    return this.#state;
  }

  // Checks a value must pass (some are known only once the model's detail is in: the number of heads, say).
  // A value in the store that fails its check falls back to its default, alone; `defaults` known only then (the
  // vocabulary's first word) replace the ones given at first.
  check(checks, defaults = {}) {
    this.defaults = Object.freeze({ ...this.defaults, ...defaults });
    const fixed = {};
    for (const [key, ok] of Object.entries(checks)) if (!ok(this.#state[key])) fixed[key] = this.defaults[key];
    this.#state = Object.freeze({ ...this.#state, ...fixed });
  }

  // Writes a state (the one drawn, by default the store's) into the URL, so a reload or a shared link restores it.
  mirror(state = this.#state) {
    writeState(this.#shared(state));
  }

  // The view a query string names (another page's URL: a lecturer's), typed as a link is read: numbers stay numbers;
  // a shared key the query does not name takes its default, a key the store does not have is ignored.
  apply(search) {
    return this.set(readState(this.#shared(this.defaults), search));
  }

  // The keys a link holds (all but the unshared), with their values in `state`.
  #shared(state) {
    return Object.fromEntries(Object.entries(state).filter(([key]) => !this.unshared.includes(key)));
  }

  // Changes some keys; subscribers hear which changed. `quiet` changes are announced as {quiet: true}, so a
  // controller can tell a revert from a wish.
  set(change, { quiet = false } = {}) {
    const changed = new Set(Object.keys(change).filter((key) => !Object.is(this.#state[key], change[key])));
    if (!changed.size) return changed;
    this.#state = Object.freeze({ ...this.#state, ...change });
    this.dispatchEvent(new CustomEvent("change", { detail: { state: this.#state, changed, quiet } }));
    return changed;
  }

  // fn(state, changed, quiet) after every change to any of `keys` (all keys when none are given).
  subscribe(fn, keys = null) {
    const listener = ({ detail: { state, changed, quiet } }) => {
      if (keys === null || keys.some((key) => changed.has(key))) fn(state, changed, quiet);
    };
    this.addEventListener("change", listener);
    return () => this.removeEventListener("change", listener);
  }
}
