// The network lab: the server trains; this page draws each snapshot the event stream sends.
import uPlot from "/static/vendor/uplot/uPlot.esm.js";
import { api, presets, session, showError } from "/static/common.js";

const $ = (id) => document.getElementById(id);
const COLORS = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189]];
let points = null, latest = null, drawn = null, stream = null, lossPlot = null, accPlot = null;
window.crUpdates = 0; // snapshots drawn (the benchmark reads it)

function settings() {
  const num = (id) => Number($(id).value);
  return {
    dataset: $("dataset").value, points: num("points"), noise: num("noise"),
    hidden: $("hidden").value, activation: $("activation").value, loss: $("loss").value,
    optimizer: $("optimizer").value, lr: num("lr"), batch: num("batch"),
  };
}

function plots() {
  const opts = (title, a, b) => ({
    title, width: 380, height: 170, scales: { x: { time: false } },
    series: [{ label: "step" }, { label: a, stroke: "#1f77b4" }, { label: b, stroke: "#d62728" }],
  });
  $("loss-plot").replaceChildren(); $("acc-plot").replaceChildren();
  lossPlot = new uPlot(opts("loss", "train", "test"), [[], [], []], $("loss-plot"));
  accPlot = new uPlot(opts("accuracy", "train", "test"), [[], [], []], $("acc-plot"));
}

function drawBoundary(s) {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  const n = s.grid, cell = canvas.width / n;
  ctx.clearRect(0, 0, canvas.width, canvas.height); // translucent cells would pile up otherwise
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const k = i * n + j, c = COLORS[s.boundary[k] % COLORS.length];
    const a = Math.max(0, (s.confidence[k] - 1 / s.classes) / (1 - 1 / s.classes));
    ctx.fillStyle = `rgba(${c[0]},${c[1]},${c[2]},${0.15 + 0.45 * a})`;
    ctx.fillRect(j * cell, i * cell, cell, cell); // 360 / 40: whole pixels, no overlaps
  }
  const [x0, x1, y0, y1] = points.extent;
  const dot = (p, y, test) => {
    const c = COLORS[y % COLORS.length];
    ctx.beginPath();
    ctx.arc((p[0] - x0) / (x1 - x0) * canvas.width, (y1 - p[1]) / (y1 - y0) * canvas.height, 3, 0, 7);
    ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`; ctx.fill();
    ctx.strokeStyle = test ? "black" : "white"; ctx.stroke();
  };
  points.train.forEach((p, i) => dot(p, points.train_y[i], false));
  points.test.forEach((p, i) => dot(p, points.test_y[i], true));
}

function drawNet(s) {
  const svg = $("net"), W = 420, H = 360, sizes = s.sizes;
  const x = (l) => 30 + l * (W - 60) / (sizes.length - 1);
  const y = (l, i) => H / 2 + (i - (sizes[l] - 1) / 2) * Math.min(40, (H - 30) / sizes[l]);
  const parts = [];
  let gmax = 1e-12;
  s.layers.forEach((L) => (L.grad_weight || []).flat().forEach((g) => (gmax = Math.max(gmax, Math.abs(g)))));
  s.layers.forEach((L, l) => L.weight.forEach((row, i) => row.forEach((w, j) => {
    const g = L.grad_weight ? L.grad_weight[i][j] / gmax : 0;
    const color = g >= 0 ? `rgb(${Math.round(200 * g + 40)},60,60)` : `rgb(60,60,${Math.round(-200 * g + 40)})`;
    parts.push(`<line x1="${x(l)}" y1="${y(l, j)}" x2="${x(l + 1)}" y2="${y(l + 1, i)}" stroke="${color}" ` +
      `stroke-width="${Math.min(6, 0.3 + 1.5 * Math.abs(w))}" data-layer="${l}" data-row="${i}" data-col="${j}"/>`);
  })));
  sizes.forEach((n, l) => { for (let i = 0; i < n; i++) {
    parts.push(`<circle cx="${x(l)}" cy="${y(l, i)}" r="7" fill="${l ? "#dbe9f6" : "#d4f0d4"}" stroke="#333" ` +
      (l ? `data-layer="${l - 1}" data-row="${i}"` : "") + "/>");
  } });
  svg.innerHTML = parts.join("");
}

function render() {
  drawn = null;
  const s = latest;
  if (!s || !points) return;
  $("stepcount").textContent = s.step;
  $("train-loss").textContent = s.train_loss.toFixed(4);
  $("test-loss").textContent = s.test_loss.toFixed(4);
  $("train-acc").textContent = (100 * s.train_acc).toFixed(1) + "%";
  $("test-acc").textContent = (100 * s.test_acc).toFixed(1) + "%";
  $("test-acc").dataset.value = s.test_acc;
  document.body.dataset.playing = s.playing;
  drawBoundary(s);
  drawNet(s);
  const h = s.history;
  lossPlot.setData([h.step, h.train_loss, h.test_loss]);
  accPlot.setData([h.step, h.train_acc, h.test_acc]);
  if (s.error) showError(s.error);
  window.crUpdates += 1;
}

let version = 0; // the newest snapshot's; a late event stream message is older than a reply
function receive(s) { // draw at most once per animation frame, always the newest snapshot
  if (s.version < version) return;
  version = s.version;
  latest = s;
  if (drawn === null) drawn = requestAnimationFrame(render);
}

async function build() {
  const data = await api("/api/network", settings());
  points = data.points;
  version = 0; // a new network counts its snapshots from 1
  plots();
  receive(data.snapshot);
  if (!stream) {
    stream = new EventSource(`/api/network/stream?session=${encodeURIComponent(session)}`);
    stream.onmessage = (e) => receive(JSON.parse(e.data));
  }
}

const guard = (f) => () => f().catch((e) => console.debug(e.message)); // errors show inline
$("build").addEventListener("click", guard(build));
for (const action of ["play", "pause", "step"]) {
  $(action).addEventListener("click", guard(async () => receive(await api("/api/network/control", { action }))));
}
$("net").addEventListener("click", (event) => guard(async () => {
  const t = event.target;
  if (!t.dataset || t.dataset.layer === undefined) return;
  const body = { layer: Number(t.dataset.layer), row: Number(t.dataset.row) };
  body.col = t.dataset.col === undefined ? null : Number(t.dataset.col);
  const r = await api("/api/network/inspect", body);
  $("inspect").textContent = `${r.name}: value ${r.value.toPrecision(4)}, last gradient ${r.grad.toPrecision(4)}\n${r.ledger}`;
})());

async function start() {
  const id = new URLSearchParams(location.search).get("preset");
  if (id) {
    const p = (await presets()).find((x) => x.id === id);
    if (!p) { showError(`no preset ${id}`); return; }
    $("preset-title").innerHTML = `<h2>${p.title}</h2><p>${p.text}</p>`;
    for (const [k, v] of Object.entries(p.config)) $(k).value = Array.isArray(v) ? v.join(",") : v;
  }
  await build();
  document.body.dataset.ready = "1";
}
guard(start)();
