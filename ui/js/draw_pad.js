// A pad to draw a digit on with a mouse, a pen or a finger (pointer events; touch-action
// none, so a finger draws instead of scrolling the page).
//
// Mounted by ui/draw.py as an st.components.v2 component. data: {side: px, strokes: the
// drawing to show when the pad is new (a reload, a return to the page), throttle_ms}.
// State "strokes": the whole drawing, a list of strokes, each a flat list x0, y0, x1, y1, ...
// in [0, 1] (x right, y down; ui.components.drawn_strokes reads it). It is sent at most every
// throttle_ms while a stroke is drawn, when it ends, and after Undo or Clear.
// Ink, paper and pen width are vae_core/drawing.py's, which draws the same strokes for the model.
const PEN_WIDTH = 1 / 14;
const INK = "rgb(17, 17, 17)", PAPER = "#fff";

function createPad(root, data, send) {
  const s = { strokes: (data.strokes || []).map((stroke) => stroke.slice()), current: null, last: 0, timer: null };
  s.box = document.createElement("div");
  s.box.className = "vae-draw";
  s.canvas = document.createElement("canvas");
  s.canvas.setAttribute("data-testid", "vaeDrawPad");
  s.canvas.setAttribute("aria-label", "Drawing pad: draw a digit here");
  const bar = document.createElement("div");
  bar.className = "vae-draw-bar";
  const button = (text, testid, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("data-testid", testid);
    b.addEventListener("click", onClick);
    bar.appendChild(b);
    return b;
  };
  s.box.append(s.canvas, bar);
  root.appendChild(s.box);

  s.size = () => {  // the pad fills its column up to data.side, square, sharp on dense screens
    const css = Math.max(120, Math.min(data.side, s.box.clientWidth || data.side));
    const px = Math.round(css * (window.devicePixelRatio || 1));
    s.canvas.style.width = s.canvas.style.height = `${css}px`;
    if (s.canvas.width !== px) { s.canvas.width = s.canvas.height = px; s.paint(); }
  };
  s.paint = () => {
    const ctx = s.canvas.getContext("2d"), side = s.canvas.width;
    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, side, side);
    Object.assign(ctx, { strokeStyle: INK, fillStyle: INK, lineWidth: PEN_WIDTH * side, lineCap: "round", lineJoin: "round" });
    for (const stroke of s.strokes) {
      ctx.beginPath();
      ctx.moveTo(stroke[0] * side, stroke[1] * side);
      if (stroke.length === 2) ctx.lineTo(stroke[0] * side + 0.01, stroke[1] * side);  // a dot
      for (let i = 2; i < stroke.length; i += 2) ctx.lineTo(stroke[i] * side, stroke[i + 1] * side);
      ctx.stroke();
    }
    s.undo.disabled = s.clear.disabled = s.strokes.length === 0;
  };
  s.flush = () => {
    clearTimeout(s.timer);
    s.timer = null;
    s.last = performance.now();
    send(s.strokes.map((stroke) => stroke.map((v) => Math.round(v * 1e4) / 1e4)));
  };
  s.soon = () => {  // at most one message per throttle_ms while drawing; the newest drawing wins
    const wait = s.throttle - (performance.now() - s.last);
    if (wait <= 0) s.flush();
    else if (s.timer === null) s.timer = setTimeout(s.flush, wait);
  };
  const at = (event) => {
    const box = s.canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  };
  s.canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    s.canvas.setPointerCapture(event.pointerId);
    s.current = at(event);
    s.strokes.push(s.current);
    s.paint();
    s.soon();
  });
  s.canvas.addEventListener("pointermove", (event) => {
    if (!s.current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) s.current.push(...at(e));
    s.paint();
    s.soon();
  });
  const end = () => {
    if (!s.current) return;
    s.current = null;
    s.flush();
  };
  s.canvas.addEventListener("pointerup", end);
  s.canvas.addEventListener("pointercancel", end);
  s.undo = button("Undo", "vaeDrawUndo", () => { s.strokes.pop(); s.paint(); s.flush(); });
  s.clear = button("Clear", "vaeDrawClear", () => { s.strokes = []; s.paint(); s.flush(); });
  s.resize = new ResizeObserver(s.size);
  s.resize.observe(s.box);
  s.size();
  s.paint();
  return s;
}

export default function ({ data, parentElement, setStateValue }) {
  let s = parentElement.__vaeDraw;
  if (!s) s = parentElement.__vaeDraw = createPad(parentElement, data, (strokes) => setStateValue("strokes", strokes));
  s.throttle = data.throttle_ms;
  return () => {
    clearTimeout(s.timer);
    s.resize.disconnect();
    s.box.remove();
    delete parentElement.__vaeDraw;
  };
}
