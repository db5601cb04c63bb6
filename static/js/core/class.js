// A class session (docs/api.md, Class): the lecturer's page sends its view to the server, the students' pages follow
// it live, and the lecturer asks the class what the model will do. Every page loads this module (core/present.js).
//
// The view is the page's URL (path and query, without `present`): the store mirrors its whole state there
// (core/store.js, core/url.js), so the lecturer sends it on every change (`layerwalk:view`) and a student's page
// applies it to its own store, or opens the lecturer's page when the path differs.
//
// Lecturer: "start class" → POST /api/class; {code, secret} kept in localStorage, so a reload or the next page goes
// on driving. The secret travels only in the X-Class-Secret header; a student's page never sees it.
// Student: /join/CODE opens the lecturer's view with #class=CODE; the code is kept in sessionStorage (this tab) and
// the page follows the events of /api/class/CODE/events until the student explores on their own ("catch up" comes
// back) or the class ends.
import { el } from "./dom.js";
import { pageStore } from "./store.js";

const start = document.getElementById("class-start");
const API = start.dataset.classUrl; // the app's root path + /api/class
const QR = document.getElementById("share-dialog").dataset.qrUrl;
const LECTURING = "layerwalk-class"; // localStorage: {code, secret, join_path} of the class this browser drives
const FOLLOWING = "layerwalk-class-follow"; // sessionStorage: the code this tab follows
const EXPLORING = "layerwalk-class-exploring"; // sessionStorage: "1" while the student looks around on their own
const VOTER = "layerwalk-voter"; // localStorage: this browser's random voter id (one answer per browser per poll)
const THROTTLE_MS = 50; // the lecturer's view goes out at most this often (the last one always)
const RETRY_MS = 3000; // a lost connection or a refused send is tried again after this long
const MOMENTS = new Set(["qi", "kj", "hover"]); // what hover lights: a moment, never "exploring on your own"

const node = el;
const button = (text, onClick, props = {}) => {
  const made = node("button", { type: "button", ...props }, text);
  made.addEventListener("click", onClick);
  return made;
};
const fmt = (p) => p.toFixed(3);
const percent = (part, whole) => (whole ? Math.round((100 * part) / whole) : 0);

// This page's view: its path (the app's root path included, as the server's views and join paths are) and its query,
// without presentation mode (a screen's, not a view's).
function here() {
  const url = new URL(window.location.href);
  url.searchParams.delete("present");
  return `${url.pathname}${url.search}`;
}

class ClassError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// One request to the class API; a refusal throws its message (the server's `detail`) and status.
async function call(method, path, { body, secret } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (secret) headers["x-class-secret"] = secret;
  let response;
  try {
    response = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ClassError(0, "The server cannot be reached.");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ClassError(response.status, data?.detail ?? response.statusText);
  return data;
}

function voter() {
  let id = localStorage.getItem(VOTER);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(24)); // works on a lecture hall's plain http, unlike randomUUID
    id = Array.from(bytes, (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[b % 64]).join("");
    localStorage.setItem(VOTER, id);
  }
  return id;
}

// ---- what a page offers to ask about ----------------------------------------------------------------------------
// A page registers how to build each poll from what it shows: nextWord() → {model, request} on a stage showing the
// next-word distribution, attention() → {model, request, hook, head, query} where a head's pattern is on screen;
// null where the stage shows neither. `request` is the forward body the page sends.
let offers = {};
export function offerPolls(pageOffers) {
  offers = pageOffers;
  refreshAsks();
}
// The attention pattern a walk's stage shows (a head's softmax, every head, or pattern | V → z): its part of the
// detail's stage ({hook, rows, …}), or null.
export function patternShown(stage) {
  return [...stage.hooks, ...stage.inputs].find((part) => part.per_head && part.probabilities) ?? null;
}
// The query row an attention poll asks about: the row lit on screen (qi) when it is one of the n rows, else `fallback`
// (by default the last: in a GPT, the word whose next word the model predicts).
export const queryRow = (qi, n, fallback = n - 1) => (qi >= 0 && qi < n ? qi : fallback);
const offered = (kind) => {
  try {
    return offers[kind]?.() ?? null;
  } catch {
    return null; // the page is not drawn yet
  }
};

