// One stage of a transformer's walk as one panel that fits the screen: its inputs, the operation, its result
// (Q | Kᵀ → scores; x + attention out → x′; …), drawn from the forward answer's steps. A stage is the detail's
// {label, group, inputs, op, hooks, view} (app/presenters/stages.py); each value is a Panel {hook, rows, columns,
// x_title, y_title, per_head, concat_heads, probabilities, role}.
//
// Linked highlighting: the store's `qi` (a query position, or the position of a row) and `kj` (a key position)
// light the cell of every score and pattern matrix, row qi of every matrix of positions and row kj of K and V.
// Hover sets them, and so do the arrow keys in a focused matrix; #cell-readout says the values in words. The first
// drawing also draws the architecture map (#map, views/map.js) with the answer's tensor shapes.
//
// A click on a cell, or Enter in a focused matrix (its lit cell), unfolds that number (views/unfold.js): the store's
// `ux` names it by hook and index (the index as the step's shape has it: [head, i, j] for a per-head value), and
// `explain(hook, index)` asks the server for its computation, drawn in #unfold beside the plots.
/* global Plotly */
import { postJSON } from "../core/api.js";
import { $, el } from "../core/dom.js";
import { headView } from "./headview.js";
import { architectureMap } from "./map.js";
import { heatmap, heatmapMinWidth, highlight } from "./heatmap.js";
import { nextToken } from "./next-token.js";
import { fmt } from "./plotly.js";
import { barKey, barOf, unfoldBars, unfoldKey, unfolder } from "./unfold.js";
import { barColumn, lightShapes } from "./linked.js";

// Each stage's steps, asked for as the walk reaches it: a forward answer of a real model holds megabytes, so a
// request names the hooks the stage shows (its inputs and results) that are not held yet, and the steps held for
// the same pass (`passKey`: what the model reads, not the sampling dials) are kept and given back with every answer.
// A large step (12 heads of 64 × 64 scores, 64 × 1,536 feed-forward values) is asked for in parts (`heads`,
// `positions`), each answer a few hundred KB at most, and put back together here. The server keeps the pass, so a new
// stage of the same text runs nothing again. `walk`: the detail's stages, or a promise of them: the first stage's
// steps are asked for before the detail is in (the server's default answer is what the walk's first stage shows).
// Returns load(body, stage, passKey) → the forward answer with every step held so far, and all(body) → every step.
const PART = 24000; // numbers per answer: about 200 KB of JSON at 4 decimals

function parts(hooks, shapes) {
  const asked = [];
  let small = [];
  let sum = 0;
  for (const hook of hooks) {
    const shape = shapes[hook];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n <= PART) {
      if (sum + n > PART && small.length) [asked.push({ hooks: small }), (small = []), (sum = 0)];
      small.push(hook);
      sum += n;
      continue;
    }
    const field = shape.length === 3 ? "heads" : "positions"; // a head axis first, else the positions
    const step = Math.max(1, Math.floor(PART / (n / shape[0])));
    for (let i = 0; i < shape[0]; i += step) asked.push({ hooks: [hook], [field]: [i, Math.min(i + step, shape[0])] });
  }
  if (small.length || !asked.length) asked.push({ hooks: small });
  return asked;
}

