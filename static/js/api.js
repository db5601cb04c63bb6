// fetch + error display. Every API error carries {"detail": "..."} naming the problem and the fix.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

async function parse(response) {
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new ApiError(response.status, body.detail ?? response.statusText);
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

const box = () => document.getElementById("error");

export function showError(error) {
  const el = box();
  el.textContent = error instanceof ApiError ? `${error.detail} (HTTP ${error.status})` : String(error);
  el.hidden = false;
}

export function clearError() {
  const el = box();
  el.hidden = true;
  el.textContent = "";
}

// Run `task(value)` for the newest value only, one call at a time: a slider sends many values while a request
// is in flight; the ones in between are skipped, and the last one is always served.
export function coalesced(task) {
  let pending = null;
  let busy = false;
  return async (value) => {
    pending = { value };
    if (busy) return;
    busy = true;
    while (pending !== null) {
      const next = pending.value;
      pending = null;
      await task(next);
    }
    busy = false;
  };
}
