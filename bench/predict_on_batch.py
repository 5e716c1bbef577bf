"""`model.predict_on_batch` at batch 1 on torch against a `torch.no_grad()` forward of the
same network in `torch.nn` (NumPy in, NumPy out on both sides), interleaved in one process,
median of the per-block means. MLP 784-512-512-10, one torch thread.

Run:  python bench/predict_on_batch.py [--rounds 15] [--calls 200]
Tests never assert on this; it only reports.
"""
import argparse
import statistics
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--calls", type=int, default=200)
    args = p.parse_args(argv)
    import torch

    import unikeras as uk
    from unikeras import layers, ops
    torch.set_num_threads(1)
    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((784,)), layers.Dense(512, activation="relu"),
                               layers.Dense(512, activation="relu"), layers.Dense(10)])
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                              torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    x = np.random.default_rng(0).random((1, 784), dtype=np.float32)

    def native():
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    def unikeras_predict():
        return model.predict_on_batch(x)

    sides = {"torch.no_grad forward": native, "predict_on_batch": unikeras_predict}
    for fn in sides.values():
        for _ in range(args.calls):
            fn()
    times = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, fn in sides.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                fn()
            times[name].append((time.perf_counter() - start) / args.calls * 1e6)
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, us in medians.items():
        print(f"{name:<24}{us:>10.1f} us/call")
    print(f"ratio predict_on_batch / no_grad forward = "
          f"{medians['predict_on_batch'] / medians['torch.no_grad forward']:.2f}")


if __name__ == "__main__":
    main()