export function stagesOnDemand(url, walk) {
  let stages = null;
  Promise.resolve(walk).then((found) => { stages = found; }, () => {});
  let held = { key: null, steps: new Map(), changed: new Map(), shapes: null }; // changed: what-if's steps
  let last = null; // [body, answer] of the last request
  const hooksOf = (stage) => [...new Set([...stage.inputs, ...stage.hooks].map((p) => p.hook))];
  async function load(body, stage, passKey) {
    if (stages === null && stage !== 0) stages = await walk;
    const key = JSON.stringify(passKey);
    if (held.key !== key) held = { key, steps: new Map(), changed: new Map(), shapes: null };
    const mine = held;
    const asked = JSON.stringify(body);
    let answer;
    if (stages === null) answer = await postJSON(url, body); // the first stage's, before the detail is in
    else {
      const wanted = hooksOf(stages[stage]).filter((hook) => !mine.steps.has(hook));
      if (!wanted.length && last?.[0] === asked) answer = last[1];
      else {
        mine.shapes ??= (await postJSON(url, { ...body, hooks: [] })).shapes; // the sizes, to cut large steps
        const answers = await Promise.all(parts(wanted, mine.shapes).map((cut) => postJSON(url, { ...body, ...cut })));
        const joined = (stepsOf) => {
          const pieces = new Map();
          for (const step of answers.flatMap(stepsOf)) pieces.set(step.name, [...(pieces.get(step.name) ?? []), step]);
          return [...pieces.values()].map((cut) => (cut.length === 1 ? cut[0]
            : { ...cut[0], shape: mine.shapes[cut[0].name], data: cut.flatMap((piece) => piece.data) }));
        };
        const whatIf = answers[0].what_if && { ...answers[0].what_if, steps: joined((a) => a.what_if.steps) };
        answer = { ...answers[0], steps: joined((a) => a.steps), what_if: whatIf };
      }
    }
    last = [asked, answer];
    mine.shapes ??= answer.shapes;
    for (const step of answer.steps) mine.steps.set(step.name, step);
    for (const step of answer.what_if?.steps ?? []) mine.changed.set(step.name, step);
    const whatIf = answer.what_if && { ...answer.what_if, steps: [...mine.changed.values()] };
    return { ...answer, steps: [...mine.steps.values()], what_if: whatIf };
  }
  return { load, all: (body) => postJSON(url, { ...body, hooks: "all" }) };
}

export const positions = (tokens) => tokens.map((t, i) => `${i} ${t}`); // positions keep repeated words apart
const square = (p) => p.columns === "tokens" || p.columns === "target";
const keyed = (p) => p.role === "K" || p.role === "V"; // rows that count key positions

// A value as the rows of a matrix: one head's, the heads side by side, or the value itself.
function matrix(data, p, head) {
  if (p.concat_heads) return data[0].map((_, i) => data.flatMap((h) => h[i]));
  const values = p.per_head ? data[head] : data;
  return Array.isArray(values[0]) ? values : [values];
}

// `labels(axis, result, asKeys)` names the rows or columns of an axis ("tokens", "target", "vocab"), as keys (a column
// of scores, a row of K or V) or not, so a page can name its rows its own way (the translator's queries `le → chat`,
// the word read and the word predicted; its keys `le`).
// A stage's result as a what-if answer changed it: the changed steps (`after`) and changed − unchanged (`gap`; null
// where either is masked). Null when the answer has no what-if or lacks a step the stage shows.
function whatIfOf(result, stage) {
  const w = result.what_if;
  if (!w) return null;
  const changedSteps = stage.hooks.map((p) => w.steps.find((s) => s.name === p.hook));
  if (changedSteps.some((s) => !s)) return null;
  const minus = (a, b) => (Array.isArray(a) ? a.map((v, i) => minus(v, b[i])) : a === null || b === null ? null : a - b);
  const gaps = changedSteps.map((s) => ({ ...s, data: minus(s.data, result.steps.find((u) => u.name === s.name).data) }));
  const still = gaps.every((s) => [s.data].flat(Infinity).every((v) => v === null || v === 0));
  const title = still ? "changed − unchanged: 0 everywhere" : "changed − unchanged";
  return { after: { ...result, steps: changedSteps }, gap: { ...result, steps: gaps }, title };
}
const roleOf = (p, head) => (p.per_head ? `${p.role}, head ${head}` : p.role);

