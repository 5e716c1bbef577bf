"""Training-step cost of unikeras models in Flax/JAX loops, as ratios measured side by side.

Networks: MLP 784-512-512-10 (ReLU), batch 128 (compute-bound), and a tiny MLP 32-32-32-10,
batch 32 (per-step overhead dominates: graph traversal, pytree flattening, dispatch);
softmax cross-entropy on logits, optax Adam(1e-3), all sides started from the same weights
(checked: same first loss). The jitted computations of A and B are the same jaxpr
(dot_general, add, relu per layer), so A/B measures only what to_flax adds around it.

(a) A: `to_flax(unikeras MLP)` trained by `nnx.Optimizer` in an `nnx.jit` step;
    B: the same MLP written with `nnx.Linear`, same step.                 ratio A/B (target <= 1.02)
(b) C: `functional(unikeras MLP)` in a `jax.jit` step (params, state, opt_state in and out);
    D: the nnx fast path, `nnx.cached_partial(step, B's module, optimizer)`;
    E: `nnx.cached_partial` over A's to_flax module (for reference).    ratio C/D (target <= 1.0)
No side donates buffers. The sides run interleaved in blocks (order flipped every round)
after a warm-up; each reports the median per-step time over its blocks (a block ends
with `block_until_ready`) and, steadier under shared load, its best block.

Run:  python bench/flax_interop.py [--quick] [--rounds R --steps N] [--single-thread]
(`--single-thread` runs XLA on one thread: steadier figures on a shared machine.)
"""
import argparse
import os
import statistics
import time

NETWORKS = {"mlp": (784, 512, 10, 128), "tiny": (32, 32, 10, 32)}  # in, hidden, classes, batch


def _block_ms(step, steps):
    start = time.perf_counter()
    for _ in range(steps):
        out = step()
    out.block_until_ready()
    return (time.perf_counter() - start) / steps * 1e3


def _interleave(sides, rounds, steps):
    """Per side: (median, best) ms/step over the timed blocks."""
    times = {name: [] for name in sides}
    for r in range(rounds):
        for name in (list(sides) if r % 2 == 0 else list(reversed(sides))):
            times[name].append(_block_ms(sides[name], steps))
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def _sides(in_dim, hidden, classes, batch):
    """The five training steps (callables returning the loss), started from equal weights."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from flax import nnx

    import unikeras as uk
    from unikeras import ops
    from unikeras.adapters.flax import functional, to_flax

    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((in_dim,)),
                               uk.layers.Dense(hidden, activation="relu", name="h1"),
                               uk.layers.Dense(hidden, activation="relu", name="h2"),
                               uk.layers.Dense(classes, name="logits")])
    weights = model.get_weights()

    class NativeMLP(nnx.Module):
        def __init__(self, rngs):
            self.h1 = nnx.Linear(in_dim, hidden, rngs=rngs)
            self.h2 = nnx.Linear(hidden, hidden, rngs=rngs)
            self.logits = nnx.Linear(hidden, classes, rngs=rngs)

        def __call__(self, x):
            return self.logits(nnx.relu(self.h2(nnx.relu(self.h1(x)))))

    native = NativeMLP(nnx.Rngs(0))
    for layer, k, b in zip((native.h1, native.h2, native.logits), weights[::2], weights[1::2]):
        layer.kernel[...], layer.bias[...] = jnp.asarray(k), jnp.asarray(b)

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, in_dim)).astype("float32"))
    y = jnp.asarray(rng.integers(0, classes, batch).astype("int32"))

    def xent(logits):
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def nnx_step(module, opt, x, y):
        loss, grads = nnx.value_and_grad(lambda m: xent(m(x)))(module)
        opt.update(module, grads)
        return loss

    jit_step = nnx.jit(nnx_step)
    hosted, native_cached = to_flax(model), NativeMLP(nnx.Rngs(0))
    nnx.update(native_cached, nnx.state(native))
    hosted_cached = to_flax(model)
    opts = {name: nnx.Optimizer(m, optax.adam(1e-3), wrt=nnx.Param)
            for name, m in (("A", hosted), ("B", native), ("D", native_cached),
                            ("E", hosted_cached))}
    cached_native = nnx.cached_partial(jit_step, native_cached, opts["D"])
    cached_hosted = nnx.cached_partial(jit_step, hosted_cached, opts["E"])

    variables, apply = functional(model)
    tx = optax.adam(1e-3)

    @jax.jit
    def pure_step(params, state, opt_state, x, y):
        def loss_fn(p):
            logits, new_state = apply({"params": p, "state": state}, x, training=True)
            return xent(logits), new_state
        (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), new_state, opt_state, loss

    carry = [variables["params"], variables["state"], tx.init(variables["params"])]

    def functional_side():
        carry[0], carry[1], carry[2], loss = pure_step(*carry, x, y)
        return loss

    sides = {"A": lambda: jit_step(hosted, opts["A"], x, y),
             "B": lambda: jit_step(native, opts["B"], x, y),
             "C": functional_side,
             "D": lambda: cached_native(x, y),
             "E": lambda: cached_hosted(x, y)}
    first = {name: float(step()) for name, step in sides.items()}
    if max(first.values()) - min(first.values()) > 1e-4 * abs(first["B"]):
        raise SystemExit(f"the sides disagree on the first loss: {first}")
    return sides


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (3 rounds x 5 steps)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--single-thread", action="store_true", help="XLA on one CPU thread")
    args = parser.parse_args(argv)
    if args.single_thread:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                                   "=false intra_op_parallelism_threads=1").strip()
    rounds, steps = (3, 5) if args.quick else (args.rounds, args.steps)
    names = {"A": "to_flax, nnx.jit", "B": "nnx.Linear, nnx.jit", "C": "functional, jax.jit",
             "D": "nnx.Linear, cached_partial", "E": "to_flax, cached_partial"}
    for net, (in_dim, hidden, classes, batch) in NETWORKS.items():
        sides = _sides(in_dim, hidden, classes, batch)
        for step in sides.values():  # warm-up
            for _ in range(5):
                step()
        ms, best = {}, {}
        for name, (median, fastest) in _interleave(sides, rounds, steps).items():
            ms[name], best[name] = median, fastest
        print(f"{net}: MLP {in_dim}-{hidden}-{hidden}-{classes}, batch {batch}, Adam; {rounds} "
              f"rounds x {steps} steps; load average {os.getloadavg()[0]:.1f}")
        for name, label in names.items():
            print(f"  {name} {label:28s} {ms[name]:8.3f} ms/step (best block {best[name]:.3f})")
        for what, t in (("medians", ms), ("best blocks", best)):
            print(f"  {what:11s}: (a) A/B = {t['A'] / t['B']:.3f} (target <= 1.02)   (b) C/D = "
                  f"{t['C'] / t['D']:.3f} (target <= 1.0)   E/D = {t['E'] / t['D']:.3f}")


if __name__ == "__main__":
    main()
