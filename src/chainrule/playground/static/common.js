// Shared by the pages: the tab's session id, the JSON API, inline errors, the Graphviz renderer.
const KEY = "chainrule-session";
export const session = sessionStorage.getItem(KEY) || crypto.randomUUID();
sessionStorage.setItem(KEY, session);

export function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message || "";
  box.hidden = !message;
}

// POST body (plus the session id) to path; an HTTP error shows its {error} inline and throws.
export async function api(path, body = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session, ...body }),
  });
  const data = await response.json();
  if (!response.ok) {
    showError(data.error || `HTTP ${response.status}`);
    throw new Error(data.error);
  }
  showError("");
  return data;
}

let vizPromise = null;
export async function renderDot(dot, into) {
  vizPromise = vizPromise || Viz.instance(); // the vendored viz.js (Graphviz as WebAssembly)
  const viz = await vizPromise;
  into.replaceChildren(viz.renderSVGElement(dot));
}

export const fmt = (x) =>
  x === null || x === undefined ? "" : Array.isArray(x) ? JSON.stringify(x.map(round)) : round(x);
function round(x) {
  return Array.isArray(x) ? x.map(round) : Number(Number(x).toPrecision(4));
}

export async function presets() {
  return (await fetch("/api/presets")).json();
}