export function stagePanel(store, { stages, heads, labels, explain }) {
  const box = $("stage-plots");
  let shown = []; // [{div, panel, z, rows, cols}] of the panel on screen
  let unsubscribeLines = null; // the head view's lines follow the store while it is shown
  let previousRows = null; // the row labels of the plot placed last, left of the next one
  const sameRows = (a, b) => a !== null && a.length === b.length && a.every((label, i) => label === b[i]);

  const axisLabels = (axis, result, n, asKeys = false) => (axis === "index" ? Array.from({ length: n }, (_, d) => String(d)) : labels(axis, result, asKeys));

  // Places a value's plot in `into` and returns a function that draws it: every plot of a panel is placed before
  // any is drawn, since Plotly takes the width its box has when it draws.
  function plot(into, result, p, head, { rowsOfPlots = 1, small = false, title = null, still = false } = {}) {
    const step = result.steps.find((s) => s.name === p.hook);
    const z = matrix(step.data, p, head);
    const rows = p.rows === "index" ? z.map((_, i) => String(i)) : axisLabels(p.rows, result, z.length, keyed(p));
    // A wide vocabulary comes as its likeliest tokens: `step.columns` names the ids of the columns sent.
    const named = axisLabels(p.columns, result, step.columns ? Math.max(...step.columns) + 1 : z[0].length, true);
    const cols = step.columns ? step.columns.map((id) => named[id]) : named;
    const xTitle = step.columns ? `${p.x_title}: the ${cols.length} likeliest of ${named.length.toLocaleString("en")}` : p.x_title || null;
    const name = p.per_head ? `${p.role}, head ${head}` : p.role;
    const div = el("div", { className: small ? "plot heat small" : "plot heat", tabIndex: 0, role: "region",
      ariaLabel: `${title ?? name} (${step.title}): arrow keys move between cells`, dataset: { hook: p.hook, role: p.role, head: p.per_head ? String(head) : "" } });
    // A plot beside one with the same rows leaves them unlabelled: the rows are named once, at the left of a run.
    const rowLabels = small || !sameRows(previousRows, rows);
    const yTitle = rowLabels && !small ? p.y_title : null;
    previousRows = rows;
    // A small plot (one head of the all-heads grid) numbers its rows and columns; the head view beside it names the
    // words, and the readout names the lit cell's.
    const [yShown, xShown] = small ? [rows.map((_, i) => String(i)), cols.map((_, j) => String(j))] : [rows, cols];
    const least = heatmapMinWidth({ y: yShown, columns: cols.length, yTitle, rowLabels });
    div.style.flexGrow = String(weight(z[0].length, p));
    div.style.minWidth = `${least}px`;
    into.append(div);
    const entry = { div, panel: p, z, rows, cols, name: title ?? name, rowsOfPlots, least, head, shape: step.shape, label: name, columns: step.columns ?? null };
    shown.push(entry);
    if (still) entry.still = true; // a what-if's changed value or difference: shown, not unfolded (it is no W·a + b)
    div.addEventListener("keydown", (event) => moved(entry, event));
    div.addEventListener("focus", () => { if (store.state.qi < 0) store.set(square(p) ? { qi: 0, kj: 0 } : keyed(p) ? { qi: -1, kj: 0 } : { qi: 0, kj: -1 }); else light(store.state); });
    div.addEventListener("blur", () => light(store.state)); // the keyboard's entry is outlined only in the focused matrix
    return async () => {
      await heatmap(div, { z, x: xShown, y: yShown, title: title ?? name, xTitle: small ? null : xTitle, yTitle,
        scaleTitle: small ? "" : p.probabilities ? "p" : p.role, rowLabels, height: room(rowsOfPlots), // (a grid's: its title says it)
        sequential: p.probabilities, annotate: !small && (square(p) || z[0].length === 1) && z.length <= 8 });
      div.on("plotly_hover", (event) => hovered(entry, event));
      if (!still) div.on("plotly_click", (event) => unfold(entry, ...event.points[0].pointIndex));
    };
  }

  let column = 0; // in a focused matrix that is not a square of scores, the column ← and → reached
  let hoveredAt = null; // the time stamp of the mouse move that lit what is lit, for the bench's measure

  function hovered(entry, event) {
    hoveredAt = event.event?.timeStamp ?? null;
    const [i, j] = event.points[0].pointIndex;
    if (square(entry.panel)) store.set({ qi: i, kj: j });
    else if (keyed(entry.panel)) store.set({ qi: -1, kj: i });
    else store.set({ qi: i, kj: -1 });
  }

  function moved(entry, event) {
    const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
    if (event.key === "Escape") return store.state.ux ? closeUnfolding() : store.set({ qi: -1, kj: -1 });
    if (event.key === "Enter" && !entry.still) {
      event.preventDefault();
      const { qi, kj } = store.state;
      const [i, j] = square(entry.panel) ? [qi, kj] : keyed(entry.panel) ? [kj, column] : [qi, column];
      return unfold(entry, Math.max(0, i), Math.min(Math.max(0, j), entry.cols.length - 1), { focus: true });
    }
    if (!step) return;
    event.preventDefault();
    const { qi, kj } = store.state;
    const clamp = (v, n) => Math.max(0, Math.min(n - 1, v));
    if (!square(entry.panel) && step[1]) { // ← → move along the lit row: the entry Enter unfolds
      column = clamp(column + step[1], entry.cols.length);
      return light(store.state);
    }
    if (square(entry.panel)) store.set({ qi: clamp(Math.max(qi, 0) + step[0], entry.rows.length), kj: clamp(Math.max(kj, 0) + step[1], entry.cols.length) });
    else if (keyed(entry.panel)) store.set({ kj: clamp(Math.max(kj, 0) + step[0], entry.rows.length) });
    else store.set({ qi: clamp(Math.max(qi, 0) + step[0], entry.rows.length) });
  }

  // Lights what (qi, kj) names in every matrix of the panel, and says it in words.
  function light({ qi, kj }) {
    const said = [];
    const lit = [];
    for (const { div, panel: p, z, rows, cols, name } of shown) {
      if (square(p)) {
        const cell = qi >= 0 && kj >= 0 && qi < z.length && kj < z[0].length;
        lit.push(highlight(div, { rows: qi >= 0 && kj < 0 ? [qi] : [], cols: kj >= 0 && qi < 0 ? [kj] : [], cells: cell ? [[qi, kj]] : [] }));
        if (cell) {
          const v = z[qi][kj];
          said.push(v === null ? `${name} [${rows[qi]}, ${cols[kj]}]: masked — key ${kj} comes after query ${qi}, and a word may not look ahead`
            : `${name} [${rows[qi]}, ${cols[kj]}] = ${fmt(v)}`);
        }
      } else {
        const row = keyed(p) ? kj : qi;
        const inRow = row >= 0 && row < z.length;
        const cursor = inRow && div === document.activeElement ? [[row, Math.min(column, z[0].length - 1)]] : []; // the keyboard's entry
        lit.push(highlight(div, { rows: inRow ? [row] : [], cells: cursor }));
        if (cursor.length) said.push(`${name} [${rows[row]}, ${cols[cursor[0][1]]}] = ${fmt(z[row][cursor[0][1]])} (Enter unfolds it)`);
        if (row >= 0 && row < z.length && said.length < 4) said.push(`${name} row ${rows[row]}: ${z[row].length} values, ${z[row].slice(0, 3).map((v) => fmt(v, 3)).join(", ")}${z[row].length > 3 ? ", …" : ""}`);
      }
    }
    $("cell-readout").textContent = said.length ? said.join(" · ") : "Hover or focus a cell (then use the arrow keys): the rows that made it light up.";
    const start = hoveredAt;
    hoveredAt = null;
    // layerwalk:hover-to-lit (static/js/core/perf.js): from the mouse move to the frame that shows what it lit.
    if (start !== null) Promise.all(lit).then(() => requestAnimationFrame(() => performance.measure("layerwalk:hover-to-lit", { start, end: performance.now() })));
  }

  // ---- unfolding a number: the index as the step's shape has it, and back to the cell it names ------------------
  function indexOf(entry, i, j) {
    const { panel: p, shape, head, columns } = entry;
    if (p.concat_heads) {
      const d = shape.at(-1);
      return [Math.floor(j / d), i, j % d];
    }
    if (columns) j = columns[j]; // a vocabulary's id, not the column's place among those sent
    const cell = shape.length - (p.per_head ? 1 : 0) === 1 ? [j] : [i, j]; // a vector is shown as one row
    return p.per_head ? [head, ...cell] : cell;
  }

  // The entry on screen showing `hook` at `index`, and the cell [i, j] it is in.
  function cellOf({ hook, index }) {
    for (const entry of shown) {
      const { panel: p, z } = entry;
      if (entry.still || p.hook !== hook || index.length !== entry.shape.length) continue;
      let i;
      let j;
      if (p.concat_heads) [i, j] = [index[1], index[0] * entry.shape.at(-1) + index[2]];
      else {
        const cell = p.per_head ? index.slice(1) : index;
        if (p.per_head && index[0] !== entry.head) continue;
        [i, j] = cell.length === 1 ? [0, cell[0]] : cell;
        if (entry.columns) j = entry.columns.indexOf(j);
      }
      if (i >= 0 && i < z.length && j >= 0 && j < z[0].length) return { entry, i, j };
    }
    return null;
  }

  // A panel too wide for the room the drawer leaves scrolls sideways: to the matrix the drawer explains.
  function reveal(div) {
    const [outer, inner] = [box.getBoundingClientRect(), div.getBoundingClientRect()];
    if (inner.right > outer.right) box.scrollLeft += Math.min(inner.right - outer.right, inner.left - outer.left);
    else if (inner.left < outer.left) box.scrollLeft -= outer.left - inner.left;
  }

  // The next word's chart, when the stage shows it: its bars unfold (a logit as the last row of the logits, a
  // scaled logit and a probability as output.scaled and output.probs).
  let bars = null; // {div, output, vocab, logits: {hook, id(index)}} of the chart on screen
  const barCursor = { output: null, at: -1 }; // the bar the arrow keys reached, kept when the chart is drawn again
  // The logits of the next token are the last row of the logits hook: [last, id].
  const lastRow = (hook, result) => {
    const last = (result.shapes?.[hook] ?? result.steps.find((s) => s.name === hook).shape)[0] - 1; // a stage's answer holds every shape
    return { hook, at: (id) => [hook, [last, id]], id: (index) => (index[0] === last ? index[1] : -1) };
  };
  const lightBar = (div) => (_, at) => lightShapes(div, at < 0 ? [] : div.data.map((trace) => barColumn(trace, at)));

  const drawer = unfolder(store, $("unfold"), {
    explain,
    locate(wanted) {
      const found = cellOf(wanted);
      if (!found) {
        const bar = bars && barOf(wanted, bars.logits, bars);
        return bar && { ...bar, opener: bars.div };
      }
      const { entry, i, j } = found;
      return { title: title(entry, i, j), shown: entry.z[i][j], opener: entry.div, reveal: () => reveal(entry.div) };
    },
  });
  const closeUnfolding = () => drawer.close();

  function unfold(entry, i, j, { focus = false } = {}) {
    drawer.open(unfoldKey(entry.panel.hook, indexOf(entry, i, j)), entry.div, { focus });
  }

  function title(entry, i, j) {
    const { panel: p, rows, cols, shape } = entry;
    if (p.concat_heads) return `${p.role.split(",")[0]}, head ${Math.floor(j / shape.at(-1))} [${rows[i]}, ${j % shape.at(-1)}]`;
    return `${entry.label} [${entry.z.length === 1 && shape.length === 1 ? cols[j] : `${rows[i]}, ${cols[j]}`}]`;
  }

  // A plot's share of the panel's width: a μ column narrow, a square of scores square-ish, a wide matrix wide.
  const weight = (columns, p) => (square(p) ? 1.2 : Math.min(2.5, Math.max(0.4, columns / 12)));
  const columnsOf = (result, p) => {
    const shape = result.steps.find((s) => s.name === p.hook).shape;
    return p.concat_heads ? shape[1] * shape.at(-1) : shape.at(-1);
  };
  const share = (result, panels) => String(panels.reduce((sum, p) => sum + weight(columnsOf(result, p), p), 0));

  // The height each plot may take so that the whole panel fits the screen.
  const room = (rowsOfPlots = 1) => Math.max(140, Math.floor(box.clientHeight / rowsOfPlots) - 8);

  let mapped = false; // the architecture map is drawn once, with the first answer's tensor shapes on its arrows

  let last = null; // what was drawn last, to draw again at a new width

  async function draw(result, index, head, { output = null, vocab = [], temperature = null, request = "" } = {}) {
    if (last?.[1] !== index) column = 0; // another stage: its matrices start at their first column
    last = [result, index, head, { output, vocab, temperature, request }];
    fitted = [box.clientWidth, box.clientHeight]; // drawn for this size: the drawer opening or closing next is a new one
    if (!mapped) architectureMap($("map"), store, stages, { shapes: result.shapes ?? Object.fromEntries(result.steps.map((s) => [s.name, s.shape])) });
    mapped = true;
    const stage = stages[index];
    // The matrix in focus keeps it when the panel is drawn again (at a new width: the unfolding opened or closed).
    const focused = shown.find((entry) => entry.div === document.activeElement);
    const chartFocused = document.activeElement?.id === "panel-next"; // so does the next word's chart
    const same = (entry) => focused && entry.panel.hook === focused.panel.hook && entry.head === focused.head && entry.label === focused.label;
    shown = []; // first: the focused matrix's blur, as it leaves, lights what is on screen, which is nothing yet
    bars = null;
    for (const div of box.querySelectorAll(".js-plotly-plot")) Plotly.purge(div);
    box.replaceChildren();
    previousRows = null;
    unsubscribeLines?.();
    unsubscribeLines = null;
    const drawing = [];
    if (stage.view === "next") {
      const div = el("div", { className: "plot next", id: "panel-next" });
      box.append(div);
      if (barCursor.output !== output) Object.assign(barCursor, { output, at: -1 }); // a new answer starts unlit
      bars = { div, output, vocab, logits: lastRow(stage.inputs[0].hook, result) };
      drawing.push(async () => {
        const after = result.what_if?.output; // what if: the next word as the changes made it
        await nextToken(div, after ?? output, vocab, { order: "logit", temperature, height: room(), before: after ? output : null });
        if (!after) unfoldBars(div, barKey(bars.logits.at), drawer.open, { lit: lightBar(div), cursor: barCursor });
      });
    } else if (stage.view === "heads") {
      const p = stage.hooks[0];
      const grid = el("div", { className: "all-heads" });
      const lines = el("div", { className: "head-view-wrap" });
      box.append(grid, lines);
      // A square-ish grid: 2 × 2 for 4 heads, 4 × 3 for MiniLM's 12, every head on the screen at once; a phone's
      // two columns scroll down.
      const side = box.clientWidth < 700 ? Math.min(2, heads) : Math.ceil(Math.sqrt(heads));
      grid.style.gridTemplateColumns = `repeat(${side}, minmax(0, 1fr))`;
      const rows = Math.ceil(heads / side);
      const changed = whatIfOf(result, stage); // what if: every head as the changes made it
      const shownResult = changed ? changed.after : result;
      for (let h = 0; h < heads; h++) drawing.push(plot(grid, shownResult, p, h, { rowsOfPlots: rows, small: true, title: changed ? `head ${h}, changed` : `head ${h}`, still: Boolean(changed) }));
      const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
      grid.style.minWidth = `${Math.max(...shown.map((entry) => entry.least)) * side + gap * (side - 1)}px`;
      const step = shownResult.steps.find((s) => s.name === p.hook);
      const showLines = headView(lines, store, { pattern: step.data[head], queries: labels(p.rows, result, false), keys: labels(p.columns, result, true), title: `Head ${head}` });
      unsubscribeLines = store.subscribe(showLines, ["qi", "kj"]);
    } else {
      const inputs = el("div", { className: "panel-side panel-inputs" });
      const results = el("div", { className: "panel-side panel-result" });
      const op = el("div", { className: "panel-op", ariaHidden: "true" }, el("span", { className: "op-arrow" }, "→"), el("span", {}, stage.op));
      const changed = whatIfOf(result, stage);
      const wide = changed && stage.hooks.some((p) => columnsOf(result, p) > 48); // d_model wide: one under another
      if (wide) { // the changed value over its difference (the unchanged one is this stage without the changes)
        const rowsOfPlots = 2 * stage.hooks.length;
        results.classList.add("stacked");
        box.append(results);
        for (const p of stage.hooks) {
          drawing.push(plot(results, changed.after, p, head, { rowsOfPlots, title: `${roleOf(p, head)}, changed`, still: true }));
          drawing.push(plot(results, changed.gap, { ...p, probabilities: false }, head, { rowsOfPlots, title: changed.title, still: true }));
        }
      } else if (changed) { // what if: the result as it was → as the changes made it, and their difference
        op.lastChild.textContent = "what if";
        box.append(inputs, op, results);
        for (const p of stage.hooks) drawing.push(plot(inputs, result, p, head, { title: `${roleOf(p, head)}, unchanged` }));
        for (const p of stage.hooks) drawing.push(plot(results, changed.after, p, head, { title: `${roleOf(p, head)}, changed`, still: true }));
        for (const p of stage.hooks) drawing.push(plot(results, changed.gap, { ...p, probabilities: false }, head, { title: changed.title, still: true }));
      } else {
        box.append(...(stage.inputs.length ? [inputs, op] : [el("div", { className: "panel-op" }, el("span", {}, stage.op))]), results);
        for (const p of stage.inputs) drawing.push(plot(inputs, result, p, head));
        for (const p of stage.hooks) drawing.push(plot(results, result, p, head));
      }
      // Each side takes its share of the width, and never less than its plots need to show every label whole (a
      // screen too narrow for that scrolls the panel sideways): set before drawing, as Plotly takes the width it has.
      const sides = wide ? [] : changed ? [[inputs, stage.hooks], [results, [...stage.hooks, ...stage.hooks]]] : [[inputs, stage.inputs], [results, stage.hooks]];
      for (const [side, panels] of sides) {
        const gaps = (parseFloat(getComputedStyle(side).columnGap) || 0) * Math.max(0, panels.length - 1);
        side.style.flexGrow = share(result, panels);
        side.style.minWidth = `${shown.filter((entry) => entry.div.parentElement === side).reduce((sum, entry) => sum + entry.least, gaps)}px`;
      }
    }
    await Promise.all(drawing.map((drawIt) => drawIt()));
    light(store.state);
    shown.find(same)?.div.focus({ preventScroll: true });
    if (chartFocused) $("panel-next")?.focus({ preventScroll: true });
    drawer.refresh(request);
  }

  store.subscribe(light, ["qi", "kj"]);
  // The panel's height follows the screen and what is above the plots (a caption of one line or three): the plots
  // follow it, so the whole panel always fits.
  // A new width (a window resized, a phone turned) lays the panel out again, since how the plots share the width
  // (side by side or not, numbers on the cells or not) was decided for the old one; a new height refits the plots.
  let fitted = [0, 0];
  let redraw = null;
  new ResizeObserver(() => {
    const [width, height] = [box.clientWidth, box.clientHeight];
    if (width === fitted[0] && height === fitted[1]) return;
    const wider = width !== fitted[0] && fitted[0] !== 0;
    fitted = [width, height];
    if (last && (wider || stages[last[1]].view === "next")) { // the next word's chart is fitted to the height too
      clearTimeout(redraw);
      redraw = setTimeout(() => draw(...last), 150);
      return;
    }
    for (const { div, rowsOfPlots } of shown) if (div.isConnected && div.layout) Plotly.relayout(div, { height: room(rowsOfPlots) });
  }).observe(box);
  // A next-word chart elsewhere on the page (below the walk) unfolds its bars here: a bar walks to the "next word"
  // stage and unfolds the same number in its chart.
  function nextWordChart(div, result) {
    const at = stages.findIndex((stage) => stage.view === "next");
    const open = (ux) => {
      drawer.open(ux, null, { later: store.state.stage !== at });
      store.set({ stage: at });
      $("stage").scrollIntoView({ block: "start" });
    };
    unfoldBars(div, barKey(lastRow(stages[at].inputs[0].hook, result).at), open, { lit: lightBar(div) });
  }

  return { draw, nextWordChart };
}
