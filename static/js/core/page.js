// The page controller, one for every page: it asks the API for what the store's state needs, draws it, and keeps
// the store, the URL and the screen in step.
//
// A page names the keys whose change needs new answers from the API (`requestKeys`: the text, the temperature…);
// any other key (the stage, the head…) is drawn from the answers on screen. Requests are coalesced: while one is on
// the wire, moves in between are skipped and the newest is served. A request the server refuses shows its message
// and puts the store back to what is on screen. body[data-rendered] says which state is drawn (tests and the
// performance marks wait for it).
import { coalesced } from "./api.js";
import { clearError, offerJSON, showError } from "./dom.js";

export class PageController {
  #results = null; // the API's answers for the state on screen
  #shown = null; // the state on screen
  #early = null; // [request key, promise]: the first answers, asked for before the page is ready to draw
  #reverting = false;
  #running = Promise.resolve();
  #latest = null; // the request key of the newest state asked for
  #drawing = Promise.resolve(); // drawings run one at a time, in the order asked for

  // load(state) → Promise of the answers; draw(results, state) draws them; summary(state) → what body[data-rendered]
  // says; download(results, state) → [data, filename] for "download JSON", or [data, filename, whole] where whole()
  // asks for the complete answer when the link is used (core/dom.js). `lightKeys` (what hover and focus light) are drawn by the views that subscribe to them, many times a second: they only reach the URL, a moment later.
  constructor({ store, requestKeys, load, draw, summary, download, lightKeys = [] }) {
    Object.assign(this, { store, requestKeys, load, draw, summary, download, lightKeys });
    this.fetchAndDraw = coalesced((state) => this.#fetchAndDraw(state));
  }

  get results() {
    return this.#results;
  }

  #key(state) {
    return JSON.stringify(this.requestKeys.map((key) => state[key]));
  }

  // Sends the first requests now, while the rest of the page (the detail, Plotly) is still on its way.
  prefetch() {
    const state = this.store.state;
    this.#early = [this.#key(state), this.load(state)];
    this.#early[1].catch(() => {}); // shown where it is awaited, in start()
  }

  // The first view: the store's state, or the defaults if the server refuses it (a bad link: its message is shown).
  async start() {
    let results;
    const early = this.#early?.[0] === this.#key(this.store.state) ? this.#early[1] : null;
    try {
      results = await (early ?? this.load(this.store.state));
    } catch (error) {
      showError(error);
      this.store.set(this.store.defaults, { quiet: true });
      results = await this.load(this.store.state);
    }
    this.#results = results;
    this.store.subscribe((state, changed, quiet) => this.#changed(state, changed, quiet)); // a drawing may set it too
    await this.#show(this.store.state);
  }

  // Changes the store and resolves once the answers for it are drawn (or refused).
  async update(change) {
    this.store.set(change);
    await this.#running;
  }

  #changed(state, changed, quiet) {
    if (this.#reverting) return;
    if ([...changed].every((key) => this.lightKeys.includes(key))) {
      clearTimeout(this.#lit);
      this.#lit = setTimeout(() => this.store.mirror({ ...this.#shown, ...this.#light(this.store.state) }), 300);
      return;
    }
    if (!quiet && this.requestKeys.some((key) => changed.has(key))) {
      this.#latest = this.#key(state);
      this.#running = this.fetchAndDraw(state);
    } else {
      this.#show({ ...state, ...this.#requested(this.#shown) });
    }
  }

  #lit = null; // the timer that writes the lit keys into the URL

  #light(state) {
    return Object.fromEntries(this.lightKeys.map((key) => [key, state[key]]));
  }

  #requested(state) {
    return Object.fromEntries(this.requestKeys.map((key) => [key, state[key]]));
  }

  async #fetchAndDraw(state) {
    try {
      const results = await this.load(state);
      this.#results = results;
      clearError();
      await this.#show({ ...this.store.state, ...this.#requested(state) });
    } catch (error) {
      showError(error);
      if (this.#key(state) !== this.#latest) return; // a newer wish is on its way: it decides what is shown
      this.#reverting = true; // back to what is on screen: its answers are there already
      this.store.set(this.#requested(this.#shown));
      this.#reverting = false;
    }
  }

  // Draws `state` with the answers on screen, after any drawing still under way: the last one asked for is the one
  // the page, the URL and body[data-rendered] end on.
  #show(state) {
    this.#shown = state;
    const results = this.#results;
    this.#drawing = this.#drawing.catch(() => {}).then(async () => { // a failed drawing was reported where awaited
      this.store.mirror(state);
      await this.draw(results, state);
      const [data, filename, whole = null] = this.download(results, state);
      offerJSON(data, filename, whole);
      document.body.dataset.rendered = JSON.stringify(this.summary(state));
    });
    return this.#drawing;
  }
}