// ---- the screen: one dock at the right (a poll, then the bar), above the walk's bar -------------------------------
const ui = node("aside", { id: "class-ui", className: "class-ui", hidden: true });
ui.setAttribute("aria-label", "Class session");
const pollBox = node("section", { id: "class-poll", className: "class-poll", hidden: true });
pollBox.setAttribute("aria-live", "polite");
const bar = node("div", { id: "class-bar", className: "class-bar" });
const barText = node("span", { id: "class-status", className: "class-status" });
barText.setAttribute("role", "status");
const barWarning = node("span", { id: "class-warning", className: "class-warning", hidden: true });
barWarning.setAttribute("role", "alert");
const barButtons = node("span", { className: "class-buttons" });
bar.append(barText, barWarning, barButtons);
ui.append(pollBox, bar);
document.body.append(ui);

// The walk's bar is fixed at the bottom: the dock sits above it (--walk-height), whatever its height.
const walkBar = document.getElementById("walk");
const walkHeight = () => document.documentElement.style.setProperty("--walk-height", `${walkBar && !walkBar.hidden ? walkBar.offsetHeight : 0}px`);
if (walkBar) new ResizeObserver(walkHeight).observe(walkBar);
walkHeight();

function warn(text) {
  barWarning.textContent = text ?? "";
  barWarning.hidden = !text;
}

// ---- a poll, on the projector (the lecturer's) or on a student's screen -------------------------------------------
let shownPoll = null;
const closedPolls = new Set(); // polls whose panel was closed here
function dock(open) {
  pollBox.hidden = !open;
  document.documentElement.classList.toggle("class-docked", open); // the page makes room for it (wide screens)
}

function closePoll() {
  if (shownPoll) closedPolls.add(shownPoll.id);
  dock(false);
  refreshBar();
}

function barPair(kind, fraction, label) {
  const track = node("span", { className: "class-track" }, node("span", { className: `class-fill ${kind}` }));
  track.firstChild.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return [track, node("span", { className: `class-number ${kind}` }, label)];
}

function drawPoll(poll, { lecturer, code, answered = null, message = "" }) {
  shownPoll = poll;
  if (closedPolls.has(poll.id)) return refreshBar();
  const close = button("×", closePoll, { className: "class-close" });
  close.setAttribute("aria-label", "close the poll");
  const heading = node("h2", { id: "class-poll-question" }, poll.question);
  const parts = [node("div", { className: "class-poll-head" }, heading, close)];
  const voting = !lecturer && poll.open && answered === null;
  if (voting) { // a student's choices: big buttons
    parts.push(node("div", { className: "class-choices-buttons" }, ...poll.choices.map((word, i) =>
      button(word, () => answer(code, poll, i), { className: "class-choice-button", dataset: { choice: String(i) } }))));
  } else {
    const list = node("ol", { className: "class-choices" });
    poll.choices.forEach((word, i) => {
      const count = poll.counts[i];
      const item = node("li", { className: `class-choice${answered === i ? " mine" : ""}`, dataset: { choice: String(i), count: String(count) } });
      const share = lecturer || poll.revealed; // students see the class's answers once the model's are shown
      const bars = node("span", { className: "class-bars" });
      item.append(node("span", { className: "class-word" }, word, answered === i ? node("small", {}, " (you)") : ""), bars);
      if (share) bars.append(...barPair("class-share", poll.answers ? count / poll.answers : 0, `class ${count} · ${percent(count, poll.answers)}%`));
      if (poll.revealed && poll.model_probs) {
        item.dataset.modelProb = String(poll.model_probs[i]);
        bars.append(...barPair("model-share", poll.model_probs[i], `model ${fmt(poll.model_probs[i])}`));
      }
      list.append(item);
    });
    parts.push(list);
  }
  if (answered !== null) parts.push(node("p", { className: "class-answered-mine" }, `you answered ${poll.choices[answered]}`));
  if (message) parts.push(node("p", { className: "class-poll-message" }, message));
  parts.push(node("p", { className: "class-poll-count" }, `${poll.answers} answered${poll.open ? "" : " · closed"}`));
  if (lecturer && poll.open) parts.push(button("show the model's answer", () => reveal(poll), { className: "class-reveal" }));
  if (poll.revealed && poll.distribution) parts.push(distribution(poll));
  pollBox.replaceChildren(...parts);
  pollBox.setAttribute("aria-labelledby", "class-poll-question");
  dock(true);
  return refreshBar();
}

