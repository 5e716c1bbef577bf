"""OpenVINO inference precision: what `uov.compile(model, precision="bf16")` gains in speed
and costs in accuracy against the float32 default, on this machine's CPU.

A digits classifier (64-256-256-10 MLP trained briefly with `model.fit`) and a wider
MLP (784-1024-1024-10, random weights) are compiled twice, with INFERENCE_PRECISION_HINT
f32 and bf16, the same thread count for both; the two run interleaved (order flipped every
round) at batch 1 and 128, and the median latency of each is kept. Accuracy: max relative
deviation of the bf16 outputs from f32 (relative to the largest |output|), and how often the
predicted class agrees. On a CPU without bf16 support the plugin computes in f32 either way
(the script says which precision the plugin reports).
Run: python bench/openvino_precision.py [--threads N] [--rounds R]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import unikeras as uk  # noqa: E402
from bench import machine_info  # noqa: E402


def _digits_model():
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    uk.utils.set_random_seed(0)
    model = uk.Sequential([uk.Input((64,)), uk.layers.Dense(256, activation="relu"),
                           uk.layers.Dense(256, activation="relu"), uk.layers.Dense(10)])
    model.compile(optimizer=uk.optimizers.Adam(1e-3), loss=uk.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    model.fit(x, y, batch_size=64, epochs=5, verbose=0)
    return model, x


def _wide_model():
    uk.utils.set_random_seed(1)
    model = uk.Sequential([uk.Input((784,)), uk.layers.Dense(1024, activation="relu"),
                           uk.layers.Dense(1024, activation="relu"), uk.layers.Dense(10)])
    x = np.random.default_rng(0).random((512, 784)).astype("float32")
    return model, x


def _latency(compiled, x, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        compiled(x)
    return (time.perf_counter() - start) / repeats


def measure(name, model, x, threads, rounds):
    from unikeras.adapters import openvino as uov
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1}
    f32 = uov.compile(model, config=config)
    bf16 = uov.compile(model, precision="bf16", config=config)
    ref, low = f32(x), bf16(x)
    deviation = float(np.abs(low - ref).max() / np.abs(ref).max())
    agree = float(np.mean(low.argmax(-1) == ref.argmax(-1)))
    print(f"\n{name}: plugin precisions {f32.inference_precision} / {bf16.inference_precision}; "
          f"bf16 max deviation {deviation:.2e} of max |output|, same class on {agree:.1%}")
    for batch, repeats in ((1, 200), (128, 20)):
        xb = x[:batch]
        times = {"f32": [], "bf16": []}
        for c in (f32, bf16):
            _latency(c, xb, repeats)  # warm-up
        for r in range(rounds):
            pairs = [("f32", f32), ("bf16", bf16)]
            for key, c in (pairs if r % 2 == 0 else pairs[::-1]):
                times[key].append(_latency(c, xb, repeats))
        t32, t16 = (statistics.median(times[k]) * 1e6 for k in ("f32", "bf16"))
        print(f"  batch {batch:>3}: f32 {t32:9.1f} us, bf16 {t16:9.1f} us, bf16/f32 {t16 / t32:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    import openvino as ov
    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    print(f"CPU: {ov.Core().get_property('CPU', 'FULL_DEVICE_NAME')}; capabilities {caps}")
    print(f"openvino {ov.__version__}, unikeras at {machine_info.git_revision()}, "
          f"threads {args.threads}, load average {machine_info.loadavg()}")
    measure("digits MLP 64-256-256-10 (trained)", *_digits_model(), args.threads, args.rounds)
    measure("wide MLP 784-1024-1024-10", *_wide_model(), args.threads, args.rounds)


if __name__ == "__main__":
    main()
