"""Per-call dispatch overhead of `unikeras.ops` against the native op, on small tensors.

For each backend (torch, jax, tensorflow; eager, no jit / tf.function) and each case

    add      unikeras.ops.add(x, y)     vs torch.add / jnp.add / tf.add          (x, y: (8, 8) float32)
    add_s    unikeras.ops.add(x, 1.0)   vs the native add with a Python scalar
    matmul   unikeras.ops.matmul(x, y)  vs torch.matmul / jnp.matmul / tf.matmul

the script times `number` calls with `timeit` in blocks, alternating a unikeras block
and a native block (the order flips every round), for several rounds after a warm-up, and
reports per call: minimum and median over the blocks for each side, the difference
(unikeras - native, in us) and the ratio (unikeras / native). On an 8x8 tensor the op itself
is tiny, so the difference is the Python dispatch cost of unikeras.

Each backend runs in its own subprocess (`UNIKERAS_BACKEND=...`), one after the other.
jax calls are not blocked on (`block_until_ready`) per call: that is dispatch cost only,
the same for both sides; each block ends with one `block_until_ready` outside the timing.

Run:  python bench/dispatch.py            (full run)
      python bench/dispatch.py --quick    (smoke run)
      python bench/dispatch.py --number N (calls per timed block)

Tests never assert timings; this script only reports them.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from machine_info import versions, git_revision, loadavg  # noqa: E402
BACKENDS = ("torch", "jax", "tensorflow")
CASES = ("add", "add_s", "matmul")
CASE_LABEL = {
    "add": "add(x, y)",
    "add_s": "add(x, 1.0)",
    "matmul": "matmul(x, y)",
}
NATIVE_LABEL = {
    "torch": {"add": "torch.add", "add_s": "torch.add", "matmul": "torch.matmul"},
    "jax": {"add": "jnp.add", "add_s": "jnp.add", "matmul": "jnp.matmul"},
    "tensorflow": {"add": "tf.add", "add_s": "tf.add", "matmul": "tf.matmul"},
}
RESULT_TAG = "@@RESULT@@ "


# --------------------------------------------------------------------------------------------
# worker (one backend per subprocess; prints one RESULT_TAG line of JSON)
# --------------------------------------------------------------------------------------------
def native_ops(backend):
    """(native add, native matmul, to_native(np_array), to_numpy(t), sync(t))."""
    if backend == "torch":
        import torch
        return (torch.add, torch.matmul, torch.from_numpy, lambda t: t.detach().numpy(),
                lambda t: None)
    if backend == "jax":
        import jax.numpy as jnp
        import numpy as np
        return (jnp.add, jnp.matmul, jnp.asarray, np.asarray, lambda t: t.block_until_ready())
    if backend == "tensorflow":
        import tensorflow as tf
        return (tf.add, tf.matmul, tf.convert_to_tensor, lambda t: t.numpy(), lambda t: None)
    raise ValueError(backend)


def worker(args):
    import numpy as np

    import unikeras
    import unikeras.ops as uops
    from unikeras import config

    backend = args.worker
    assert config.backend() == backend, (config.backend(), backend)
    n_add, n_matmul, to_native, to_numpy, sync = native_ops(backend)

    rng = np.random.default_rng(0)
    xn = rng.standard_normal((8, 8)).astype("float32")
    yn = rng.standard_normal((8, 8)).astype("float32")
    x, y = to_native(xn), to_native(yn)

    pairs = {
        "add": (lambda: uops.add(x, y), lambda: n_add(x, y), xn + yn),
        "add_s": (lambda: uops.add(x, 1.0), lambda: n_add(x, 1.0), xn + np.float32(1.0)),
        "matmul": (lambda: uops.matmul(x, y), lambda: n_matmul(x, y), xn @ yn),
    }
    # The timed statements call the ops directly (no lambda in between), same shape on both sides.
    stmts = {
        "add": ("uops.add(x, y)", "n_add(x, y)"),
        "add_s": ("uops.add(x, 1.0)", "n_add(x, 1.0)"),
        "matmul": ("uops.matmul(x, y)", "n_matmul(x, y)"),
    }
    env = {"uops": uops, "n_add": n_add, "n_matmul": n_matmul, "x": x, "y": y}

    out = {"backend": backend, "cases": {}}
    for case in args.cases:
        f_uk, f_nat, expected = pairs[case]
        r_uk, r_nat = f_uk(), f_nat()
        check = {
            "uk_type": type(r_uk).__module__ + "." + type(r_uk).__qualname__,
            "native_type": type(r_nat).__module__ + "." + type(r_nat).__qualname__,
            "uk_dtype": str(r_uk.dtype), "native_dtype": str(r_nat.dtype),
            "max_abs_diff_uk_native": float(np.max(np.abs(to_numpy(r_uk) - to_numpy(r_nat)))),
            "max_abs_diff_uk_numpy": float(np.max(np.abs(to_numpy(r_uk) - expected))),
        }
        t_uk = timeit.Timer(stmts[case][0], globals=env)
        t_nat = timeit.Timer(stmts[case][1], globals=env)
        # Warm-up: both sides, a few blocks' worth (caches, lazy imports, allocator).
        for _ in range(args.warmup):
            t_uk.timeit(args.number)
            t_nat.timeit(args.number)
        sync(f_uk())
        blocks = {"uk": [], "native": []}
        for r in range(args.repeats):
            order = (("uk", t_uk), ("native", t_nat)) if r % 2 == 0 else \
                    (("native", t_nat), ("uk", t_uk))
            for side, timer in order:
                dt = timer.timeit(args.number)
                sync(f_nat())  # drain jax's async queue outside the timing
                blocks[side].append(dt / args.number * 1e6)  # us per call
        out["cases"][case] = {"blocks_us": blocks, "check": check}
    print(RESULT_TAG + json.dumps(out), flush=True)


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------
def run_backend(backend, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", backend,
           "--number", str(args.number), "--repeats", str(args.repeats),
           "--warmup", str(args.warmup), "--cases", ",".join(args.cases)]
    env = dict(os.environ, UNIKERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            res = json.loads(line[len(RESULT_TAG):])
            res["wall_s"] = wall
            return res
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def summarize(blocks):
    uk, nat = blocks["uk"], blocks["native"]
    s = {
        "uk_min": min(uk), "uk_med": statistics.median(uk),
        "nat_min": min(nat), "nat_med": statistics.median(nat),
    }
    s["diff_min"] = s["uk_min"] - s["nat_min"]
    s["diff_med"] = s["uk_med"] - s["nat_med"]
    s["ratio_min"] = s["uk_min"] / s["nat_min"]
    s["ratio_med"] = s["uk_med"] / s["nat_med"]
    # Ratio of each adjacent (same round) pair, median over rounds: least sensitive to drift.
    s["ratio_pair_med"] = statistics.median(u / n for u, n in zip(uk, nat))
    return s


def print_table(results, args, load_start, load_end, wall):
    v = versions()
    print("unikeras.ops dispatch overhead vs native eager ops, (8, 8) float32 inputs")
    print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    print(f"unikeras commit: {git_revision()}")
    print(f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs; "
          f"load average {load_start} at start, {load_end} at end")
    print(f"method: timeit, {args.number} calls per block, {args.repeats} rounds of "
          f"(unikeras block, native block) alternating, order flipped every round, "
          f"{args.warmup} warm-up block(s) per side; us per call; "
          f"diff = unikeras - native; ratio = unikeras / native")
    print()
    hdr = (f"{'backend':<11} {'op':<13} {'native':<13} {'uk min':>8} {'uk med':>8} "
           f"{'nat min':>8} {'nat med':>8} {'diff min':>9} {'diff med':>9} "
           f"{'ratio min':>9} {'ratio med':>9}")
    print(hdr)
    print("-" * len(hdr))
    spreads = []
    for backend in args.backends:
        res = results[backend]
        if "error" in res:
            print(f"{backend:<11} FAILED: {res['error']}")
            continue
        for case in args.cases:
            c = res["cases"][case]
            s = summarize(c["blocks_us"])
            print(f"{backend:<11} {CASE_LABEL[case]:<13} {NATIVE_LABEL[backend][case]:<13} "
                  f"{s['uk_min']:8.2f} {s['uk_med']:8.2f} {s['nat_min']:8.2f} {s['nat_med']:8.2f} "
                  f"{s['diff_min']:+9.2f} {s['diff_med']:+9.2f} "
                  f"{s['ratio_min']:9.2f} {s['ratio_med']:9.2f}")
            uk, nat = c["blocks_us"]["uk"], c["blocks_us"]["native"]
            spreads.append(f"  {backend:<11} {CASE_LABEL[case]:<13} uk {min(uk):.2f}..{max(uk):.2f}"
                           f"  native {min(nat):.2f}..{max(nat):.2f}"
                           f"  per-round ratio median {s['ratio_pair_med']:.2f}")
    print()
    print("per-block spread (us per call, min..max) and median of the per-round ratios:")
    print("\n".join(spreads))
    print()
    print("result checks (unikeras vs native output):")
    for backend in args.backends:
        res = results[backend]
        if "error" in res:
            continue
        for case in args.cases:
            ch = res["cases"][case]["check"]
            print(f"  {backend:<11} {CASE_LABEL[case]:<13} uk {ch['uk_type']} {ch['uk_dtype']}, "
                  f"native {ch['native_type']} {ch['native_dtype']}, "
                  f"max |uk-native| {ch['max_abs_diff_uk_native']:.1e}")
        print(f"  {backend:<11} subprocess wall time {res['wall_s']:.1f} s (imports included)")
    print(f"total wall time {wall:.1f} s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: fewer calls per block and fewer rounds")
    p.add_argument("--number", type=int, default=None,
                   help="calls per timed block (default 2000, 500 with --quick)")
    p.add_argument("--repeats", type=int, default=None,
                   help="rounds of (unikeras block, native block) (default 15, 4 with --quick)")
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up blocks per side before timing (default 2, 1 with --quick)")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--cases", default=",".join(CASES), help="subset of " + ",".join(CASES))
    p.add_argument("--timeout", type=float, default=600.0, help="per-backend subprocess timeout (s)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="also write the raw block times to this file")
    args = p.parse_args(argv)

    if args.number is None:
        args.number = 500 if args.quick else 2000
    if args.repeats is None:
        args.repeats = 4 if args.quick else 15
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    args.cases = [c for c in args.cases.split(",") if c] if isinstance(args.cases, str) else args.cases
    for c in args.cases:
        if c not in CASES:
            p.error(f"unknown case {c!r}; expected some of {','.join(CASES)}")
    if args.number < 1 or args.repeats < 1 or args.warmup < 0:
        p.error("--number and --repeats must be >= 1, --warmup >= 0")

    if args.worker:
        worker(args)
        return

    args.backends = [b for b in args.backends.split(",") if b]
    for b in args.backends:
        if b not in BACKENDS:
            p.error(f"unknown backend {b!r}; expected some of {','.join(BACKENDS)}")
    load_start = loadavg()
    t0 = time.perf_counter()
    results = {}
    for backend in args.backends:  # one at a time, never two processes timing at once
        results[backend] = run_backend(backend, args)
    wall = time.perf_counter() - t0
    print_table(results, args, load_start, loadavg(), wall)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items()}, "results": results}, f,
                      indent=1)


if __name__ == "__main__":
    main()
