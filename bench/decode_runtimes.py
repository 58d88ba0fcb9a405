"""Which JavaScript runtime decodes z in the page: onnxruntime-web vs TensorFlow.js.

In Debian's Chromium started as the browser tests start it (--disable-gpu: WebGL would be
software, so the CPU backends are what a user without a GPU gets), on the shipped
mnist-conv-16d decoder:
- onnxruntime-web, wasm backend, one thread: the decoder exported whole by
  `vae_core.decoder_export` (torch.onnx), nothing mapped by hand;
- TensorFlow.js (tfjs-core) with its wasm backend and with its plain-JS cpu backend: the
  same decoder rebuilt from tfjs ops (matMul, relu, conv2dTranspose, sigmoid) fed the
  checkpoint's weights; this mapping is written for this one architecture only.
For each: time per z for one z at a time (what a pointer move needs; the output read back
included) and per z in a batch of 64, in interleaved rounds, and the largest pixel
difference from torch's decode of the same z. Files are served from a loopback HTTP server
out of web/node_modules (`make install-dev` installs it).

    .venv/bin/python bench/decode_runtimes.py
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, launch_chromium  # noqa: E402
from vae_core import load_checkpoint  # noqa: E402
from vae_core.decoder_export import decoder_onnx  # noqa: E402

MODEL = "mnist-conv-16d"
NODE_MODULES = REPO / "web" / "node_modules"
PAGE = """<!doctype html><meta charset="utf-8">
<script src="/nm/@tensorflow/tfjs-core/dist/tf-core.min.js"></script>
<script src="/nm/@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js"></script>
<script src="/nm/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js"></script>"""

# Runs in the page: builds each runtime's decoder, then times it. Arguments: the weights
# (name -> {shape, data}), the test z (n, d) and torch's images for them, rounds, reps.
BENCH_JS = """async ([weights, zs, ref, rounds, reps, batch]) => {
    const ort = await import('/nm/onnxruntime-web/dist/ort.wasm.bundle.min.mjs');
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create('/model.onnx', {executionProviders: ['wasm']});
    const d = zs[0].length;
    const ortDecode = async (flat, n) => {
        const out = await session.run({z: new ort.Tensor('float32', flat, [n, d])});
        return out.image.data;
    };
    // The same decoder by hand in tfjs ops (ConvVAE's dec: Linear, ReLU, Linear, ReLU,
    // Unflatten, ConvTranspose2d, ReLU, ConvTranspose2d; then sigmoid). NHWC inside.
    tf.wasm.setWasmPaths('/nm/@tensorflow/tfjs-backend-wasm/dist/');
    const t = (name, perm) => {
        const w = weights[name], x = tf.tensor(Float32Array.from(w.data), w.shape);
        return perm ? tf.transpose(x, perm) : x;
    };
    const tfjsDecoder = () => {
        const W0 = t('dec.0.weight'), b0 = t('dec.0.bias'), W2 = t('dec.2.weight'), b2 = t('dec.2.bias');
        const K5 = t('dec.5.weight', [2, 3, 1, 0]), b5 = t('dec.5.bias');  // (in,out,kh,kw) -> (kh,kw,out,in)
        const K7 = t('dec.7.weight', [2, 3, 1, 0]), b7 = t('dec.7.bias');
        const c2 = weights['dec.5.weight'].shape[0], c1 = K5.shape[2], c0 = K7.shape[2];
        return async (flat, n) => {
            const y = tf.tidy(() => {
                let h = tf.relu(tf.add(tf.matMul(tf.tensor(flat, [n, d]), W0, false, true), b0));
                h = tf.relu(tf.add(tf.matMul(h, W2, false, true), b2));
                h = tf.transpose(tf.reshape(h, [n, c2, 7, 7]), [0, 2, 3, 1]);
                h = tf.relu(tf.add(tf.conv2dTranspose(h, K5, [n, 14, 14, c1], 2, 'same'), b5));
                h = tf.sigmoid(tf.add(tf.conv2dTranspose(h, K7, [n, 28, 28, c0], 2, 'same'), b7));
                return tf.transpose(h, [0, 3, 1, 2]);
            });
            const data = await y.data();
            y.dispose();
            return data;
        };
    };
    const runtimes = {'onnxruntime-web 1.31.1 (wasm)': ortDecode};
    for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        await tf.ready();
        runtimes[`tfjs 4.22.0 (${backend})`] = {backend, decode: tfjsDecoder()};
    }
    const call = async (name, flat, n) => {
        const r = runtimes[name];
        if (typeof r === 'function') return r(flat, n);
        if (tf.getBackend() !== r.backend) await tf.setBackend(r.backend);
        return r.decode(flat, n);
    };
    const n = zs.length, flatAll = Float32Array.from(zs.flat());
    const result = {};
    for (const name of Object.keys(runtimes)) {
        const out = await call(name, flatAll, n);
        let err = 0;
        for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i] - ref[i]));
        result[name] = {err, single: [], batch: []};
        for (let i = 0; i < 10; i++) await call(name, flatAll.subarray(0, d), 1);  // warm-up
    }
    for (let round = 0; round < rounds; round++) {
        for (const name of Object.keys(runtimes)) {
            for (let i = 0; i < reps; i++) {
                const k = (round * reps + i) % n, z = flatAll.slice(k * d, (k + 1) * d);
                const t0 = performance.now();
                await call(name, z, 1);
                result[name].single.push(performance.now() - t0);
            }
            const zb = flatAll.slice(0, batch * d), t0 = performance.now();
            await call(name, zb, batch);
            result[name].batch.push((performance.now() - t0) / batch);
        }
    }
    return result;
}"""


def serve(onnx: bytes) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A loopback server for the page, web/node_modules under /nm/, and /model.onnx."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self.path in ("/", "/model.onnx"):
                body, kind = (PAGE.encode(), "text/html") if self.path == "/" else (onnx, "application/octet-stream")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path.startswith("/nm/"):
                self.path = self.path[len("/nm"):]
                super().do_GET()
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(NODE_MODULES)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def stats(ms: list[float]) -> str:
    return f"median {np.median(ms):.3f} ms, p95 {np.percentile(ms, 95):.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--reps", type=int, default=50, help="single-z decodes per runtime per round")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not (NODE_MODULES / "@tensorflow" / "tfjs-core").is_dir():
        sys.exit("web/node_modules lacks tfjs: run `make install-dev` (npm installs web/package.json)")
    ckpt = load_checkpoint(REPO / "checkpoints" / MODEL)
    model = ckpt.model
    zs = torch.randn(max(args.batch, 64), model.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref = model.decode(zs).numpy().ravel().tolist()
    weights = {k: {"shape": list(v.shape), "data": v.numpy().ravel().tolist()}
               for k, v in model.state_dict().items() if k.startswith("dec.")}
    server, url = serve(decoder_onnx(model))
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.goto(url)
            result = page.evaluate(BENCH_JS, [weights, zs.tolist(), ref, args.rounds, args.reps, args.batch])
            browser.close()
    finally:
        server.shutdown()
    print(f"decode per z in Chromium (--disable-gpu), {MODEL}, {args.rounds} interleaved rounds:")
    for name, r in result.items():
        print(f"  {name:32s} one z: {stats(r['single'])} (n={len(r['single'])});  "
              f"batch of {args.batch}: {np.median(r['batch']):.3f} ms per z;  max |page - torch| {r['err']:.1e}")
    print(json.dumps({"load_average": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
