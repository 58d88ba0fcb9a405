// Latent map: what the mouse does on the map, without ever redrawing it.
//
// Mounted by pages/latent_map.py as an st.components.v2 component (no iframe: it runs in the
// app's page), twice, each in a fragment of its own, and by pages/explore.py once:
// - role "hover": plotly_hover -> the hovered point's image floats by the cursor. An image
//   is asked of Python once (trigger "hover" = the point's index, debounced), then kept here;
//   Python's reply comes back as this component's data {index, src}.
// - role "click": a click (press and release in the plot area without dragging) -> trigger
//   "click" = {x, y, rx, ry}: the spot and a hit radius of HIT_PX, both in map units. Read
//   from the pointer, not from plotly_click, which fires only on points and only after plotly
//   has recomputed the hover (throttled: up to 50 ms, and more with the main thread busy).
//   The spot is marked at once with an x drawn over the plot; Python's reply may move the x
//   onto the code it hit (data.marker = [x, y] in map units). A click never re-sends or
//   redraws the figure: at 100k points that costs seconds.
// - role "marker": the x alone, at data.marker (Explore's current point); clicks are ignored.
// - role "select": a box or lasso drawn on the map (plotly_selected, with the map's drag mode
//   set to "select" or "lasso") -> trigger "select" = {box: [x0, x1, y0, y1]} or {lasso:
//   [x0, y0, x1, y1, ...]}, in map units. Python finds the codes inside (vae_core.selection),
//   so no list of points crosses the wire, however many codes the map has.
// Streamlit calls this function on mount and again with each new data.
// data: role, chart (CSS selector of the map's plot div), and for "hover": token (names the
// model's images: a new one empties the kept ones), size (px), index and src (or null).

const DEBOUNCE_MS = 60;  // a sweep of the mouse across many points asks only for the last one
const POLL_MS = 300;     // how often to look for a new plot div (Streamlit may replace it)
const OFFSET_PX = 14;
const HIT_PX = 8;        // a click this close to a code hits it (markers are 4-6 px wide)
const DRAG_PX = 4;       // a press that moves further is a drag (plotly zooms or pans), not a click

// Keep `events` attached to whichever element matches `selector`: Streamlit may replace the
// plot div (the old one is purged: it loses `on` and `removeListener`), or re-plot the same
// div from scratch, which drops every listener and gives the div a new `on`.
function follow(selector, events) {
  const watch = { plot: null, on: null, selector };
  const detach = () => {
    if (watch.plot && typeof watch.plot.removeListener === "function") {
      for (const [name, handler] of Object.entries(events)) watch.plot.removeListener(name, handler);
    }
    watch.plot = watch.on = null;
  };
  watch.attach = () => {
    const plot = document.querySelector(watch.selector);
    if (!plot || typeof plot.on !== "function" || (plot === watch.plot && plot.on === watch.on)) return;
    detach();
    watch.plot = plot;
    watch.on = plot.on;
    for (const [name, handler] of Object.entries(events)) plot.on(name, handler);
    if (events.plotly_afterplot) events.plotly_afterplot();
  };
  const poll = setInterval(watch.attach, POLL_MS);
  watch.stop = () => { clearInterval(poll); detach(); };
  return watch;
}

function createHover(size) {
  const s = { cache: new Map(), token: null, want: null, timer: null, ask: null };
  s.box = document.createElement("div");
  s.box.setAttribute("data-testid", "vaeMapHover");
  Object.assign(s.box.style, {
    position: "fixed", zIndex: 1000, pointerEvents: "none", display: "none", padding: "4px",
    background: "white", border: "1px solid #bbb", borderRadius: "4px", boxShadow: "0 2px 8px rgba(0,0,0,.25)",
    font: "12px sans-serif", color: "#222", textAlign: "center",
  });
  s.img = document.createElement("img");
  Object.assign(s.img.style, { display: "block", width: `${size}px`, height: `${size}px`, imageRendering: "pixelated", background: "#000" });
  s.caption = document.createElement("div");
  s.box.append(s.img, s.caption);
  document.body.appendChild(s.box);

  s.show = (index) => {
    const src = s.cache.get(index);
    s.img.style.visibility = src ? "visible" : "hidden";
    if (src && s.img.getAttribute("src") !== src) s.img.src = src;
    s.box.style.display = "block";
  };
  s.hide = () => {
    s.want = null;
    clearTimeout(s.timer);
    s.box.style.display = "none";
  };
  const onHover = (event) => {
    const point = event.points && event.points[0];
    const custom = point && point.customdata;
    if (custom === undefined || custom === null) return s.hide();  // a point without an index is not a code
    const index = Number(typeof custom === "object" ? custom[0] : custom);
    s.want = index;
    s.caption.textContent = `${point.data.name} · #${index}`;
    const mouse = event.event || {};
    const x = mouse.clientX ?? 0, y = mouse.clientY ?? 0;
    // above and right of the cursor: plotly's own label sits level with the point
    s.box.style.left = `${Math.min(x + OFFSET_PX, window.innerWidth - size - 14)}px`;
    s.box.style.top = `${Math.max(y - size - 32 - OFFSET_PX, 4)}px`;
    s.show(index);
    clearTimeout(s.timer);
    if (!s.cache.has(index)) s.timer = setTimeout(() => { if (s.want === index) s.ask(index); }, DEBOUNCE_MS);
  };
  s.watch = follow(null, { plotly_hover: onHover, plotly_unhover: s.hide });
  const onDown = (event) => { if (s.watch.plot && s.watch.plot.contains(event.target)) s.hide(); };
  document.addEventListener("pointerdown", onDown, true);
  s.stop = () => { s.watch.stop(); clearTimeout(s.timer); s.box.remove(); document.removeEventListener("pointerdown", onDown, true); };
  return s;
}

