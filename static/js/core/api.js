// Requests to our own API. Every API error carries {"detail": "..."} naming the problem and the fix.

// `errors`: a 422's [{field, message, unknown}], one per bad field (`unknown`: the word outside the vocabulary).
export class ApiError extends Error {
  constructor(status, detail, errors = []) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.errors = errors;
  }
}

async function parse(response) {
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new ApiError(response.status, body.detail ?? response.statusText, body.errors ?? []);
  return body;
}

export async function getJSON(url) {
  return parse(await fetch(url, { headers: { accept: "application/json" } }));
}

export async function postJSON(url, payload) {
  return parse(
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(payload),
    }),
  );
}

// `ask(...args)` once per distinct arguments: an answer that depends on them alone (not on the sampling dials) is
// asked for once and kept. A refused request is forgotten, so asking again asks the server again.
export function remembered(ask) {
  const kept = new Map();
  return (...args) => {
    const key = JSON.stringify(args);
    if (!kept.has(key)) {
      kept.set(key, ask(...args));
      kept.get(key).catch(() => kept.delete(key));
    }
    return kept.get(key);
  };
}

// Run `task(value)` for the newest value only, one call at a time: a slider sends many values while a request
// is in flight; the ones in between are skipped, and the last one is always served. Each call returns a promise
// that resolves once the newest value has been served.
export function coalesced(task) {
  let pending = null;
  let running = null;
  return (value) => {
    pending = { value };
    running ??= (async () => {
      try {
        while (pending !== null) {
          const next = pending.value;
          pending = null;
          await task(next);
        }
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
