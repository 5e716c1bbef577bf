"""Memory growth of repeated calls: RSS after a warm-up, then after 2000 `predict_on_batch`
calls and after 20 `fit` calls, per backend (each backend in its own subprocess).

Keras 3 grows here (keras-team/keras#21090, #23110); unikeras should stay flat (< 30 MB).

Run:  python bench/leaks.py [--backends torch,jax,tensorflow] [--predicts 2000] [--fits 20]
Tests never assert on this; it only reports.
"""
import argparse
import json
import os
import subprocess
import sys

RESULT_TAG = "@@RESULT@@ "


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def worker(backend, predicts, fits):
    import gc

    import numpy as np

    import unikeras as uk
    from unikeras import layers, ops

    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 32)).astype("float32")
    y = rng.integers(0, 10, 256).astype("int32")
    with ops.backend_scope(backend):
        model = uk.Sequential([uk.Input((32,)), layers.Dense(64, activation="relu"),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    one = x[:1]
    for _ in range(50):                       # warm-up: compile, caches, allocator pools
        model.predict_on_batch(one)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    gc.collect()
    start = rss_mb()
    for _ in range(predicts):
        model.predict_on_batch(one)
    gc.collect()
    after_predict = rss_mb()
    for _ in range(fits):
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    gc.collect()
    after_fit = rss_mb()
    print(RESULT_TAG + json.dumps({"backend": backend, "start_mb": start,
                                   "predict_growth_mb": after_predict - start,
                                   "fit_growth_mb": after_fit - after_predict}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="torch,jax,tensorflow")
    p.add_argument("--predicts", type=int, default=2000)
    p.add_argument("--fits", type=int, default=20)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.predicts, args.fits)
    print(f"{'backend':<12}{'RSS start (MB)':>16}{'2000 predict_on_batch':>24}{'20 fit':>10}")
    for backend in args.backends.split(","):
        out = subprocess.run([sys.executable, __file__, "--worker", backend, "--predicts",
                              str(args.predicts), "--fits", str(args.fits)],
                             capture_output=True, text=True, env={**os.environ})
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith(RESULT_TAG)]
        if not lines:
            print(f"{backend:<12} failed:\n{out.stderr[-2000:]}")
            continue
        r = json.loads(lines[-1][len(RESULT_TAG):])
        print(f"{backend:<12}{r['start_mb']:>16.1f}{r['predict_growth_mb']:>+23.1f}M"
              f"{r['fit_growth_mb']:>+9.1f}M")


if __name__ == "__main__":
    main()
