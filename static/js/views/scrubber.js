// The training scrubber: every model trained here saved its weights at about 50 steps of its training (docs/api.md,
// Checkpoints), and this control picks one. It drives the store's `ck` alone: the epoch of a saved step, or FINAL (the
// final weights, the default). `ck` is a request key of every page's controller, so the URL holds it, a shared link
// or QR code opens on it, and the walk and presentation mode keep it; each page sends `checkpointBody(state)` with
// every request and draws what comes back. The slider runs over the saved steps by index (they are unevenly spaced:
// denser where the loss fell fastest); ▶ steps through them about three a second and stops at the final weights. A
// model with no trajectory (pretrained elsewhere) gets one line saying why, from its detail's `no_trajectory`.
import { el } from "../core/dom.js";
import { fmt } from "./plotly.js";

export const FINAL = -1; // the store's `ck` for the final weights (the request leaves `checkpoint` out)
const TICK_MS = 330;

// What a request says for the state's checkpoint: nothing for the final weights.
export const checkpointBody = (state) => (state.ck === FINAL ? {} : { checkpoint: state.ck });

// The check a link's `ck` must pass: a saved step other than the last (the last is the final weights: FINAL).
export function checkpointCheck(detail) {
  const saved = detail.checkpoints ?? [];
  return (v) => v === FINAL || (saved.includes(v) && v !== saved.at(-1));
}

// The detail URL at a checkpoint (the final weights: the detail itself).
export function detailAt(url, ck) {
  if (ck === FINAL) return url;
  const at = new URL(url, window.location.href);
  at.searchParams.set("checkpoint", String(ck));
  return at.href;
}

// A transformer page puts the control in its sticky bar (templates), so it stays in view as the walk goes from
// stage to stage. Where it would cost the stage below a row of its height (a phone; a screen under TALL px whose
// bar it would wrap onto a row of its own) it goes just below the bar instead, and back when the screen allows.
const NARROW = "(max-width: 700px)";
const TALL = 1000;
function keepInBar(box) {
  const bar = box.closest(".controls");
  if (!bar) return () => {};
  const next = box.nextSibling; // where it sits in the bar
  const first = bar.firstElementChild;
  const place = () => {
    if (box.parentElement !== bar) bar.insertBefore(box, next);
    const ownRow = box.offsetTop >= first.offsetTop + first.offsetHeight;
    if (window.matchMedia(NARROW).matches || (ownRow && window.innerHeight < TALL)) bar.after(box);
  };
  window.addEventListener("resize", place);
  return place;
}

// `box`: the element the control is drawn into (templates: partials.scrubber()). `onShow(epoch)`, when given, is
// called with the epoch shown (the last one for the final weights), e.g. to mark it on a loss curve.
export function scrubber(store, box, detail, { onShow = null } = {}) {
  const place = keepInBar(box);
  const saved = detail.checkpoints ?? [];
  if (!saved.length) {
    box.replaceChildren(el("p", { className: "no-trajectory" }, el("strong", {}, "No training to scrub: "), `${detail.no_trajectory ?? "this model has no saved training steps"}.`));
    box.dataset.checkpoints = "0";
    place();
    return { stop() {} };
  }
  const last = saved.length - 1;
  const losses = new Map((detail.training?.trajectory?.checkpoints ?? []).map((c) => [c.epoch, c.loss]));
  // A model trained on minibatches (the GPTs, the translator) measured each step's loss on that step's batch alone.
  const lossName = detail.training?.optimizer?.batch === "full" ? "loss" : "batch loss";
  const indexOf = (ck) => (ck === FINAL ? last : Math.max(0, saved.indexOf(ck)));
  const ckOf = (i) => (i >= last ? FINAL : saved[i]);

  const slider = el("input", { type: "range", id: "ck-slider", min: "0", max: String(last), step: "1", value: String(last) });
  slider.setAttribute("aria-describedby", "ck-label");
  const label = el("output", { id: "ck-label", className: "ck-label", htmlFor: "ck-slider" });
  const play = el("button", { type: "button", id: "ck-play", className: "ck-play" });
  box.replaceChildren(el("label", { htmlFor: "ck-slider", className: "control-label" }, "training"), play, slider, label);
  box.dataset.checkpoints = String(saved.length);

  slider.addEventListener("input", () => {
    stop();
    store.set({ ck: ckOf(Number(slider.value)) });
  });

  let timer = null;
  function stop() {
    clearInterval(timer);
    timer = null;
    showPlay();
  }
  function showPlay() {
    play.textContent = timer === null ? "▶ play" : "❚❚ pause";
    play.setAttribute("aria-label", timer === null ? "Play the training, checkpoint by checkpoint" : "Pause");
    play.setAttribute("aria-pressed", String(timer !== null));
  }
  play.addEventListener("click", () => {
    if (timer !== null) return stop();
    if (indexOf(store.state.ck) >= last) store.set({ ck: ckOf(0) }); // from the start again
    timer = setInterval(() => {
      const next = indexOf(store.state.ck) + 1;
      store.set({ ck: ckOf(next) });
      if (next >= last) stop();
    }, TICK_MS);
    showPlay();
  });

  function show({ ck }) {
    const i = indexOf(ck);
    const epoch = saved[i];
    slider.value = String(i);
    const loss = losses.get(epoch);
    const text = i >= last ? `final weights (epoch ${epoch})`
      : `epoch ${epoch} of ${saved[last]}${epoch === 0 ? " (as initialised)" : ""}${loss == null ? "" : ` · ${lossName} ${fmt(loss, 3)}`}`;
    const parts = text.split(" · "); // each part kept whole: a narrow screen breaks the label between them
    label.replaceChildren(...parts.map((part, k) => el("span", { className: "ck-part" }, k ? ` · ${part}` : part)));
    slider.setAttribute("aria-valuetext", text);
    box.dataset.ck = String(ck);
    onShow?.(epoch);
  }
  store.subscribe(show, ["ck"]);
  show(store.state);
  showPlay();
  place(); // drawn: whether it fits in the bar's row can be told now
  return { stop };
}
