// Decode in the page: an st.components.v2 component (no iframe) that runs the model's decoder
// in the browser (static/js/vae_decoder.mjs: onnxruntime-web on the exported graph) and paints
// the image to a canvas on every animation frame, without a round trip to the server.
//
// data: decoder ({module, model, latent_dim, shape}, or null when the server must decode),
// reason (why the server decodes, when decoder is null), size (px), role, and per role:
// - "sliders": z (the server's current point), dims [[index, label]...], limit, step, and
//   map (optional): {chart, inverse} to drag the point on a small plotly map / click to jump.
//   Every input paints at once; the settled z goes to the server debounced (state "z").
//   In server mode the page sends the image of its z as data.image (a data URL).
// - "pointer": chart, inverse: the image under the pointer follows it over the map.
// - "frames": chart, frames (z per animation frame): the image of the frame plotly shows.
// inverse: {kind: "linear", origin, components} or {kind: "blend", url, n, d, k} (a float32
// file: the map positions (n, 2) then the codes (n, d)); see vae_decoder.mjs.
// State "path": "browser" once the in-page decoder painted, else "server".

const SETTLE_MS = 250;  // the server hears a point once the pointer or slider rests this long
const POLL_MS = 300;
const OFFSET_PX = 16;

async function load(url) {
  return import(new URL(url, document.baseURI).href);
}

// The plot area of the plotly chart matching `selector` (it may be replaced by Streamlit).
function plotArea(selector) {
  const plot = document.querySelector(selector);
  const area = plot && plot.querySelector(".nsewdrag");
  return plot && plot._fullLayout && area ? { plot, area, layout: plot._fullLayout } : null;
}

function toMap(hit, clientX, clientY) {
  const box = hit.area.getBoundingClientRect();
  const px = clientX - box.left, py = clientY - box.top;
  if (px < 0 || py < 0 || px > box.width || py > box.height) return null;
  return [hit.layout.xaxis.p2l(px), hit.layout.yaxis.p2l(py)];
}

