// Decode in the page: an st.components.v2 component (no iframe) that runs the model's decoder
// in the browser (static/js/vae_decoder.mjs: onnxruntime-web on the exported graph) and paints
// the image to a canvas on every pointer or slider move, without a round trip to the server.
//
// data: decoder ({module, model, latent_dim, shape}), size (px), role, and per role:
// - "sliders": z (the server's current point), dims [[index, label]...], limit, step, and
//   map (optional): {chart, inverse} to drag the point on a small plotly map / click to jump.
//   Every input paints at once; the settled z goes to the server debounced (state "z"), and
//   a new data.z from the server (a button, a hand-off) moves the sliders.
// - "pointer": chart, inverse: the image under the pointer follows it over the map.
// - "frames": chart, frames (z per animation frame): the image of the frame plotly shows.
// inverse: {kind: "linear", origin, components} or {kind: "blend", url, n, d, k} (a float32
// file: the map positions (n, 2) then the codes (n, d)); see vae_decoder.mjs.
// State "path": "browser" once the decoder runs here, else "server: <why>" (the page then
// decodes on the server instead).

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
  s.status = el("div", { fontSize: "12px", opacity: "0.75" }, { "data-testid": "vaeDecodePath" });
  s.painted = 0;
  s.listen = (target, name, fn, opts) => { target.addEventListener(name, fn, opts); s.listeners.push([target, name, fn, opts]); };
  s.setPath = (path, text) => {
    s.status.textContent = text;
    // Only a fallback is told to the server, which assumes this browser decodes until then: telling it "browser"
    // too would rerun the whole page as the decoder came in, replacing its buttons under a user's click.
    if (path !== "browser" && s.path !== path) { s.path = path; setStateValue("path", path); }
  };
  s.onPaint = (z, ms) => {
    s.painted += 1;
    s.canvas.dispatchEvent(new CustomEvent("vae-painted", { bubbles: true, composed: true, detail: { ms, count: s.painted } }));
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
  s.box.append(s.status);  // "Loading…" from the start: the role's parts come once the decoder has loaded (seconds)
  root.appendChild(s.box);
  return s;
}

async function start(s, data) {
  s.status.textContent = "Loading the in-page decoder…";
  try {
    const mod = await load(data.decoder.module);
    const decoder = await mod.loadDecoder(data.decoder.model, data.decoder.latent_dim, data.decoder.shape);
    const spec = data.inverse || (data.map && data.map.inverse);
    s.inverse = spec ? await mod.mapInverse(spec) : null;
    if (s.stopped) return;
    s.painter = new mod.FramePainter(decoder, s.canvas, s.onPaint);
    s.setPath("browser", "Decoded in this browser (onnxruntime-web, WebAssembly) as you move.");
  } catch (err) {
    console.warn("in-page decoding is off:", err);
    const why = `this browser cannot run the decoder (${String(err.message || err).slice(0, 120)})`;
    s.setPath(`server: ${why}`, `Decoded on the server: ${why}.`);
  }
}

// ---------------------------------------------------------------- sliders (Explore)
function sliders(s, setStateValue) {
  const panel = el("div", { display: "grid", gridTemplateColumns: "auto 1fr 4em", gap: "2px 8px", alignItems: "center" });
  s.inputs = new Map();
  s.z = Float32Array.from(s.data.z);
  const settle = () => {
    clearTimeout(s.settleTimer);
    s.settleTimer = setTimeout(() => {
      const z = Array.from(s.z);
      s.sent = JSON.stringify(z);
      setStateValue("z", z);
    }, SETTLE_MS);
    s.timers.push(s.settleTimer);
  };
  s.show = () => {  // the sliders, the image and the marker at s.z
    for (const [dim, { input, value }] of s.inputs) {
      input.value = s.z[dim];
      value.textContent = s.z[dim].toFixed(2);
    }
    if (s.painter) s.painter.request(s.z);
    if (s.drawMarker) s.drawMarker();
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
      if (s.drawMarker) s.drawMarker();
      settle();
    });
    s.inputs.set(dim, { input, value });
    panel.append(name, input, value);
  }
  s.box.append(s.canvas, s.status, panel);
  if (s.data.map) mapDrag(s, settle);
  s.show();
}