// The model's whole shown distribution (its top words) or the head's whole attention row, beside the class's.
function distribution(poll) {
  const { words, probs, rest } = poll.distribution;
  const title = poll.kind === "attention" ? "The head's attention over every word" : "The model's distribution (its top words)";
  const list = node("ol", { className: "class-distribution" }, ...words.map((word, i) =>
    node("li", { dataset: { prob: String(probs[i]) } }, node("span", { className: "class-word" }, word),
      node("span", { className: "class-bars" }, ...barPair("model-share", probs[i], fmt(probs[i]))))));
  const parts = [node("h3", {}, title), list];
  if (rest) parts.push(node("p", { className: "class-rest" }, `every other word: ${fmt(rest)}`));
  return node("div", { className: "class-model" }, ...parts);
}

// ---- the lecturer ---------------------------------------------------------------------------------------------------
let lecture = JSON.parse(localStorage.getItem(LECTURING) ?? "null"); // {code, secret, join_path}
let following = null;

const dialog = node("dialog", { id: "class-dialog", className: "class-dialog" });
dialog.setAttribute("aria-labelledby", "class-dialog-title");
document.body.append(dialog);
function showCode() {
  const url = `${window.location.origin}${lecture.join_path}`;
  const link = node("input", { id: "class-url", type: "text", readOnly: true, value: url, size: 40 });
  const qr = node("img", { id: "class-qr", alt: "QR code of the join link", width: 320, height: 320, src: `${QR}?text=${encodeURIComponent(url)}` });
  dialog.replaceChildren(
    node("h2", { id: "class-dialog-title" }, "Join the class"),
    node("p", {}, "Open this link or scan the code: your screen follows the lecturer's."),
    node("p", { id: "class-code", className: "class-code" }, lecture.code),
    node("label", { htmlFor: "class-url" }, "link"), link, qr,
    node("form", { method: "dialog" }, node("button", { type: "submit" }, "close")));
  dialog.showModal();
  link.select();
}

const asks = {
  nextWord: button("ask: which word comes next?", () => ask("nextWord"), { id: "class-ask-next", className: "tool" }),
  attention: button("ask: which word does this head attend to most?", () => ask("attention"), { id: "class-ask-attention", className: "tool" }),
};
function refreshAsks() {
  asks.nextWord.disabled = offered("nextWord") === null;
  asks.nextWord.title = asks.nextWord.disabled ? "On the stage showing the next-word distribution" : "";
  asks.attention.disabled = offered("attention") === null;
  asks.attention.title = asks.attention.disabled ? "On a stage showing a head's attention pattern" : "";
}

async function ask(kind) {
  const spec = offered(kind);
  if (!spec || !lecture) return;
  const body = kind === "nextWord" ? { kind: "next_word", model: spec.model, request: spec.request, choices: 4 }
    : { kind: "attention", model: spec.model, request: spec.request, hook: spec.hook, head: spec.head, query: spec.query };
  try {
    const poll = await call("POST", `/${lecture.code}/polls`, { body, secret: lecture.secret });
    closedPolls.delete(poll.id);
    drawPoll(poll, { lecturer: true });
    warn("");
  } catch (error) {
    lost(error);
  }
}

async function reveal(poll) {
  try {
    drawPoll(await call("POST", `/${lecture.code}/polls/${poll.id}/reveal`, { secret: lecture.secret }), { lecturer: true });
  } catch (error) {
    lost(error);
  }
}

// A refusal: a class ended or expired is forgotten; anything else is said and tried again.
function lost(error) {
  if ([401, 403, 404].includes(error.status)) return forget(`This class is over: ${error.message}`);
  warn(`${error.message} Retrying.`);
  return null;
}

// The view goes out at most every 50 ms (the last one always), and again after a refusal that may pass.
let sent = null;
let sending = null;
let timer = null;
function sendView() {
  if (!lecture || timer) return;
  timer = setTimeout(async () => {
    timer = null;
    const view = here();
    if (view === sent || sending) {
      if (sending) sending.then(sendView);
      return;
    }
    sending = call("PUT", `/${lecture.code}/view`, { body: { view }, secret: lecture.secret })
      .then(() => {
        sent = view;
        warn("");
      })
      .catch((error) => {
        if (lost(error) === null) setTimeout(sendView, RETRY_MS);
      })
      .finally(() => { sending = null; });
    refreshAsks();
  }, THROTTLE_MS);
}

