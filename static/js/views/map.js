// The architecture map, drawn from the walk the API gives (each stage's group and hooks), not from a picture: the
// network's parts in order (input → block 0 → … → output; the translator's encoder and decoder as two lanes, with
// the decoder's blocks reading the encoder's output), and the stages of the part you are in, with "you are here"
// and the shape of the value each one passes on. A click, or Enter on a focused box, goes to that stage.
import { el } from "../core/dom.js";

// "decoder · block 0" → lane "decoder", part "block 0"; a group without a lane is in the one lane "".
const split = (group) => (group.includes(" · ") ? group.split(" · ") : ["", group]);

// A value's shape as the page counts it: 5×32, or 4×5×8 for four heads of 5×8 (its title says so in words).
export function shapeText(shape) {
  return shape.slice(1).join("×"); // the batch axis is always 1
}
const shapeWords = (shape, perHead) => (perHead ? `${shape[1]} heads of ${shape.slice(2).join(" × ")}` : shape.slice(1).join(" × "));

// `stages`: the detail's walk. `shapes`: hook → its shape, from the forward answer (a box shows what its stage
// passes on). Returns a function that redraws "you are here" for a stage.
export function architectureMap(nav, store, stages, { shapes = {} } = {}) {
  const go = (stage) => store.set({ stage });
  const result = (stage) => stage.hooks.at(-1) ?? stage.inputs.at(-1);
  const lanes = new Map(); // lane → [[part, first stage index, last stage index]]
  stages.forEach((stage, i) => {
    const [lane, part] = split(stage.group);
    if (!lanes.has(lane)) lanes.set(lane, []);
    const parts = lanes.get(lane);
    if (parts.at(-1)?.[0] === part) parts.at(-1)[2] = i;
    else parts.push([part, i, i]);
  });
  // A part that reads another lane's values (the decoder's blocks read the encoder's output in cross-attention).
  const reads = (first, last) => {
    const [lane] = split(stages[first].group);
    const other = stages.slice(first, last + 1).flatMap((s) => s.inputs).find((p) => lane && !p.hook.startsWith(`${lane}.`));
    return other ? other.hook.split(".")[0] : null;
  };

  const partButtons = [];
  const overview = el("div", { className: "map-parts" }, ...[...lanes].map(([lane, parts]) => el("ol", { className: "map-lane", ariaLabel: lane || "the network" },
    lane ? el("li", { className: "map-lane-name" }, lane) : "",
    ...parts.map(([part, first, last]) => {
      const shape = shapes[result(stages[last])?.hook];
      const button = el("button", { type: "button", className: "map-part", dataset: { first: String(first), last: String(last) } },
        part, reads(first, last) ? el("small", { className: "map-reads" }, ` ⇠ ${reads(first, last)}`) : "",
        shape ? el("small", { className: "map-shape" }, ` ${shapeText(shape)}`) : "");
      button.addEventListener("click", () => go(first));
      partButtons.push(button);
      return el("li", {}, button);
    }))));
  const detail = el("ol", { className: "map-stages" });
  nav.replaceChildren(overview, detail);

  let drawnPart = null;
  function show({ stage }) {
    for (const button of partButtons) {
      const here = stage >= Number(button.dataset.first) && stage <= Number(button.dataset.last);
      button.classList.toggle("here", here);
      if (here) button.setAttribute("aria-current", "location");
      else button.removeAttribute("aria-current");
    }
    const part = partButtons.find((b) => b.classList.contains("here"));
    const [first, last] = [Number(part.dataset.first), Number(part.dataset.last)];
    if (drawnPart !== part) {
      drawnPart = part;
      detail.setAttribute("aria-label", `Stages of ${stages[first].group}`);
      detail.replaceChildren(...stages.slice(first, last + 1).map((s, k) => {
        const i = first + k;
        const out = result(s);
        const shape = out && shapes[out.hook];
        const button = el("button", { type: "button", className: "map-stage", dataset: { stage: String(i) } }, s.label);
        button.addEventListener("click", () => go(i));
        const arrow = shape ? el("small", { className: "map-arrow", title: `${out.role || out.hook}: ${shapeWords(shape, out.per_head)}` }, `→ ${shapeText(shape)}`) : "";
        return el("li", {}, button, arrow);
      }));
    }
    for (const button of detail.querySelectorAll(".map-stage")) {
      const here = Number(button.dataset.stage) === stage;
      button.classList.toggle("here", here);
      if (here) {
        button.setAttribute("aria-current", "step");
        // The block's stages are one line that scrolls sideways (the map stays a few lines tall): "here" is centred.
        const [line, box] = [detail.getBoundingClientRect(), button.getBoundingClientRect()];
        detail.scrollLeft += box.left - line.left - (line.width - box.width) / 2;
      } else button.removeAttribute("aria-current");
    }
  }
  store.subscribe(show, ["stage"]);
  show(store.state);
  return show;
}