// The current point on the small map: an x over the plot at z's place in the map's plane
// (xy = (z - origin) @ components.T, as LinearProjection.transform), kept in place on zooms.
function mapMarker(s) {
  const { origin, components } = s.data.map.inverse;
  const mark = el("div", {
    position: "absolute", zIndex: 10, pointerEvents: "none", display: "none", transform: "translate(-50%, -52%)",
    font: "bold 26px sans-serif", lineHeight: "26px", color: "black", textShadow: "0 0 3px white, 0 0 3px white",
  }, { "data-testid": "vaeMapMarker" });
  mark.textContent = "×";
  s.drawMarker = () => {
    const hit = plotArea(s.data.map.chart);
    if (!hit) { mark.style.display = "none"; return; }
    const xy = [0, 1].map((k) => s.z.reduce((sum, v, i) => sum + (v - origin[i]) * components[k][i], 0));
    const { xaxis, yaxis } = hit.layout;
    const inside = (axis, v) => v >= Math.min(...axis.range) && v <= Math.max(...axis.range);
    if (!inside(xaxis, xy[0]) || !inside(yaxis, xy[1])) { mark.style.display = "none"; return; }
    if (mark.parentElement !== hit.plot) {
      hit.plot.style.position = "relative";
      hit.plot.appendChild(mark);
    }
    mark.style.left = `${xaxis._offset + xaxis.l2p(xy[0])}px`;
    mark.style.top = `${yaxis._offset + yaxis.l2p(xy[1])}px`;
    mark.style.display = "block";
  };
  s.timers.push(setInterval(s.drawMarker, POLL_MS));  // the map may be drawn after this component
  const stop = s.stop;
  s.stop = () => { stop(); mark.remove(); };
}

// Press on the small map to jump there, drag to move the point; plotly's own drag is off there.
function mapDrag(s, settle) {
  mapMarker(s);
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
  // Moved by a transform on a layer of its own: the compositor shifts it each frame without
  // repainting the map under it (with software rendering a repaint cost most of a frame).
  s.float = el("div", {
    position: "fixed", left: "0px", top: "0px", willChange: "transform",
    zIndex: 1000, pointerEvents: "none", display: "none", padding: "4px", background: "white",
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
    const left = Math.min(event.clientX + OFFSET_PX, window.innerWidth - size - 14);
    const top = Math.max(event.clientY - size - 10 - OFFSET_PX, 4);
    s.float.style.transform = `translate(${left}px, ${top}px)`;
    if (s.float.style.display !== "block") s.float.style.display = "block";
  }, true);
}

// ---------------------------------------------------------------- frames (animations, scrubbers)
// With data.chart: the frame a plotly animation shows. Without: a scrubber over the frames
// (data.label names it), e.g. an interpolation or a traversal sampled finely.
function frames(s) {
  s.box.append(s.canvas, s.status);
  s.frame = 0;
  s.showFrame = (i) => {
    s.frame = i;
    if (s.painter) s.painter.request(s.data.frames[i]);
  };
  if (!s.data.chart) {
    const input = el("input", { width: "100%" }, {
      type: "range", min: 0, max: s.data.frames.length - 1, step: 1, value: 0, "aria-label": s.data.label,
      "data-testid": "vaeScrubber",
    });
    const label = el("div", {});
    const show = () => {
      label.textContent = `${s.data.label}: ${s.data.names ? s.data.names[input.value] : input.value}`;
      s.showFrame(Number(input.value));
    };
    s.listen(input, "input", show);
    s.box.append(label, input);
    show();
    return;
  }
  let plot = null;
  // plotly_animatingframe names the frame; a step of the animation's slider names it in its args
  const show = (event) => {
    const name = event && (event.name ?? event.step?.args?.[0]?.[0]);
    const i = Number(name);
    if (Number.isInteger(i) && i >= 0 && i < s.data.frames.length) s.showFrame(i);
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
  s.showFrame(0);
}

const ROLES = { sliders, pointer, frames };

// A rerun's new data: the server's point (a button, a hand-off). Its echo of a point this
// page sent is not news: the sliders may have moved on since.
function update(s, data, previousZ) {
  if (s.showFrame) s.showFrame(Math.min(s.frame, data.frames.length - 1));  // new frames: the same stop
  const z = JSON.stringify(data.z);
  if (s.inputs && z !== JSON.stringify(previousZ) && z !== s.sent) {
    s.z = Float32Array.from(data.z);
    s.show();
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
