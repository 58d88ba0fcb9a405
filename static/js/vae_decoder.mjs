// Decode z in the page, at the speed of the pointer.
//
// onnxruntime-web (wasm backend, one thread; `make install` puts it under ../vendor/) runs
// the decoder graph that vae_core.decoder_export exported from the checkpoint: z (N, D) ->
// image (N, C, H, W) in [0, 1]. Served by Streamlit's static serving, so nothing is fetched
// from outside the machine. Imported by the components in ui/js/ and by the browser tests.
//
// - loadDecoder(url): one ONNX session per model URL, shared by every component of the page.
// - FramePainter: decodes the newest requested z and paints it to a canvas; requests made
//   while a decode runs collapse into one (the newest wins).
// - mapInverse(spec): map position -> z, as vae_core.projection's to_latent does it (the
//   plane of PCA or two latent axes exactly; t-SNE by the inverse-distance blend of the codes
//   of the k nearest map neighbours). spec: {kind: "linear", origin, components} or
//   {kind: "blend", url, n, d, k}, the url naming a float32 file of the map positions (n, 2)
//   then the codes (n, d).

const VENDOR = new URL("../vendor/onnxruntime-web/", import.meta.url);
let runtimePromise = null;
const decoders = new Map();  // model URL -> Promise<Decoder>

function runtime() {
  if (!runtimePromise) {
    runtimePromise = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      const ort = await import(new URL("ort.wasm.bundle.min.mjs", VENDOR).href);
      ort.env.wasm.numThreads = 1;  // threads need cross-origin isolation; one is quickest for a small decoder
      // the bundle carries its own loader: name only the .wasm, or it would fetch a loader file too
      ort.env.wasm.wasmPaths = { wasm: new URL("ort-wasm-simd-threaded.wasm", VENDOR).href };
      return ort;
    })();
    runtimePromise.catch(() => { runtimePromise = null; });  // a later mount may try again
  }
  return runtimePromise;
}

class Decoder {
  constructor(ort, session, latentDim, shape) {
    this.ort = ort;
    this.session = session;
    this.latentDim = latentDim;
    this.shape = shape;  // [C, H, W]
    this.queue = Promise.resolve();
  }

  // z: Float32Array of n * latentDim values -> Float32Array of n * C * H * W pixels in [0, 1].
  // Runs one at a time: a session takes one run at once.
  decode(z, n = 1) {
    const run = this.queue.then(async () => {
      const out = await this.session.run({ z: new this.ort.Tensor("float32", z, [n, this.latentDim]) });
      const pixels = out.image.data;
      out.image.dispose();
      return pixels;
    });
    this.queue = run.catch(() => {});
    return run;
  }
}

export function loadDecoder(url, latentDim, shape) {
  const key = new URL(url, document.baseURI).href;
  if (!decoders.has(key)) {
    const promise = (async () => {
      const ort = await runtime();
      const session = await ort.InferenceSession.create(key, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
      const decoder = new Decoder(ort, session, latentDim, shape);
      await decoder.decode(new Float32Array(latentDim), 1);  // the first run sets up the kernels: not on a user's gesture
      return decoder;
    })();
    promise.catch(() => decoders.delete(key));
    decoders.set(key, promise);
  }
  return decoders.get(key);
}

// pixels (C, H, W) planar in [0, 1] -> the canvas's RGBA (grey for one channel).
export function paint(canvas, pixels, shape) {
  const [c, h, w] = shape;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const rgba = image.data, plane = h * w;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) rgba[4 * i + k] = Math.round(255 * pixels[(c === 3 ? k : 0) * plane + i]);
    rgba[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

export class FramePainter {
  // Decodes and paints the newest requested z as soon as the decoder is free: a request made
  // while a decode runs waits for it, and only the newest such request is decoded next, so
  // the canvas never lags behind the pointer by more than one decode. (Waiting for the next
  // animation frame first would add up to a frame, ~16 ms, to every move.)
  // onPaint(z, ms) is told after each paint: the z shown and the ms since its request.
  constructor(decoder, canvas, onPaint = () => {}) {
    this.decoder = decoder;
    this.canvas = canvas;
    this.onPaint = onPaint;
    this.pending = null;
    this.busy = false;
    this.stopped = false;
  }

  request(z) {
    this.pending = { z: Float32Array.from(z), t: performance.now() };
    if (!this.busy) this.run().catch((err) => console.warn("in-page decode failed:", err));
  }

  async run() {
    this.busy = true;
    try {
      while (this.pending && !this.stopped) {
        const job = this.pending;
        this.pending = null;
        const pixels = await this.decoder.decode(job.z, 1);
        if (this.stopped) break;
        paint(this.canvas, pixels, this.decoder.shape);
        this.onPaint(job.z, performance.now() - job.t);
      }
    } finally {
      this.busy = false;
    }
  }

  stop() {
    this.stopped = true;
  }
}

// origin (D,), components (2, D) as nested arrays -> (x, y) => z = origin + x * c0 + y * c1
function linearInverse(origin, components) {
  const o = Float64Array.from(origin), c0 = Float64Array.from(components[0]), c1 = Float64Array.from(components[1]);
  return (x, y) => {
    const z = new Float32Array(o.length);
    for (let i = 0; i < o.length; i++) z[i] = o[i] + x * c0[i] + y * c1[i];
    return z;
  };
}

// embedding (N * 2) and codes (N * D), both flat Float32Arrays -> (x, y) => Shepard's blend
// (weights 1 / distance², distances floored at 1e-12) of the codes of the k nearest points.
function blendInverse(embedding, codes, k) {
  const n = embedding.length / 2, d = codes.length / n, kk = Math.min(k, n);
  const bestI = new Int32Array(kk), bestD = new Float64Array(kk);
  return (x, y) => {
    bestD.fill(Infinity);
    for (let i = 0; i < n; i++) {
      const dx = embedding[2 * i] - x, dy = embedding[2 * i + 1] - y, d2 = dx * dx + dy * dy;
      if (d2 >= bestD[kk - 1]) continue;
      let j = kk - 1;
      for (; j > 0 && bestD[j - 1] > d2; j--) { bestD[j] = bestD[j - 1]; bestI[j] = bestI[j - 1]; }
      bestD[j] = d2;
      bestI[j] = i;
    }
    const z = new Float64Array(d);
    let total = 0;
    for (let j = 0; j < kk; j++) {
      const w = 1 / Math.max(Math.sqrt(bestD[j]), 1e-12) ** 2;
      total += w;
      for (let i = 0; i < d; i++) z[i] += w * codes[bestI[j] * d + i];
    }
    return Float32Array.from(z, (v) => v / total);
  };
}

export async function mapInverse(spec) {
  if (spec.kind === "linear") return linearInverse(spec.origin, spec.components);
  const response = await fetch(new URL(spec.url, document.baseURI));
  if (!response.ok) throw new Error(`the map's codes could not be loaded (HTTP ${response.status})`);
  const all = new Float32Array(await response.arrayBuffer());
  return blendInverse(all.subarray(0, 2 * spec.n), all.subarray(2 * spec.n), spec.k);
}