function createClick(reports) {
  const s = { marker: null, send: null, down: null };
  s.mark = document.createElement("div");
  s.mark.setAttribute("data-testid", "vaeMapMarker");
  s.mark.textContent = "×";
  Object.assign(s.mark.style, {
    position: "absolute", zIndex: 10, pointerEvents: "none", display: "none", transform: "translate(-50%, -52%)",
    font: "bold 30px sans-serif", lineHeight: "30px", color: "black", textShadow: "0 0 3px white, 0 0 3px white",
  });
  s.draw = () => {  // the marker at s.marker (map units), hidden when it is off the plot area
    const plot = s.watch.plot, layout = plot && plot._fullLayout;
    if (!layout || !layout.xaxis || !s.marker) { s.mark.style.display = "none"; return; }
    const { xaxis, yaxis } = layout;
    const [x, y] = s.marker;
    const inside = (axis, v) => v >= Math.min(...axis.range) && v <= Math.max(...axis.range);
    if (!inside(xaxis, x) || !inside(yaxis, y)) { s.mark.style.display = "none"; return; }
    if (s.mark.parentElement !== plot) {
      plot.style.position = "relative";
      plot.appendChild(s.mark);
    }
    s.mark.style.left = `${xaxis._offset + xaxis.l2p(x)}px`;
    s.mark.style.top = `${yaxis._offset + yaxis.l2p(y)}px`;
    s.mark.style.display = "block";
  };
  // Listened to on the document, in the capture phase: plotly's drag handling may cover the
  // page during a press, so the release need not reach the plot.
  const onDown = (event) => {
    const target = event.target, plot = s.watch.plot;
    const inArea = plot && plot.contains(target) && target.classList.contains("nsewdrag");  // the plot area itself
    s.down = event.button === 0 && inArea ? { x: event.clientX, y: event.clientY, box: target.getBoundingClientRect() } : null;
  };
  const onMove = (event) => {  // a lasso may end where it began: a press that went anywhere is a drag
    if (s.down && Math.hypot(event.clientX - s.down.x, event.clientY - s.down.y) > DRAG_PX) s.down.dragged = true;
  };
  const onUp = (event) => {
    const down = s.down, layout = s.watch.plot && s.watch.plot._fullLayout;
    s.down = null;
    if (!down || !layout || down.dragged || Math.hypot(event.clientX - down.x, event.clientY - down.y) > DRAG_PX) return;
    const { xaxis, yaxis } = layout;
    const px = down.x - down.box.left, py = down.y - down.box.top;
    const x = xaxis.p2l(px), y = yaxis.p2l(py);
    const rx = Math.abs(xaxis.p2l(px + HIT_PX) - x), ry = Math.abs(yaxis.p2l(py + HIT_PX) - y);
    s.marker = [x, y];  // at once, before Python's reply
    s.draw();
    s.send({ x, y, rx, ry });
  };
  s.watch = follow(null, { plotly_relayout: s.draw, plotly_afterplot: s.draw });
  if (reports) {
    document.addEventListener("pointerdown", onDown, true);
    document.addEventListener("pointermove", onMove, true);
    document.addEventListener("pointerup", onUp, true);
  }
  s.stop = () => {
    s.watch.stop();
    s.mark.remove();
    document.removeEventListener("pointerdown", onDown, true);
    document.removeEventListener("pointermove", onMove, true);
    document.removeEventListener("pointerup", onUp, true);
  };
  return s;
}

function createSelect() {
  const s = { send: null };
  const onSelected = (event) => {
    if (!event) return;  // a click in a select mode selects nothing
    if (event.range && event.range.x && event.range.y) {
      s.send({ box: [...event.range.x, ...event.range.y] });
    } else if (event.lassoPoints && event.lassoPoints.x) {
      const { x, y } = event.lassoPoints;
      s.send({ lasso: x.flatMap((v, i) => [v, y[i]]) });
    }
  };
  s.watch = follow(null, { plotly_selected: onSelected });
  s.stop = () => s.watch.stop();
  return s;
}

const CREATE = { hover: (data) => createHover(data.size), click: () => createClick(true), marker: () => createClick(false),
                 select: () => createSelect() };

export default function ({ data, setTriggerValue, parentElement }) {
  // One state per mounted instance, kept on its own root: the cleanup of an instance that a
  // rerun replaces must not touch its successor's.
  let s = parentElement.__vaeMap;
  if (!s) s = parentElement.__vaeMap = CREATE[data.role](data);
  s.watch.selector = data.chart;
  if (data.role === "hover") {
    s.ask = (index) => setTriggerValue("hover", index);
    if (data.token !== s.token) {
      s.cache.clear();
      s.token = data.token;
    }
    if (data.index !== null && data.src) s.cache.set(data.index, data.src);
    if (s.want !== null && s.cache.has(s.want)) s.show(s.want);  // the reply to the last ask
  } else if (data.role === "select") {
    s.send = (shape) => setTriggerValue("select", shape);
  } else {
    s.send = (click) => setTriggerValue("click", click);
    s.marker = data.marker;
  }
  s.watch.attach();
  if (s.draw) s.draw();

  return () => {  // unmounted: the user left the page, or a rerun replaced this instance
    s.stop();
    delete parentElement.__vaeMap;
  };
}
