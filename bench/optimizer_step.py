"""Cost of unikeras optimizers in a plain PyTorch loop, as ratios measured side by side.

A: a `torch.nn` MLP 784-512-512-10 (batch 128, cross-entropy on logits) trained with
   `torch.optim.Adam` in a hand-written loop.
B: the same MLP written with unikeras, `to_torch(model)` in the same loop, updated with
   `unikeras.optimizers.Adam.apply_gradients` (the eager torch path: in-place multi-tensor
   kernels).
F: B's module with `torch.optim.Adam` (separates the optimizer's share from to_torch's).
C/D/E: the optimizer step alone on the MLP's parameter shapes: `torch.optim.Adam.step()` (C)
   against unikeras Adam's fused path (D) and its generic per-variable path (E).
All sides run in one process, interleaved in blocks for several rounds after a warm-up;
each reports the median per-step time over its blocks.

Run:  python bench/optimizer_step.py [--quick] [--rounds R --steps N] [--threads T]
"""
import argparse
import statistics
import time

import torch
from torch import nn

IN_DIM, HIDDEN, CLASSES, BATCH = 784, 512, 10, 128


def _median_ms(fn, steps):
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps * 1e3


def _interleave(sides, rounds, steps):
    times = {name: [] for name in sides}
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            times[name].append(_median_ms(sides[name], steps))
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (3 rounds x 3 steps)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds, steps = (3, 3) if args.quick else (args.rounds, args.steps)

    import unikeras as uk
    from unikeras import ops
    from unikeras.adapters.torch_nn import to_torch
    from unikeras.common.variables import runtime

    torch.manual_seed(0)
    x = torch.randn(BATCH, IN_DIM)
    y = torch.randint(0, CLASSES, (BATCH,))
    loss_fn = nn.CrossEntropyLoss()

    native = nn.Sequential(nn.Linear(IN_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                           nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    native_opt = torch.optim.Adam(native.parameters(), lr=1e-3, eps=1e-7)

    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((IN_DIM,)), uk.layers.Dense(HIDDEN, activation="relu"),
                               uk.layers.Dense(HIDDEN, activation="relu"),
                               uk.layers.Dense(CLASSES)])
        module = to_torch(model)
        variables = model.trainable_variables
        uk_opt = uk.optimizers.Adam(1e-3)
    storages = [v.value for v in variables]
    assert all(any(s is p for p in module.parameters()) for s in storages), \
        "to_torch does not share the Variables' storage"

    module_opt = torch.optim.Adam(storages, lr=1e-3, eps=1e-7)

    def to_torch_native_opt_step():
        module_opt.zero_grad(set_to_none=True)
        loss_fn(module(x), y).backward()
        module_opt.step()

    def native_step():
        native_opt.zero_grad(set_to_none=True)
        loss_fn(native(x), y).backward()
        native_opt.step()

    def unikeras_step():
        for p in storages:
            p.grad = None
        loss_fn(module(x), y).backward()
        uk_opt.apply_gradients(zip([p.grad for p in storages], variables))

    # The optimizer step alone, on fixed gradients of the MLP's shapes.
    params = [p.detach().clone().requires_grad_(True) for p in native.parameters()]
    grads = [torch.randn_like(p) for p in params]
    for p, g in zip(params, grads):
        p.grad = g
    alone_native = torch.optim.Adam(params, lr=1e-3, eps=1e-7)
    with ops.backend_scope("torch"):
        alone_vars = [uk.Variable(p.detach().clone(), name=f"p{i}") for i, p in enumerate(params)]
        fused = uk.optimizers.Adam(1e-3)
        generic_vars = [uk.Variable(p.detach().clone(), name=f"p{i}") for i, p in enumerate(params)]
        generic = uk.optimizers.Adam(1e-3)
    torch_runtime = runtime("torch")
    kernels = torch_runtime.optimizer_kernels

    def generic_step():
        torch_runtime.optimizer_kernels = None
        try:
            generic.apply(grads, generic_vars)
        finally:
            torch_runtime.optimizer_kernels = kernels

    sides = {"A native loop + torch.optim.Adam": native_step,
             "B to_torch + unikeras Adam": unikeras_step,
             "F to_torch + torch.optim.Adam": to_torch_native_opt_step,
             "C torch.optim.Adam.step()": alone_native.step,
             "D unikeras Adam (fused)": lambda: fused.apply(grads, alone_vars),
             "E unikeras Adam (generic)": generic_step}
    for fn in sides.values():   # warm-up (and optimizer builds)
        for _ in range(3):
            fn()
    result = _interleave(sides, rounds, steps)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{rounds} rounds x {steps} steps, median ms/step")
    for name, ms in result.items():
        print(f"  {name:<36}{ms:>9.3f}")
    a, b, f, c, d, e = result.values()
    print(f"  ratio B/A (train step)      {b / a:.3f}")
    print(f"  ratio B/F (optimizer share) {b / f:.3f}")
    print(f"  ratio F/A (to_torch share)  {f / a:.3f}")
    print(f"  ratio D/C (fused vs torch)  {d / c:.3f}")
    print(f"  ratio E/C (generic vs torch){e / c:.3f}")


if __name__ == "__main__":
    main()