function forget(message) {
  lecture = null;
  localStorage.removeItem(LECTURING);
  events?.close();
  events = null;
  ended = message;
  dock(false);
  refreshBar();
}

async function startClass() {
  if (lecture) return showCode();
  try {
    lecture = await call("POST", "", { body: { view: here() } });
    localStorage.setItem(LECTURING, JSON.stringify({ code: lecture.code, secret: lecture.secret, join_path: lecture.join_path }));
    sent = here();
    ended = null;
    lead();
    showCode();
  } catch (error) {
    ended = null;
    ui.hidden = false;
    warn(`The class could not start: ${error.message}`);
  }
}
start.addEventListener("click", startClass);

async function endClass() {
  try {
    await call("DELETE", `/${lecture.code}`, { secret: lecture.secret });
    forget("You ended the class.");
  } catch (error) {
    lost(error);
  }
}

function lead() {
  listen(lecture.code, true);
  window.addEventListener("layerwalk:view", sendView);
  call("GET", `/${lecture.code}`).then((state) => {
    following = state.following;
    if (state.poll) drawPoll(state.poll, { lecturer: true });
    refreshBar();
  }).catch(lost);
  if (!document.getElementById("page")) sendView(); // a page without a store (the gallery): its path is its view
  refreshBar();
}

// ---- the student ---------------------------------------------------------------------------------------------------
let follow = null; // the code this tab follows
let latest = null; // the lecturer's latest view
let ended = null; // the message of a class that ended here
let applying = false; // a change this module makes to the store is the lecturer's, not the student's
let pending = null; // a view for a store not made yet
const exploring = () => sessionStorage.getItem(EXPLORING) === "1";

function followView(view) {
  latest = view;
  if (exploring()) return refreshBar();
  const target = new URL(view, window.location.origin);
  const mine = new URL(window.location.href);
  if (target.pathname !== mine.pathname) { // another page: open it (this tab keeps following, by sessionStorage)
    if (mine.searchParams.get("present") === "1") target.searchParams.set("present", "1");
    window.location.assign(target.href);
    return null;
  }
  pending = target.search;
  applyPending();
  return refreshBar();
}

function applyPending() {
  const store = pageStore();
  if (!store || pending === null) return;
  applying = true;
  try {
    store.apply(pending);
  } finally {
    applying = false;
    pending = null;
  }
}

// What the student does themselves (a click, a key, a typed value, within a moment) leaves the lecturer's view.
let gestureAt = -Infinity;
for (const type of ["pointerdown", "keydown", "input", "change"]) {
  window.addEventListener(type, (event) => {
    if (event.isTrusted && !(event.target instanceof Element && event.target.closest("#class-ui, dialog"))) gestureAt = performance.now();
  }, true);
}
const byHand = () => performance.now() - gestureAt < 1000;
function explore() {
  if (!follow || exploring()) return;
  sessionStorage.setItem(EXPLORING, "1");
  refreshBar();
}
function watch(store) {
  store.addEventListener("change", ({ detail: { changed, quiet } }) => {
    if (applying || quiet || [...changed].every((key) => MOMENTS.has(key))) return;
    if (byHand()) explore();
  });
}
// A link followed by hand: the next page is the student's own.
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!event.isTrusted || !link || link.hasAttribute("download") || link.closest("#class-ui") || link.getAttribute("href").startsWith("#")) return;
  explore();
}, true);

function catchUp() {
  sessionStorage.removeItem(EXPLORING);
  if (latest !== null) followView(latest);
  refreshBar();
}

function leave(message) {
  follow = null;
  sessionStorage.removeItem(FOLLOWING);
  sessionStorage.removeItem(EXPLORING);
  events?.close();
  events = null;
  ended = message;
  dock(false);
  refreshBar();
}

function answered(code, poll) {
  const kept = sessionStorage.getItem(`layerwalk-answer-${code}-${poll.id}`);
  return kept === null ? null : Number(kept);
}

async function answer(code, poll, choice) {
  try {
    const now = await call("POST", `/${code}/polls/${poll.id}/answers`, { body: { choice, voter: voter() } });
    sessionStorage.setItem(`layerwalk-answer-${code}-${poll.id}`, String(choice));
    drawPoll(now, { lecturer: false, code, answered: choice });
  } catch (error) {
    drawPoll(poll, { lecturer: false, code, answered: answered(code, poll), message: error.message });
  }
}

