// The expression lab: build a step-through on the server, step through it, check a derivative.
import { api, fmt, presets, renderDot, showError } from "/static/common.js";

const $ = (id) => document.getElementById(id);
let closed = null; // the preset's closed forms, evaluated by the server on each build

function ledgerHtml(ledger) {
  if (!ledger) return "<i>Step backward to see each node's ledger row.</i>";
  const esc = (s) => String(s).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
  const terms = ledger.terms.map((t) =>
    `<tr class="term" data-input="${esc(t.input)}" data-local="${esc(t.local)}" data-gradient="${esc(t.gradient)}">` +
    `<td>${esc(t.input)}</td><td>${esc(t.formula)}</td><td>${esc(t.local)}</td>` +
    `<td>${esc(ledger.upstream)} × ${esc(t.local)} = <b>${esc(t.gradient)}</b></td></tr>`).join("");
  const sums = ledger.sums.map((s) =>
    `<p class="sum" data-name="${esc(s.name)}" data-total="${esc(s.total)}">fan-out: dL/d${esc(s.name)} = ` +
    `${s.parts.map(esc).join(" + ")} = <b>${esc(s.total)}</b></p>`).join("");
  return `<div data-output="${esc(ledger.output)}" data-upstream="${esc(ledger.upstream)}">` +
    `<b>${esc(ledger.output)} = ${esc(ledger.call)}</b><br><small>${esc(ledger.words)}</small>` +
    `<p>upstream dL/d${esc(ledger.output)} = <b class="upstream">${esc(ledger.upstream)}</b></p>` +
    `<table><tr><th>input</th><th>local rule</th><th>local</th><th>gradient sent</th></tr>${terms}</table>` +
    `${sums}</div>`;
}

async function show(step) {
  $("title").textContent = step.title;
  $("counter").textContent = `frame ${step.index} of ${step.count - 1}`;
  $("ledger").innerHTML = ledgerHtml(step.ledger);
  await renderDot(step.dot, $("graph"));
  document.body.dataset.frame = step.index;
}

function sliders(names, at) {
  const box = $("sliders");
  box.replaceChildren();
  const values = Object.fromEntries(at.split(/,(?![^\[]*\])/).map((p) => p.split("=").map((s) => s.trim())));
  for (const name of names) {
    const v = Number(values[name] ?? 0.5);
    if (!Number.isFinite(v)) continue; // matrices are typed in the values field
    const label = document.createElement("label");
    label.innerHTML = `${name} <input type="range" min="-3" max="3" step="0.05" value="${v}" data-name="${name}"> <span>${v}</span>`;
    label.querySelector("input").addEventListener("input", (e) => {
      label.querySelector("span").textContent = e.target.value;
      values[name] = e.target.value;
      $("at").value = Object.entries(values).map(([k, x]) => `${k}=${x}`).join(", ");
      build(true);
    });
    box.append(label);
  }
}

async function build(toEnd = false) {
  const body = { expr: $("expr").value, at: $("at").value, wrt: $("wrt").value };
  if (closed) body.closed = closed;
  const data = await api("/api/expression", body);
  document.body.dataset.boxes = data.boxes;
  if (!toEnd) sliders(data.names, $("at").value);
  const closedBox = $("closed");
  closedBox.hidden = !data.closed.length;
  closedBox.innerHTML = "<b>Closed form beside autodiff</b>" + data.closed.map((c) =>
    `<p>dL/d${c.wrt} = <code>${c.formula}</code><br>closed form: <b>${fmt(c.value)}</b>, ` +
    `autodiff: <b>${fmt(c.autodiff)}</b></p>`).join("");
  if (toEnd) await step("all"); else await show({ ...data.step, count: data.count });
}

async function step(action) {
  await show(await api("/api/expression/step", { action }));
}

async function check() {
  const data = await api("/api/expression/check", { wrt: $("check-wrt").value, grad: $("check-grad").value });
  $("verdict").innerHTML = data.ok ? '<span class="ok">your derivative holds</span>' : '<span class="bad">your derivative does not hold</span>';
  $("report").textContent = data.report;
}

const guard = (f) => () => f().catch((e) => console.debug(e.message)); // errors show inline
$("build").addEventListener("click", guard(() => build()));
for (const action of ["forward", "backward", "all", "reset", "back"]) {
  $(action).addEventListener("click", guard(() => step(action)));
}
$("check").addEventListener("click", guard(check));
$("expr").addEventListener("keydown", (e) => { if (e.key === "Enter") guard(() => build())(); });

async function start() {
  const id = new URLSearchParams(location.search).get("preset");
  if (id) {
    const p = (await presets()).find((x) => x.id === id);
    if (!p) { showError(`no preset ${id}`); return; }
    $("preset-title").innerHTML = `<h2>${p.title}</h2><p>${p.text}</p>`;
    $("expr").value = p.expr; $("at").value = p.at; $("wrt").value = p.wrt || "";
    closed = p.closed || null;
    if (p.check) { $("check-wrt").value = p.check.wrt; $("check-grad").value = p.check.grad; }
  }
  await build();
  document.body.dataset.ready = "1";
}
guard(start)();
