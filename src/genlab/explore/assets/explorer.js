// genlab latent-space explorer. Everything it needs is inside this page: the scene (JSON), the pictures
// (one PNG atlas), the decoder (ONNX) and ONNX Runtime Web (its JS module and its wasm, gzipped), all
// base64 in <script type="text/plain"> blocks, because a page opened from file:// may not fetch files.
// The decoder runs in ONNX Runtime's wasm backend; this script only turns plane coordinates into
// latent points (z = origin + (c - center) B), draws, and calls the runtime.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const scene = JSON.parse($("genlab-scene").textContent);
  const M = scene.model;
  const d = M.latent_dim;
  const D = M.shape.reduce((a, b) => a * b, 1);
  const isImage = M.kind === "image";

  // ------------------------------------------------------------------ data
  function bytesOf(id) {
    const s = atob($(id).textContent.trim());
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b;
  }
  function arr(a) {
    if (!a) return null;
    const s = atob(a.b64);
    const buf = new ArrayBuffer(s.length);
    const u8 = new Uint8Array(buf);
    for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
    return a.dtype === "i4" ? new Int32Array(buf) : new Float32Array(buf);
  }
  const zTest = arr(scene.points.test);
  const zTrain = arr(scene.points.train);
  const nTest = scene.points.test.shape[0];
  const nTrain = scene.points.train.shape[0];
  const neighbours = arr(scene.points.neighbours);
  const kNb = scene.points.neighbours.shape[1] || 0;
  const views = scene.views.map((v) => ({
    ...v,
    origin: arr(v.origin),
    center: Float64Array.from(v.center),
    basis: arr(v.basis), // null: the identity
    project: arr(v.project), // null: the same as basis
    m: v.rows.length,
  }));
  const colours = scene.colours.map((c) => ({ ...c, values: arr(c.values) }));
  const pics = scene.pictures;
  const rows = pics.rows ? arr(pics.rows) : null; // vector data: one row per picture
  const background = pics.background ? arr(pics.background) : null;
  const grid = scene.grid;
  // a label-conditional decoder: the class under the mouse is the selector's; a test point's own class
  // is its reconstruction's (as it was encoded)
  const pointLabels = M.point_labels ? arr(M.point_labels) : null;
  const className = (k) => (M.class_names && M.class_names[k] !== undefined ? M.class_names[k] : String(k));

  const state = {
    view: 0, xr: 0, yr: 1, coords: null, colour: colours.length ? 0 : -1, label: M.class ?? 0,
    showTrain: true, showTest: true, mouse: null, selected: -1, ends: [], proj: null,
  };

  // ------------------------------------------------------------------ latent algebra
  // A view maps plane coordinates c (m) to latent points z (d) and back, as scene.py writes it:
  //   z = origin + (c - center) B        c = center + (z - origin) P^T
  // B = P for orthonormal directions (principal components); null B is the identity.
  function toLatent(c, view) { // plane coordinates (m) -> latent point (d), in float64
    const z = new Float64Array(d);
    for (let k = 0; k < d; k++) z[k] = view.origin[k];
    if (!view.basis) { for (let k = 0; k < view.m; k++) z[k] += c[k] - view.center[k]; return z; }
    for (let r = 0; r < view.m; r++) {
      const cr = c[r] - view.center[r];
      if (cr === 0) continue;
      for (let k = 0; k < d; k++) z[k] += cr * view.basis[r * d + k];
    }
    return z;
  }
  function project(z, n, view) { // n latent points (flat) -> their plane coordinates (n * m)
    const out = new Float64Array(n * view.m);
    const P = view.project || view.basis;
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < view.m; r++) {
        let s = view.center[r];
        if (!P) s += z[i * d + r] - view.origin[r];
        else for (let k = 0; k < d; k++) s += (z[i * d + k] - view.origin[k]) * P[r * d + k];
        out[i * view.m + r] = s;
      }
    }
    return out;
  }
  function lerp(a, b, t) { return a.map((v, k) => v + t * (b[k] - v)); }
  function slerp(a, b, t) { // as genlab.latent.core.slerp: lerp where the great circle is undefined
    let na = 0, nb = 0, dot = 0;
    for (let k = 0; k < a.length; k++) { na += a[k] * a[k]; nb += b[k] * b[k]; dot += a[k] * b[k]; }
    na = Math.sqrt(na); nb = Math.sqrt(nb);
    if (!(na > 1e-12 && nb > 1e-12)) return lerp(a, b, t);
    const omega = Math.acos(Math.min(1, Math.max(-1, dot / (na * nb))));
    const so = Math.sin(omega);
    if (!(so > 1e-6)) return lerp(a, b, t);
    const wa = Math.sin((1 - t) * omega) / so, wb = Math.sin(t * omega) / so;
    return a.map((v, k) => wa * v + wb * b[k]);
  }
  function pointZ(set, i) { return Float64Array.from(set.subarray(i * d, (i + 1) * d)); }

  // ------------------------------------------------------------------ the runtime
  let session = null, ort = null;
  let chain = Promise.resolve(); // one run at a time: the wasm session is not re-entrant
  async function loadRuntime() {
    const gz = bytesOf("genlab-ort-wasm");
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    const wasm = await new Response(stream).arrayBuffer();
    const url = URL.createObjectURL(new Blob([bytesOf("genlab-ort-js")], { type: "text/javascript" }));
    ort = await import(url);
    ort.env.wasm.numThreads = 1; // a file:// page is not cross-origin isolated: no shared memory
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmBinary = wasm;
    session = await ort.InferenceSession.create(bytesOf("genlab-decoder"), {
      executionProviders: ["wasm"], graphOptimizationLevel: "all",
    });
  }
  function decodeOne(z, label) { // latent point (d numbers) -> Float32Array(D), and the ms the runtime took
    const run = async () => {
      const t0 = performance.now();
      const feeds = { z: new ort.Tensor("float32", Float32Array.from(z), [1, d]) };
      if (M.conditional) feeds.labels = new ort.Tensor("int64", BigInt64Array.of(BigInt(label || 0)), [1]);
      const out = await session.run(feeds);
      const x = out.x.data;
      return { x: x instanceof Float32Array ? x : Float32Array.from(x), ms: performance.now() - t0 };
    };
    const p = chain.then(run);
    chain = p.catch(() => undefined);
    return p;
  }

  // ------------------------------------------------------------------ pictures
  let atlas = null;
  function loadAtlas() {
    const b64 = $("genlab-atlas").textContent.trim();
    if (!b64) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => { atlas = img; resolve(); };
      img.onerror = () => reject(new Error("the picture atlas did not load"));
      img.src = "data:image/png;base64," + b64;
    });
  }
  const H = isImage ? M.shape[1] : 0, W = isImage ? M.shape[2] : 0, C = isImage ? M.shape[0] : 0;
  function canvasFor(size) {
    const c = document.createElement("canvas");
    const w = size, h = Math.max(1, Math.round(size * H / W));
    c.width = w; c.height = h; c.style.width = w + "px"; c.style.height = h + "px";
    return c;
  }
  function drawTile(canvas, index) {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    const cols = pics.cols;
    ctx.drawImage(atlas, (index % cols) * W, Math.floor(index / cols) * H, W, H, 0, 0, canvas.width, canvas.height);
  }
  function drawFloats(canvas, x) { // decoded NCHW floats in [0, 1] -> the canvas
    const small = document.createElement("canvas");
    small.width = W; small.height = H;
    const sctx = small.getContext("2d");
    const im = sctx.createImageData(W, H);
    const plane = H * W;
    for (let p = 0; p < plane; p++) {
      const g = (ch) => Math.round(Math.min(1, Math.max(0, x[(C === 3 ? ch : 0) * plane + p])) * 255);
      im.data[4 * p] = g(0); im.data[4 * p + 1] = g(1); im.data[4 * p + 2] = g(2); im.data[4 * p + 3] = 255;
    }
    sctx.putImageData(im, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }
  function fmt(v) { return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : (+v.toPrecision(4)).toString(); }
  function rowTable(values, maxRows) { // a vector as feature | value | where it lies in the data's range
    const t = document.createElement("table");
    t.className = "row";
    const n = Math.min(values.length, maxRows || 24);
    for (let k = 0; k < n; k++) {
      const tr = t.insertRow();
      tr.insertCell().textContent = pics.features[k];
      tr.insertCell().textContent = fmt(values[k]);
      const bar = document.createElement("div");
      bar.className = "bar";
      const lo = pics.lo[k], hi = pics.hi[k];
      const f = Math.min(1, Math.max(0, (values[k] - lo) / ((hi - lo) || 1)));
      const mark = document.createElement("i");
      mark.style.left = "calc(" + (100 * f).toFixed(1) + "% - 1px)";
      bar.appendChild(mark);
      tr.insertCell().appendChild(bar);
    }
    if (values.length > n) t.insertRow().insertCell().textContent = "\u2026 " + (values.length - n) + " more";
    return t;
  }
  function dataSpace(points, size) { // a 2-D data space: decoded points (a path if several) over the training data
    const c = document.createElement("canvas");
    c.width = c.height = size || 180;
    const S = c.width - 10;
    const ctx = c.getContext("2d");
    const [lx, ly] = pics.lo, [hx, hy] = pics.hi;
    const px = (v) => ((v - lx) / ((hx - lx) || 1)) * S + 5, py = (v) => S + 5 - ((v - ly) / ((hy - ly) || 1)) * S;
    ctx.fillStyle = "rgba(90,100,114,0.25)";
    for (let i = 0; i < background.length / 2; i++) ctx.fillRect(px(background[2 * i]) - 1, py(background[2 * i + 1]) - 1, 2, 2);
    ctx.strokeStyle = ctx.fillStyle = "#c2410c";
    if (points.length > 1) {
      ctx.beginPath();
      points.forEach((p, k) => (k ? ctx.lineTo(px(p[0]), py(p[1])) : ctx.moveTo(px(p[0]), py(p[1]))));
      ctx.stroke();
    }
    for (const p of points) { ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), points.length > 1 ? 2.5 : 4, 0, 2 * Math.PI); ctx.fill(); }
    return c;
  }
  function pathTable(xs) { // decoded rows along a path: one table row per step
    const t = document.createElement("table");
    t.className = "row";
    const n = Math.min(D, 8);
    const head = t.insertRow();
    head.insertCell().textContent = "step";
    for (let k = 0; k < n; k++) head.insertCell().textContent = pics.features[k];
    xs.forEach((x, s) => {
      const tr = t.insertRow();
      tr.insertCell().textContent = s;
      for (let k = 0; k < n; k++) tr.insertCell().textContent = fmt(x[k]);
    });
    return t;
  }
  function picture(source, size, caption) { // source: {tile} or {floats}
    const fig = document.createElement("figure");
    if (isImage) {
      const c = canvasFor(size);
      if (source.tile !== undefined) drawTile(c, source.tile); else drawFloats(c, source.floats);
      fig.appendChild(c);
    } else {
      const values = source.tile !== undefined ? rows.subarray(source.tile * D, (source.tile + 1) * D) : source.floats;
      fig.appendChild(background ? dataSpace([values], size >= 96 ? 180 : 90) : rowTable(values, size >= 96 ? 24 : 8));
    }
    if (caption) { const cap = document.createElement("figcaption"); cap.textContent = caption; fig.appendChild(cap); }
    return fig;
  }

  // ------------------------------------------------------------------ the plane
  const SIZE = 560;
  const plane = $("plane"), overlay = $("overlay");
  for (const c of [plane, overlay]) {
    const r = window.devicePixelRatio || 1;
    c.width = SIZE * r; c.height = SIZE * r;
    c.getContext("2d").setTransform(r, 0, 0, r, 0, 0);
  }
  const view = () => views[state.view];
  function range(r) { return view().ranges[r]; }
  function toPx(cx, cy, jitter) {
    const [x0, x1] = range(state.xr);
    const px = ((cx - x0) / (x1 - x0)) * SIZE;
    if (state.yr < 0) return [px, SIZE / 2 + (jitter || 0)];
    const [y0, y1] = range(state.yr);
    return [px, SIZE - ((cy - y0) / (y1 - y0)) * SIZE];
  }
  function fromPx(px, py) {
    const [x0, x1] = range(state.xr);
    const cx = x0 + (px / SIZE) * (x1 - x0);
    if (state.yr < 0) return [cx, 0];
    const [y0, y1] = range(state.yr);
    return [cx, y0 + (1 - py / SIZE) * (y1 - y0)];
  }
  function latentAt(cx, cy) { // the latent point at plane coordinates (cx, cy), with the sliders' values
    const c = Float64Array.from(state.coords);
    c[state.xr] = cx;
    if (state.yr >= 0) c[state.yr] = cy;
    return toLatent(c, view());
  }
  function planeLatent(px, py) { return latentAt(...fromPx(px, py)); } // under a canvas position
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363"];
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function ramp(f) {
    const x = Math.min(1, Math.max(0, f)) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x)), t = x - i;
    const c = VIRIDIS[i].map((v, k) => Math.round(v + t * (VIRIDIS[i + 1][k] - v)));
    return "rgb(" + c.join(",") + ")";
  }
  let factorRange = [0, 1];
  function colourOf(i) {
    if (state.colour < 0) return "#1f77b4";
    const c = colours[state.colour];
    if (c.kind === "label") return PALETTE[c.values[i] % PALETTE.length];
    return ramp((c.values[i] - factorRange[0]) / ((factorRange[1] - factorRange[0]) || 1));
  }
  function jitterOf(i) { return ((Math.sin(i * 12.9898) * 43758.5453) % 1) * 80; }
  function drawPlane() {
    const ctx = plane.getContext("2d");
    ctx.clearRect(0, 0, SIZE, SIZE);
    const v = view(), m = v.m, P = state.proj;
    if (grid && !scene.live) { // where the precomputed pictures are
      ctx.fillStyle = "rgba(0,0,0,0.12)";
      for (const gy of grid.ys) for (const gx of grid.xs) { const [x, y] = toPx(gx, gy); ctx.fillRect(x - 1, y - 1, 2, 2); }
    }
    if (state.showTrain && nTrain) {
      ctx.fillStyle = "rgba(90,100,114,0.22)";
      for (let i = 0; i < nTrain; i++) {
        const [x, y] = toPx(P.train[i * m + state.xr], state.yr >= 0 ? P.train[i * m + state.yr] : 0, jitterOf(i + 7919));
        ctx.fillRect(x - 1, y - 1, 2.2, 2.2);
      }
    }
    if (state.showTest) {
      for (let i = 0; i < nTest; i++) {
        const [x, y] = toPx(P.test[i * m + state.xr], state.yr >= 0 ? P.test[i * m + state.yr] : 0, jitterOf(i));
        ctx.fillStyle = colourOf(i);
        ctx.beginPath(); ctx.arc(x, y, 2.6, 0, 2 * Math.PI); ctx.fill();
      }
    }
    $("xlo").textContent = fmt(range(state.xr)[0]);
    $("xhi").textContent = fmt(range(state.xr)[1]);
    $("xname").textContent = v.rows[state.xr] + " \u2192";
    $("yname").textContent = state.yr >= 0
      ? "y: " + v.rows[state.yr] + ", from " + fmt(range(state.yr)[0]) + " (bottom) to " + fmt(range(state.yr)[1]) + " (top)"
      : "y: (a 1-D latent space: points are spread vertically only to be seen)";
    drawOverlay();
  }
  function drawOverlay() {
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, SIZE, SIZE);
    const v = view(), m = v.m;
    const mark = (z, text) => {
      const c = project(z, 1, v);
      const [x, y] = toPx(c[state.xr], state.yr >= 0 ? c[state.yr] : 0);
      ctx.strokeStyle = "#c2410c"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillStyle = "#c2410c"; ctx.font = "bold 12px system-ui"; ctx.fillText(text, x + 9, y - 8);
      return [x, y];
    };
    const ends = state.ends.map((e, k) => mark(e.z, k ? "B" : "A"));
    if (ends.length === 2) {
      ctx.setLineDash([4, 4]); ctx.strokeStyle = "#c2410c"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(...ends[0]); ctx.lineTo(...ends[1]); ctx.stroke(); ctx.setLineDash([]);
    }
    if (state.selected >= 0) {
      const P = state.proj.test, i = state.selected;
      const [x, y] = toPx(P[i * m + state.xr], state.yr >= 0 ? P[i * m + state.yr] : 0, jitterOf(i));
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.stroke();
    }
    if (state.mouse) {
      const [x, y] = state.mouse;
      ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x - 8, y); ctx.lineTo(x + 8, y); ctx.moveTo(x, y - 8); ctx.lineTo(x, y + 8); ctx.stroke();
    }
  }
  function nearestTest(px, py, radius) {
    if (!state.showTest) return -1;
    const m = view().m, P = state.proj.test;
    let best = -1, bd = radius * radius;
    for (let i = 0; i < nTest; i++) {
      const [x, y] = toPx(P[i * m + state.xr], state.yr >= 0 ? P[i * m + state.yr] : 0, jitterOf(i));
      const dd = (x - px) ** 2 + (y - py) ** 2;
      if (dd < bd) { bd = dd; best = i; }
    }
    return best;
  }

  // ------------------------------------------------------------------ panels
  const hover = $("hover"), hoverInfo = $("hoverinfo");
  const hoverFig = isImage ? canvasFor(192) : null;
  if (hoverFig) { const f = document.createElement("figure"); f.appendChild(hoverFig); hover.appendChild(f); }
  function showHover(x) {
    if (isImage) drawFloats(hoverFig, x);
    else { hover.replaceChildren(picture({ floats: x }, 192)); }
  }
  function zText(z) {
    const n = Math.min(z.length, 8);
    return "z = [" + Array.from(z.slice(0, n), fmt).join(", ") + (z.length > n ? ", \u2026" : "") + "]";
  }
  let pending = null, busy = false;
  async function hoverAt(px, py) {
    state.mouse = [px, py];
    drawOverlay();
    if (scene.live) {
      pending = planeLatent(px, py);
      if (busy) return; // coalesce: only the latest position is decoded once the runtime is free
      busy = true;
      try {
        while (pending) {
          const z = pending; pending = null;
          const out = await decodeOne(z, state.label);
          showHover(out.x);
          api.last = { z: Array.from(Float32Array.from(z)), x: Array.from(out.x), ms: out.ms, label: M.conditional ? state.label : null, seq: ++api.seq };
          hoverInfo.textContent = zText(z) + (M.conditional ? " \u00b7 class " + className(state.label) : "") +
            " \u2014 decoded in the page in " + out.ms.toFixed(1) + " ms";
        }
      } finally { busy = false; }
    } else if (grid) {
      const [cx, cy] = fromPx(px, py);
      const nearest = (vals, v) => vals.reduce((b, u, k) => (Math.abs(u - v) < Math.abs(vals[b] - v) ? k : b), 0);
      const c = nearest(grid.xs, cx), r = grid.ys.length > 1 ? nearest(grid.ys, cy) : 0;
      const tile = grid.start + r * grid.xs.length + c;
      if (isImage) drawTile(hoverFig, tile); else hover.replaceChildren(picture({ tile }, 192));
      api.last = { grid: [r, c], tile, seq: ++api.seq };
      hoverInfo.textContent = "precomputed in Python at " + view().rows[state.xr] + " = " + fmt(grid.xs[c]) +
        (state.yr >= 0 ? ", " + view().rows[state.yr] + " = " + fmt(grid.ys[r]) : "") + " (nearest grid point)";
    }
  }
  async function select(i) {
    state.selected = i;
    drawOverlay();
    const box = $("selected");
    const row = document.createElement("div");
    row.className = "pics";
    const prior = scene.points.kind === "prior";
    row.appendChild(picture({ tile: scene.points.obs[i] }, 128, prior ? "generated (prior draw #" + i + ")" : "test observation #" + i));
    if (!prior) {
      if (scene.live) {
        const own = pointLabels ? pointLabels[i] : state.label;
        const out = await decodeOne(pointZ(zTest, i), own);
        row.appendChild(picture({ floats: out.x }, 128, "reconstruction (decoded in the page" +
          (M.conditional ? ", with its own class " + className(own) : "") + ")"));
      } else if (scene.points.recon) {
        row.appendChild(picture({ tile: scene.points.recon[i] }, 128, "reconstruction (decoded in Python)"));
      }
    }
    const nb = document.createElement("div");
    nb.className = "pics";
    for (let k = 0; k < kNb; k++) nb.appendChild(picture({ tile: neighbours[i * kNb + k] }, 72));
    const info = document.createElement("p");
    info.className = "muted";
    const labels = colours.filter((c) => c.kind === "label").map((c) => "label " + (c.names[c.values[i]] ?? c.values[i]));
    const factors = colours.filter((c) => c.kind === "factor").map((c) => c.name + " " + fmt(c.values[i]));
    info.textContent = [zText(pointZ(zTest, i)), ...labels, ...factors].join(" \u00b7 ");
    const nbTitle = document.createElement("p");
    nbTitle.className = "muted";
    nbTitle.textContent = kNb ? "Its " + kNb + " nearest training observations (Euclidean, in data space):" : "";
    box.replaceChildren(row, info, nbTitle, nb);
    api.selected = { index: i, seq: ++api.seq };
  }
  async function interpolate() {
    const box = $("interp");
    if (!scene.live) {
      box.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: "Interpolation needs the decoder in the page; " + scene.decode_note }));
      return;
    }
    const [a, b] = state.ends.map((e) => e.z);
    const steps = 8, t = Array.from({ length: steps }, (_, k) => k / (steps - 1));
    const paths = { lerp: t.map((u) => lerp(a, b, u)), slerp: t.map((u) => slerp(a, b, u)) };
    for (const p of Object.values(paths)) { p[0] = Float64Array.from(a); p[steps - 1] = Float64Array.from(b); }
    const nodes = [];
    const result = { t, ends: state.ends.map((e) => e.name) };
    for (const [name, path] of Object.entries(paths)) {
      const strip = document.createElement("div");
      strip.className = "strip";
      strip.appendChild(Object.assign(document.createElement("span"), { textContent: name }));
      const xs = [];
      for (const z of path) {
        const out = await decodeOne(z, state.label);
        xs.push(Array.from(out.x));
        if (isImage) strip.appendChild(picture({ floats: out.x }, 64));
      }
      if (!isImage) strip.appendChild(background ? dataSpace(xs, 180) : pathTable(xs));
      result[name] = { z: path.map((z) => Array.from(Float32Array.from(z))), x: xs };
      nodes.push(strip);
    }
    const cap = Object.assign(document.createElement("p"), { className: "muted", textContent: "A = " + state.ends[0].name + ", B = " + state.ends[1].name + "; " + steps + " steps" +
      (M.conditional ? ", decoded with class " + className(state.label) : "") + "." });
    box.replaceChildren(cap, ...nodes);
    api.interpolation = { ...result, label: M.conditional ? state.label : null, seq: ++api.seq };
  }
  async function clickAt(px, py) {
    const i = nearestTest(px, py, 7);
    if (i >= 0) await select(i);
    const end = i >= 0 ? { z: pointZ(zTest, i), name: (scene.points.kind === "prior" ? "prior draw #" : "test #") + i }
      : { z: planeLatent(px, py), name: "a plane point" };
    state.ends = state.ends.length >= 2 ? [end] : [...state.ends, end];
    drawOverlay();
    if (state.ends.length === 2) await interpolate();
  }

  // ------------------------------------------------------------------ controls
  function option(sel, value, text) { const o = document.createElement("option"); o.value = value; o.textContent = text; sel.appendChild(o); }
  function setView(k) {
    state.view = k;
    const v = view();
    state.coords = Float64Array.from(v.defaults);
    [state.xr, state.yr] = v.initial;
    state.proj = { test: project(zTest, nTest, v), train: project(zTrain, nTrain, v) };
    for (const id of ["xrow", "yrow"]) {
      const sel = $(id);
      sel.replaceChildren();
      v.rows.forEach((r, j) => option(sel, j, r));
    }
    $("xrow").value = state.xr;
    $("yrow").value = state.yr;
    $("yrowbox").hidden = state.yr < 0;
    $("rest").textContent = v.rest;
    buildSliders();
    drawPlane();
  }
  function buildSliders() {
    const box = $("sliders"), v = view();
    box.replaceChildren();
    if (!scene.live) return; // the precomputed grid lies on the default plane only
    v.rows.forEach((name, r) => {
      if (r === state.xr || r === state.yr) return;
      const [lo, hi] = v.ranges[r];
      const input = Object.assign(document.createElement("input"), { type: "range", min: lo, max: hi, step: (hi - lo) / 400, value: state.coords[r] });
      const out = Object.assign(document.createElement("span"), { textContent: fmt(state.coords[r]) });
      input.addEventListener("input", () => {
        state.coords[r] = +input.value;
        out.textContent = fmt(state.coords[r]);
        if (state.mouse) hoverAt(...state.mouse);
      });
      box.append(Object.assign(document.createElement("span"), { textContent: name }), input, out);
    });
  }
  function setColour(k) {
    state.colour = k;
    const legend = $("legend");
    legend.replaceChildren();
    if (k >= 0) {
      const c = colours[k];
      if (c.kind === "label") {
        const present = new Set(c.values);
        c.names.forEach((name, j) => {
          if (!present.has(j)) return;
          const s = document.createElement("span");
          s.innerHTML = '<span class="swatch"></span>';
          s.firstChild.style.background = PALETTE[j % PALETTE.length];
          s.append(name);
          legend.appendChild(s);
        });
      } else {
        let lo = Infinity, hi = -Infinity;
        for (const v of c.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        factorRange = [lo, hi];
        const bar = Object.assign(document.createElement("span"), { className: "ramp" });
        bar.style.background = "linear-gradient(to right," + [0, 0.25, 0.5, 0.75, 1].map(ramp).join(",") + ")";
        legend.append(c.name + " " + fmt(lo), bar, fmt(hi));
      }
    }
    drawPlane();
  }
  function setup() {
    $("note").textContent = scene.note;
    $("testname").textContent = scene.points.kind === "prior" ? "prior draws" : "test points";
    $("trainbox").hidden = !nTrain;
    const vs = $("view");
    views.forEach((v, k) => option(vs, k, v.name));
    $("viewbox").hidden = views.length < 2;
    vs.addEventListener("change", () => setView(+vs.value));
    const cs = $("colour");
    if (!colours.length) $("colourbox").hidden = true;
    colours.forEach((c, k) => option(cs, k, c.name));
    cs.addEventListener("change", () => setColour(+cs.value));
    $("xrow").addEventListener("change", (e) => { state.xr = +e.target.value; buildSliders(); drawPlane(); });
    $("yrow").addEventListener("change", (e) => { state.yr = +e.target.value; buildSliders(); drawPlane(); });
    $("showtrain").addEventListener("change", (e) => { state.showTrain = e.target.checked; drawPlane(); });
    $("showtest").addEventListener("change", (e) => { state.showTest = e.target.checked; drawPlane(); });
    if (M.conditional) { // the selector's options are written into the page (page.py)
      $("classbox").hidden = false;
      const sel = $("class");
      sel.value = state.label;
      sel.addEventListener("change", () => {
        state.label = +sel.value;
        if (state.mouse) hoverAt(...state.mouse);
        if (state.ends.length === 2) interpolate();
      });
    }
    if (!scene.live) { // the grid was decoded on the default plane only
      for (const id of ["view", "xrow", "yrow"]) $(id).disabled = true;
    }
    const pos = (e) => { const r = overlay.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    overlay.addEventListener("mousemove", (e) => hoverAt(...pos(e)));
    overlay.addEventListener("click", (e) => clickAt(...pos(e)));
    overlay.addEventListener("mouseleave", () => { state.mouse = null; drawOverlay(); });
    $("about").textContent = "genlab explorer \u00b7 " + M.name + ", latent dimension " + d + " \u00b7 data " +
      scene.dataset.name + " (" + scene.dataset.n_train + " training, " + scene.dataset.n_test + " test observations) \u00b7 " +
      (scene.live ? "decoder: ONNX, run by ONNX Runtime Web (wasm) inside this page" : "pictures decoded in Python when the page was written") +
      " \u00b7 page " + (document.documentElement.outerHTML.length / 1e6).toFixed(1) + " MB";
    setView(0);
    setColour(colours.length ? 0 : -1);
  }

  // ------------------------------------------------------------------ the API the tests and the benchmark use
  const api = window.genlabExplorer = {
    scene, seq: 0, last: null, selected: null, interpolation: null, error: null,
    /** decode latent points (arrays of d numbers): their pictures as flat arrays, and the ms each took */
    async decode(zs, label) {
      if (!session) throw new Error("this page does not decode live: " + scene.decode_note);
      const out = [];
      for (const z of zs) { const r = await decodeOne(z, label); out.push({ x: Array.from(r.x), ms: r.ms }); }
      return out;
    },
    /** time the runtime over latent points: {ms: per point, total_ms: all of them back to back} */
    async timeDecode(zs, label) {
      const ms = [];
      const t0 = performance.now();
      for (const z of zs) ms.push((await decodeOne(z, label)).ms);
      return { ms, total_ms: performance.now() - t0 };
    },
    /** page coordinates (for mouse events) of plane coordinates (cx, cy) in the current plane */
    planeToClient(cx, cy) {
      const [x, y] = toPx(cx, cy);
      const r = overlay.getBoundingClientRect();
      return [r.left + x, r.top + y];
    },
    /** the latent point the page decodes at plane coordinates (cx, cy) */
    planeLatent(cx, cy) { return Array.from(Float32Array.from(latentAt(cx, cy))); },
    /** page coordinates of test point i */
    pointToClient(i) {
      const m = view().m, P = state.proj.test;
      const [x, y] = toPx(P[i * m + state.xr], state.yr >= 0 ? P[i * m + state.yr] : 0, jitterOf(i));
      const r = overlay.getBoundingClientRect();
      return [r.left + x, r.top + y];
    },
    state,
  };
  const status = $("status");
  api.ready = (async () => {
    setup();
    await loadAtlas();
    if (scene.live) {
      status.textContent = "Loading the decoder\u2026";
      await loadRuntime();
      status.textContent = "The decoder runs in this page (ONNX Runtime Web, wasm): move the mouse over the plane.";
      status.className = "status live";
    } else {
      status.textContent = scene.decode_note;
    }
    return true;
  })().catch((e) => {
    api.error = String(e && e.message || e);
    status.textContent = "The explorer could not start: " + api.error;
    status.className = "status error";
    throw e;
  });
})();