// ---- the events: the same stream for both -------------------------------------------------------------------------
let events = null;
function listen(code, lecturer) {
  events?.close();
  const source = new EventSource(`${API}/${code}/events`);
  events = source;
  const data = (handler) => (event) => handler(JSON.parse(event.data));
  if (!lecturer) source.addEventListener("view", data(({ view }) => followView(view)));
  source.addEventListener("poll", data((poll) => drawPoll(poll, { lecturer, code, answered: lecturer ? null : answered(code, poll) })));
  source.addEventListener("following", data((n) => {
    following = n.following;
    refreshBar();
  }));
  source.addEventListener("status", data(({ ok, message }) => warn(ok ? "" : lecturer ? message : "connection to the class lost — retrying")));
  source.addEventListener("ended", data(({ message }) => (lecturer ? forget(message) : leave(message))));
  source.addEventListener("open", () => warn(""));
  source.addEventListener("error", () => {
    if (source !== events) return;
    warn("connection to the class lost — retrying");
    if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    // Refused (not a stream): an unknown or expired class says so; anything else (the store away) is tried again.
    call("GET", `/${code}`).then(() => setTimeout(() => source === events && listen(code, lecturer), RETRY_MS)).catch((error) => {
      if (error.status === 404) return lecturer ? forget(error.message) : leave(error.message);
      setTimeout(() => source === events && listen(code, lecturer), RETRY_MS);
      return null;
    });
  });
}

// ---- the bar -----------------------------------------------------------------------------------------------------
function refreshBar() {
  const pollButton = shownPoll && pollBox.hidden && !ended
    ? [button("poll", () => { closedPolls.delete(shownPoll.id); drawPoll(shownPoll, { lecturer: Boolean(lecture), code: follow, answered: follow ? answered(follow, shownPoll) : null }); }, { className: "tool" })]
    : [];
  ui.classList.toggle("lecturer", Boolean(lecture));
  ui.classList.toggle("exploring", Boolean(follow) && exploring());
  if (lecture) {
    start.textContent = `class ${lecture.code}`;
    // The server counts every page that follows, the projector's own among them: the bar counts the others.
    barText.textContent = `class ${lecture.code} · ${Math.max(0, (following ?? 1) - 1)} following`;
    refreshAsks();
    barButtons.replaceChildren(button("show code", showCode, { className: "tool" }), asks.nextWord, asks.attention, ...pollButton,
      button("end class", endClass, { id: "class-end", className: "tool" }));
  } else if (follow) {
    start.textContent = "start class";
    const away = exploring();
    barText.textContent = away ? `exploring on your own · class ${follow}` : `following the lecturer · class ${follow}`;
    barButtons.replaceChildren(...(away ? [button("catch up", catchUp, { id: "class-catch-up", className: "tool" })] : []), ...pollButton);
  } else {
    start.textContent = "start class";
    barText.textContent = ended ?? "";
    barButtons.replaceChildren(...(ended ? [button("×", () => { ended = null; refreshBar(); }, { className: "tool", ariaLabel: "close" })] : []));
  }
  ui.hidden = !lecture && !follow && !ended && barWarning.hidden;
  return null;
}

// ---- on every page: drive, follow, or nothing -------------------------------------------------------------------------
const hash = /^#class=([A-Za-z0-9]{4,12})$/.exec(window.location.hash);
if (hash) {
  const code = hash[1].toUpperCase();
  if (sessionStorage.getItem(FOLLOWING) !== code) sessionStorage.removeItem(EXPLORING); // a new class starts by following
  sessionStorage.setItem(FOLLOWING, code);
  window.history.replaceState(window.history.state, "", `${window.location.pathname}${window.location.search}`);
}
const code = sessionStorage.getItem(FOLLOWING);
window.addEventListener("layerwalk:store", ({ detail: store }) => {
  watch(store);
  applyPending();
});
if (pageStore()) watch(pageStore());
if (lecture) {
  if (code === lecture.code) sessionStorage.removeItem(FOLLOWING); // the lecturer's own class: this browser drives it
  lead();
} else if (code) {
  follow = code;
  listen(code, false);
  refreshBar();
}

// A page drawn (its first state, and each one after): the lecturer sends it; the poll buttons follow the stage.
new MutationObserver(() => {
  if (lecture) sendView();
  refreshAsks();
}).observe(document.body, { attributes: true, attributeFilter: ["data-rendered"] });