function el(tag, style = {}, attrs = {}) {
  const node = document.createElement(tag);
  Object.assign(node.style, style);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function createState(root, data, setStateValue) {
  const s = { data, painter: null, inverse: null, z: null, timers: [], listeners: [], stopped: false };
  s.box = el("div", { display: "flex", flexDirection: "column", gap: "6px", font: "14px sans-serif" });
  s.canvas = el("canvas", { width: `${data.size}px`, height: `${data.size}px`, imageRendering: "pixelated", background: "#000" },
    { "data-testid": "vaeDecodedCanvas" });
  s.img = el("img", { width: `${data.size}px`, height: `${data.size}px`, imageRendering: "pixelated", display: "none" },
    { "data-testid": "vaeServerImage" });
  s.status = el("div", { fontSize: "12px", opacity: "0.75" }, { "data-testid": "vaeDecodePath" });
  s.painted = 0;
  s.listen = (target, name, fn, opts) => { target.addEventListener(name, fn, opts); s.listeners.push([target, name, fn, opts]); };
  s.setPath = (path, text) => {
    s.status.textContent = text;
    if (s.path !== path) { s.path = path; setStateValue("path", path); }
  };
  s.onPaint = (z, ms) => {
    s.painted += 1;
    s.canvas.dispatchEvent(new CustomEvent("vae-painted", { bubbles: true, detail: { ms, count: s.painted } }));
  };
  s.stop = () => {
    s.stopped = true;
    if (s.painter) s.painter.stop();
    s.timers.forEach(clearTimeout);
    s.timers.forEach(clearInterval);
    for (const [target, name, fn, opts] of s.listeners) target.removeEventListener(name, fn, opts);
    if (s.float) s.float.remove();
    s.box.remove();
  };
  root.appendChild(s.box);
  return s;
}

async function start(s, data) {
  if (!data.decoder) {
    s.setPath("server", `Decoded on the server: ${data.reason}.`);
    return;
  }
  s.status.textContent = "Loading the in-page decoder…";
  try {
    const mod = await load(data.decoder.module);
    const decoder = await mod.loadDecoder(data.decoder.model, data.decoder.latent_dim, data.decoder.shape);
    const spec = data.inverse || (data.map && data.map.inverse);
    s.inverse = spec ? await mod.mapInverse(spec) : null;
    if (s.stopped) return;
    s.painter = new mod.FramePainter(decoder, s.canvas, s.onPaint);
    s.setPath("browser", "Decoded in this browser (onnxruntime-web, WebAssembly), every animation frame.");
  } catch (err) {
    console.warn("in-page decoding is off:", err);
    s.setPath("server", `Decoded on the server: this browser cannot run the decoder (${String(err.message || err).slice(0, 120)}).`);
  }
}

// ---------------------------------------------------------------- sliders (Explore)
function sliders(s, setStateValue) {
  const panel = el("div", { display: "grid", gridTemplateColumns: "auto 1fr 4em", gap: "2px 8px", alignItems: "center" });
  s.inputs = new Map();
  s.z = Float32Array.from(s.data.z);
  const settle = () => {
    clearTimeout(s.settleTimer);
    s.settleTimer = setTimeout(() => setStateValue("z", Array.from(s.z)), SETTLE_MS);
    s.timers.push(s.settleTimer);
  };
  s.show = () => {  // paint s.z: in the page, or (server mode) wait for the server's image
    for (const [dim, { input, value }] of s.inputs) {
      input.value = s.z[dim];
      value.textContent = s.z[dim].toFixed(2);
    }
    if (s.painter) s.painter.request(s.z);
  };
  for (const [dim, label] of s.data.dims) {
    const name = el("label", {}, {});
    name.textContent = label;
    const input = el("input", { width: "100%" }, {
      type: "range", min: -s.data.limit, max: s.data.limit, step: s.data.step, "aria-label": label,
      "data-testid": "vaeSlider", "data-dim": dim,
    });
    const value = el("span", { fontVariantNumeric: "tabular-nums", textAlign: "right" });
    s.listen(input, "input", () => {
      s.z[dim] = Number(input.value);
      value.textContent = s.z[dim].toFixed(2);
      if (s.painter) s.painter.request(s.z);
      settle();
    });
    s.inputs.set(dim, { input, value });
    panel.append(name, input, value);
  }
  s.box.append(s.canvas, s.img, s.status, panel);
  if (s.data.map) mapDrag(s, settle);
  s.show();
}

// Press on the small map to jump there, drag to move the point; plotly's own drag is off there.
function mapDrag(s, settle) {
  let down = false;
  const at = (event) => {
    const hit = plotArea(s.data.map.chart), xy = hit && s.inverse && toMap(hit, event.clientX, event.clientY);
    if (!xy) return false;
    s.z = s.inverse(xy[0], xy[1]);
    s.show();
    settle();
    return true;
  };
  s.listen(document, "pointerdown", (event) => {
    const hit = plotArea(s.data.map.chart);
    down = event.button === 0 && hit && hit.area.contains(event.target) && at(event);
    if (down) event.stopPropagation();
  }, true);
  s.listen(document, "pointermove", (event) => { if (down) { at(event); event.stopPropagation(); } }, true);
  s.listen(document, "pointerup", () => { down = false; }, true);
}

// ---------------------------------------------------------------- pointer (Latent map)
function pointer(s) {
  s.float = el("div", {
    position: "fixed", zIndex: 1000, pointerEvents: "none", display: "none", padding: "4px", background: "white",
    border: "1px solid #bbb", borderRadius: "4px", boxShadow: "0 2px 8px rgba(0,0,0,.25)",
  }, { "data-testid": "vaePointerImage" });
  s.float.appendChild(s.canvas);
  document.body.appendChild(s.float);
  s.box.append(s.status);
  let pressed = false;
  s.listen(document, "pointerdown", () => { pressed = true; s.float.style.display = "none"; }, true);
  s.listen(document, "pointerup", () => { pressed = false; }, true);
  s.listen(document, "pointermove", (event) => {
    const hit = !pressed && s.painter && s.inverse && plotArea(s.data.chart);
    const xy = hit && toMap(hit, event.clientX, event.clientY);
    if (!xy) { s.float.style.display = "none"; return; }
    s.painter.request(s.inverse(xy[0], xy[1]));
    const size = s.data.size;
    s.float.style.left = `${Math.min(event.clientX + OFFSET_PX, window.innerWidth - size - 14)}px`;
    s.float.style.top = `${Math.max(event.clientY - size - 10 - OFFSET_PX, 4)}px`;
    s.float.style.display = "block";
  }, true);
}

// ---------------------------------------------------------------- frames (Reparameterization)
function frames(s) {
  s.box.append(s.canvas, s.img, s.status);
  let plot = null;
  const show = (event) => {
    const i = Number(event && (event.name ?? (event.step && event.step.value)));
    if (Number.isInteger(i) && i >= 0 && i < s.data.frames.length && s.painter) s.painter.request(s.data.frames[i]);
  };
  const attach = () => {
    const now = document.querySelector(s.data.chart);
    if (!now || typeof now.on !== "function" || now === plot) return;
    plot = now;
    plot.on("plotly_animatingframe", show);
    plot.on("plotly_sliderchange", show);
  };
  s.timers.push(setInterval(attach, POLL_MS));
  attach();
  if (s.painter) s.painter.request(s.data.frames[0]);
}

const ROLES = { sliders, pointer, frames };

// A rerun's new data: the server's point (a button, a hand-off), or its image in server mode.
function update(s, data, previousZ) {
  if (s.inputs && JSON.stringify(data.z) !== JSON.stringify(previousZ)) {
    s.z = Float32Array.from(data.z);
    s.show();
  }
  if (!s.painter && data.image) {
    s.canvas.style.display = "none";
    s.img.style.display = "block";
    if (s.img.getAttribute("src") !== data.image) s.img.src = data.image;
  }
}

export default function ({ data, parentElement, setStateValue }) {
  // One state per mounted instance, kept on its own root (as map_events.js does).
  let s = parentElement.__vaeDecode;
  if (s && (s.data.decoder?.model !== data.decoder?.model || s.data.role !== data.role)) {
    s.stop();
    s = null;
  }
  const previousZ = s ? s.data.z : data.z;
  if (!s) {
    s = parentElement.__vaeDecode = createState(parentElement, data, setStateValue);
    s.ready = start(s, data).then(() => { if (!s.stopped) ROLES[data.role](s, setStateValue); });
  }
  s.data = data;
  s.ready.then(() => { if (!s.stopped) update(s, data, previousZ); });
  return () => {  // unmounted: the user left the page, or a rerun replaced this instance
    s.stop();
    delete parentElement.__vaeDecode;
  };
}
