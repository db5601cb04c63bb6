// Performance marks, for `make bench` (scripts/browser_bench.py) and for anyone with DevTools open (Performance
// panel, Timings). Nothing is sent anywhere. Every page says it has drawn a state by setting body[data-rendered]
// after its plots are drawn (core/page.js), so one observer here marks every page:
//   layerwalk:first-render      once: the page has drawn its first state, every plot in it (startTime: ms since
//                               navigation start)
//   layerwalk:rendered          every drawn state, the first included
//   layerwalk:input             a slider moved (at the input event's own time stamp)
//   layerwalk:input-to-render   a measure: from the oldest slider move not yet drawn to the next drawn state; exact for
//                               one move at a time (the bench); in a fast drag it reads the first move of each batch
//   layerwalk:plotly-ready      once, on a model page: Plotly has been run (set by views/plotly.js, which waits for it)
//   layerwalk:hover-to-lit      a measure: from a mouse move over a stage panel's cell to the frame showing the cells
//                               and rows it lights (set by views/panel.js)
const RENDERED = ["data-rendered"];
let waiting = null; // time stamp of the oldest slider move the screen does not show yet

document.addEventListener("input", (event) => {
  if (event.target.type !== "range") return;
  performance.mark("layerwalk:input", { startTime: event.timeStamp });
  waiting ??= event.timeStamp;
}, { capture: true });

new MutationObserver(() => {
  const now = performance.now();
  if (!performance.getEntriesByName("layerwalk:first-render").length) performance.mark("layerwalk:first-render", { startTime: now });
  performance.mark("layerwalk:rendered", { startTime: now });
  if (waiting === null) return;
  performance.measure("layerwalk:input-to-render", { start: waiting, end: now });
  waiting = null;
  performance.clearMarks("layerwalk:input"); // answered; the measure keeps its time, so a long lecture stays small
}).observe(document.body, { attributeFilter: RENDERED });
