"""Overhead of unikeras against native code and Keras 3, as ratios measured side by side.

1. Drop-in: one training step of an MLP 784-512-512-10 (batch 128, Adam, cross-entropy on
   logits) with `to_torch(unikeras model)` in a plain PyTorch loop (A) against the same
   network written with `torch.nn` (B) in the same loop. A and B run in one process,
   interleaved in blocks of N steps for several rounds after a warm-up; each side reports
   the median per-step time over its blocks.
2. `model.fit`: the same MLP (softmax output, sparse categorical cross-entropy, Adam) on
   each unikeras backend and Keras 3 on the same backend, each framework/backend in its own
   subprocess (Keras runs one backend per process; separate thread pools). Per backend the
   unikeras and the Keras process are started one after the other, each runs a warm-up
   epoch (build + compilation, excluded), then the driver asks them in turn, never both at
   once, for a timed `fit` call, rotating the order every round; the median is kept. The
   unikeras process also holds the backend's hand-written loop (torch.nn + torch.optim,
   nnx.jit, tf.function) over the same NumPy batches, timed in the same rotation; uk/native
   is the median of the ratios of the calls of one round.

Run:  python bench/overhead.py            (full run, ~1 min on an idle 2-core box)
      python bench/overhead.py --quick    (smoke run)
      python bench/overhead.py --profile  (also cProfile the unikeras torch fit path)

Tests never assert timings; this script only reports them.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from machine_info import versions, git_revision  # noqa: E402
IN_DIM, HIDDEN, CLASSES, BATCH, LR = 784, 512, 10, 128, 1e-3
BACKENDS = ("torch", "jax", "tensorflow")
RESULT_TAG = "@@RESULT@@ "


# --------------------------------------------------------------------------------------------
# workers (each runs in its own subprocess and prints one RESULT_TAG line of JSON)
# --------------------------------------------------------------------------------------------
def synthetic_data(samples, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, IN_DIM)).astype("float32")
    y = rng.integers(0, CLASSES, size=(samples,)).astype("int64")
    return x, y


def worker_native(args):
    """Item 1: to_torch(unikeras MLP) vs torch.nn MLP, same plain PyTorch loop, interleaved."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    import unikeras as uk
    from unikeras.adapters.torch_nn import to_torch

    set_torch_threads(args)
    torch.manual_seed(0)
    uk.utils.set_random_seed(0)
    uk_model = uk.Sequential([
        uk.Input((IN_DIM,)),
        uk.layers.Dense(HIDDEN, activation="relu"),
        uk.layers.Dense(HIDDEN, activation="relu"),
        uk.layers.Dense(CLASSES),
    ])
    a = to_torch(uk_model)
    b = nn.Sequential(nn.Linear(IN_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                      nn.Linear(HIDDEN, CLASSES))
    # Same starting weights (unikeras kernels are (in, out), nn.Linear weights (out, in)).
    kernels = [p for n, p in a.named_parameters() if n.endswith("kernel")]
    biases = [p for n, p in a.named_parameters() if n.endswith("bias")]
    linears = [m for m in b if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for lin, k, bias in zip(linears, kernels, biases):
            lin.weight.copy_(k.T)
            lin.bias.copy_(bias)

    samples = BATCH * 32
    xs, ys = synthetic_data(samples)
    xs, ys = torch.from_numpy(xs), torch.from_numpy(ys)
    batches = [(xs[i:i + BATCH], ys[i:i + BATCH]) for i in range(0, samples, BATCH)]
    with torch.no_grad():
        max_diff = float((a(batches[0][0]) - b(batches[0][0])).abs().max())

    def make_runner(model):
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        state = {"i": 0, "loss": None}

        def run(n):
            i = state["i"]
            for _ in range(n):
                x, y = batches[i % len(batches)]
                i += 1
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            state["i"], state["loss"] = i, loss
        return run, state

    run_a, state_a = make_runner(a)
    run_b, state_b = make_runner(b)
    run_a(args.warmup)
    run_b(args.warmup)
    times = {"a": [], "b": []}
    for r in range(args.rounds):
        order = (("a", run_a), ("b", run_b)) if r % 2 == 0 else (("b", run_b), ("a", run_a))
        for key, run in order:
            t0 = time.perf_counter()
            run(args.block)
            times[key].append((time.perf_counter() - t0) / args.block)
    return {
        "threads": torch.get_num_threads(),
        "a_ms": 1e3 * statistics.median(times["a"]), "b_ms": 1e3 * statistics.median(times["b"]),
        "a_all_ms": [1e3 * t for t in times["a"]], "b_all_ms": [1e3 * t for t in times["b"]],
        "initial_max_abs_diff": max_diff,
        "final_loss_a": float(state_a["loss"]), "final_loss_b": float(state_b["loss"]),
    }


def set_torch_threads(args):
    """Only with --torch-threads; by default torch keeps its own thread count."""
    if args.torch_threads:
        import torch
        torch.set_num_threads(args.torch_threads)


def shuffled_batches(rng, x, y, batch_size, epochs):
    """The NumPy batches `fit` walks: a fresh permutation every epoch."""
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            yield x[idx], y[idx]


class NativeTorchFit:
    """Item 1's plain PyTorch loop (torch.nn MLP, torch.optim.Adam, F.cross_entropy on
    logits) behind a `fit(x, y, batch_size, epochs)` that walks NumPy data as `fit` does:
    a fresh shuffle every epoch, `torch.from_numpy` per batch."""

    def __init__(self):
        import numpy as np
        import torch
        from torch import nn
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(IN_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                                   nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.rng = np.random.default_rng(0)

    def fit(self, x, y, batch_size, epochs, verbose=0):
        import torch
        import torch.nn.functional as F
        for xb, yb in shuffled_batches(self.rng, x, y, batch_size, epochs):
            xb, yb = torch.from_numpy(xb), torch.from_numpy(yb)
            loss = F.cross_entropy(self.model(xb), yb)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()


class NativeJaxFit:
    """The hand-written Flax loop: nnx.Linear MLP, `nnx.Optimizer(optax.adam)`, one
    `nnx.jit` step called through `nnx.cached_partial` (nnx's fast path), the same NumPy
    batches as `fit`."""

    def __init__(self):
        import numpy as np
        import optax
        from flax import nnx
        rngs = nnx.Rngs(0)
        self.model = nnx.Sequential(nnx.Linear(IN_DIM, HIDDEN, rngs=rngs), nnx.relu,
                                    nnx.Linear(HIDDEN, HIDDEN, rngs=rngs), nnx.relu,
                                    nnx.Linear(HIDDEN, CLASSES, rngs=rngs))
        self.opt = nnx.Optimizer(self.model, optax.adam(LR), wrt=nnx.Param)

        @nnx.jit
        def step(model, opt, x, y):
            def loss_fn(model):
                return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()
            loss, grads = nnx.value_and_grad(loss_fn)(model)
            opt.update(model, grads)
            return loss

        self.step = nnx.cached_partial(step, self.model, self.opt)
        self.rng = np.random.default_rng(0)

    def fit(self, x, y, batch_size, epochs, verbose=0):
        loss = None
        for xb, yb in shuffled_batches(self.rng, x, y, batch_size, epochs):
            loss = self.step(xb, yb)
        loss.block_until_ready()


class NativeTfFit:
    """The hand-written TensorFlow loop: a tf.Module MLP, Adam written with tf ops, one
    `tf.function` step (batch dimension left free), the same NumPy batches as `fit`."""

    def __init__(self):
        import numpy as np
        import tensorflow as tf
        tf.random.set_seed(0)
        sizes = [IN_DIM, HIDDEN, HIDDEN, CLASSES]
        rng = np.random.default_rng(0)
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6 / (fan_in + fan_out))
            self.params.append(tf.Variable(rng.uniform(-limit, limit, (fan_in, fan_out)).astype("float32")))
            self.params.append(tf.Variable(tf.zeros(fan_out)))
        self.m = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.v = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.t = tf.Variable(0.0)
        params, m, v, t = self.params, self.m, self.v, self.t

        @tf.function(input_signature=[tf.TensorSpec((None, IN_DIM), tf.float32),
                                      tf.TensorSpec((None,), tf.int64)])
        def step(x, y):
            with tf.GradientTape() as tape:
                h = x
                for i in range(0, len(params) - 2, 2):
                    h = tf.nn.relu(h @ params[i] + params[i + 1])
                logits = h @ params[-2] + params[-1]
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
            grads = tape.gradient(loss, params)
            t.assign_add(1.0)
            alpha = LR * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for p, g, mi, vi in zip(params, grads, m, v):
                mi.assign_add((g - mi) * 0.1)
                vi.assign_add((tf.square(g) - vi) * 0.001)
                p.assign_sub(alpha * mi / (tf.sqrt(vi) + 1e-7))
            return loss

        self.step = step
        self.rng = np.random.default_rng(0)

    def fit(self, x, y, batch_size, epochs, verbose=0):
        loss = None
        for xb, yb in shuffled_batches(self.rng, x, y, batch_size, epochs):
            loss = self.step(xb, yb)
        loss.numpy()


NATIVE_FITS = {"torch": NativeTorchFit, "jax": NativeJaxFit, "tensorflow": NativeTfFit}


def build_fit_model(framework):
    if framework == "unikeras":
        import unikeras as lib
        lib.utils.set_random_seed(0)
    else:
        import keras as lib
        lib.utils.set_random_seed(0)
    model = lib.Sequential([
        lib.Input((IN_DIM,)),
        lib.layers.Dense(HIDDEN, activation="relu"),
        lib.layers.Dense(HIDDEN, activation="relu"),
        lib.layers.Dense(CLASSES, activation="softmax"),
    ])
    compile_kwargs = {}
    if framework == "keras" and args_global.keras_jit_compile != "auto":
        compile_kwargs["jit_compile"] = args_global.keras_jit_compile == "true"
    model.compile(optimizer=lib.optimizers.Adam(LR), loss="sparse_categorical_crossentropy",
                  **compile_kwargs)
    return model


def worker_fit(args):
    """Item 2: a model.fit server for one framework on one backend (set in the env).

    Builds the model, runs one warm-up epoch and prints a ready line, then reads commands
    from stdin, one a line: `run` (time one fit call), `profile` (cProfile one fit call),
    `quit`. The driver keeps one unikeras and one Keras server alive per backend and
    alternates `run` between them, so both sides see the same load on a shared machine.
    The unikeras server also holds the backend's hand-written loop (`NATIVE_FITS`) and
    times it on `run_native`: in the same process, so that each uk/native pair of calls
    runs seconds apart under the same conditions.
    """
    framework = args.framework
    samples, epochs = args.samples, args.epochs
    if os.environ.get("UNIKERAS_BACKEND" if framework == "unikeras" else "KERAS_BACKEND") == "torch":
        set_torch_threads(args)
    x, y = synthetic_data(samples)
    model = build_fit_model(framework)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)         # warm-up: build + compile
    warmup_s = time.perf_counter() - t0
    steps = epochs * math.ceil(samples / BATCH)
    native = None
    if framework == "unikeras":
        import unikeras
        backend = unikeras.config.backend()
        native = NATIVE_FITS[backend]()
        native.fit(x, y, batch_size=BATCH, epochs=1)                # its warm-up
    else:
        import keras
        backend = keras.backend.backend()
    emit({"ready": True, "backend": backend, "steps": steps, "warmup_s": warmup_s})
    for line in sys.stdin:
        command = line.strip()
        if command in ("run", "run_native"):
            runner = model if command == "run" else native
            t0 = time.perf_counter()
            runner.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
            emit({"ms": 1e3 * (time.perf_counter() - t0) / steps})
        elif command == "profile":
            import cProfile
            import io
            import pstats
            prof = cProfile.Profile()
            prof.enable()
            model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
            prof.disable()
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            stats.sort_stats("tottime").print_stats(args.profile_top)
            stats.sort_stats("cumulative").print_stats(args.profile_top)
            emit({"profile": buf.getvalue()})
        elif command == "quit":
            break
    return None


def emit(obj):
    print(RESULT_TAG + json.dumps(obj), flush=True)


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------
def worker_command(kind, extra_env, extra_args, args):
    env = dict(os.environ)
    env.update(extra_env)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind] + extra_args + [
        "--steps", str(args.steps), "--rounds", str(args.rounds), "--block", str(args.block), "--warmup", str(args.warmup),
        "--samples", str(args.samples), "--epochs", str(args.epochs),
        "--keras-jit-compile", args.keras_jit_compile,
        "--profile-top", str(args.profile_top), "--torch-threads", str(args.torch_threads)]
    return cmd, env


def run_worker(kind, extra_env, extra_args, args):
    """Run a one-shot worker to completion; its result dict, or {'error': ...}."""
    cmd, env = worker_command(kind, extra_env, extra_args, args)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
            result["wall_s"] = wall
            return result
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
    return {"error": f"exit code {proc.returncode}\n{tail}"}


class FitServer:
    """A `worker_fit` subprocess driven line by line; failures become {'error': ...}."""

    def __init__(self, framework, backend, args):
        import queue
        import tempfile
        import threading
        cmd, env = self.command(framework, backend, args)
        self.timeout = args.timeout
        self.error = None
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)
        self.lines = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                if line.startswith(RESULT_TAG):
                    self.lines.put(json.loads(line[len(RESULT_TAG):]))
            self.lines.put(None)
        threading.Thread(target=pump, daemon=True).start()
        self.info = self._read()
        self.info["startup_s"] = time.perf_counter() - self.started

    @staticmethod
    def command(framework, backend, args):
        """(argv, env) of the worker: this script's `worker_fit` on `backend`."""
        env_var = "UNIKERAS_BACKEND" if framework == "unikeras" else "KERAS_BACKEND"
        return worker_command("fit", {env_var: backend}, ["--framework", framework], args)

    def _read(self):
        import queue
        if self.error:
            return {"error": self.error}
        try:
            item = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            item = None
            self.proc.kill()
            self.error = f"no answer within {self.timeout} s"
        if item is None:
            if not self.error:
                self.proc.wait()
                self.stderr.seek(0)
                tail = "\n".join(self.stderr.read().strip().splitlines()[-25:])
                self.error = f"exit code {self.proc.returncode}\n{tail}"
            return {"error": self.error}
        return item

    def ask(self, command):
        if self.error:
            return {"error": self.error}
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def measure_fit(backend, args, profile=False):
    """unikeras and Keras fit servers on one backend, `run` alternated between them."""
    servers = {"uk": FitServer("unikeras", backend, args)}
    if not args.no_keras:
        servers["keras"] = FitServer("keras", backend, args)
    # who answers each timed call, with which command: the native loop lives in the uk server
    runs = {"uk": ("uk", "run"), "native": ("uk", "run_native"), "keras": ("keras", "run")}
    runs = {k: v for k, v in runs.items() if v[0] in servers}
    results = {}
    try:
        times = {k: [] for k in runs}
        errors = {k: servers[v[0]].info["error"] for k, v in runs.items()
                  if "error" in servers[v[0]].info}
        for r in range(args.repeats):
            keys = list(runs)     # rotate the order every round
            order = keys[r % len(keys):] + keys[:r % len(keys)]
            for key in order:
                if key in errors:
                    continue
                res = servers[runs[key][0]].ask(runs[key][1])
                if "error" in res:
                    errors[key] = res["error"]
                else:
                    times[key].append(res["ms"])
        for key, (name, _) in runs.items():
            server = servers[name]
            res = {"warmup_s": server.info.get("warmup_s"), "startup_s": server.info["startup_s"]}
            if key in errors:
                res["error"] = errors[key]
            elif times[key]:
                res["ms"] = statistics.median(times[key])
                res["samples_per_s"] = BATCH / (res["ms"] / 1e3)
                res["all_ms"] = times[key]
            results[key] = res
        pairs = list(zip(times["uk"], times["native"]))
        if pairs and "uk" not in errors and "native" not in errors:
            results["native"]["paired_ratio"] = statistics.median(u / n for u, n in pairs)
        if profile and "uk" not in errors:
            results["profile"] = servers["uk"].ask("profile").get("profile")
    finally:
        for server in servers.values():
            server.close()
    results.setdefault("keras", {"error": "skipped (--no-keras)"})
    results.setdefault("native", {})
    return results


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def main_driver(args):
    started = time.perf_counter()
    load0 = os.getloadavg()
    print("unikeras overhead benchmark" + (" (--quick)" if args.quick else ""))
    print(f"machine: {os.cpu_count()} CPUs ({cpu_name()}), {platform.system()} {platform.machine()}, "
          f"load average at start {load0[0]:.2f}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items())
          + f"; unikeras git {git_revision()}")
    print(f"settings: batch {BATCH}, MLP {IN_DIM}-{HIDDEN}-{HIDDEN}-{CLASSES}, Adam({LR}); "
          f"item 1: {args.rounds} rounds x {args.block} steps per side after {args.warmup} "
          f"warm-up steps; item 2: {args.samples} samples, timed fit of {args.epochs} epoch(s) "
          f"= {args.epochs * math.ceil(args.samples / BATCH)} steps, median of {args.repeats}, "
          f"after 1 warm-up epoch; keras jit_compile={args.keras_jit_compile}; torch threads "
          f"{args.torch_threads or 'default'}")
    print(flush=True)

    # -- 1. to_torch in a native loop ------------------------------------------------------
    native = run_worker("native", {"UNIKERAS_BACKEND": "torch"}, [], args)
    print("1. Training step in a plain PyTorch loop (torch.optim.Adam, F.cross_entropy on logits)")
    if "error" in native:
        print("   FAILED: " + native["error"].replace("\n", "\n   "))
    else:
        ratio = native["a_ms"] / native["b_ms"]
        print(f"   {'model':<34}{'ms/step':>10}{'samples/s':>12}")
        print(f"   {'A  to_torch(unikeras Sequential)':<34}{native['a_ms']:>10.3f}"
              f"{BATCH / native['a_ms'] * 1e3:>12.0f}")
        print(f"   {'B  torch.nn.Sequential':<34}{native['b_ms']:>10.3f}"
              f"{BATCH / native['b_ms'] * 1e3:>12.0f}")
        print(f"   ratio A/B = {ratio:.3f}   (torch threads {native['threads']}; per-block ms "
              f"A {min(native['a_all_ms']):.2f}..{max(native['a_all_ms']):.2f}, "
              f"B {min(native['b_all_ms']):.2f}..{max(native['b_all_ms']):.2f}; "
              f"initial max |A-B| output diff {native['initial_max_abs_diff']:.1e}; last loss "
              f"A {native['final_loss_a']:.3f}, B {native['final_loss_b']:.3f})")
    print(flush=True)

    # -- 2. model.fit --------------------------------------------------------------------------
    rows = []
    profile = None
    for backend in args.backends:
        res = measure_fit(backend, args, profile=args.profile and backend == "torch")
        rows.append((backend, res["uk"], res["keras"], res["native"]))
        profile = profile or res.get("profile")
        print(f"   ... {backend} done", file=sys.stderr, flush=True)

    print("2. model.fit (verbose=0, loss only, no metrics); one subprocess per framework and "
          "backend; timed fit calls alternate between them")
    print(f"   {'backend':<11}{'unikeras ms/step':>17}{'samples/s':>11}"
          f"{'Keras ms/step':>15}{'samples/s':>11}{'uk/Keras':>10}{'uk/native':>11}")
    errors = []
    for backend, uk_res, k_res, n_res in rows:
        uk_ms, k_ms, n_ms = uk_res.get("ms"), k_res.get("ms"), n_res.get("ms")
        ratio = uk_ms / k_ms if uk_ms and k_ms else None
        vs_native = n_res.get("paired_ratio")
        print(f"   {backend:<11}{fmt(uk_ms, '.3f'):>17}{fmt(uk_res.get('samples_per_s'), '.0f'):>11}"
              f"{fmt(k_ms, '.3f'):>15}{fmt(k_res.get('samples_per_s'), '.0f'):>11}"
              f"{fmt(ratio, '.3f'):>10}{fmt(vs_native, '.3f'):>11}")
        for name, res in (("unikeras", uk_res), ("keras", k_res), ("native loop", n_res)):
            if "error" in res and not res["error"].startswith("skipped"):
                errors.append(f"{name} on {backend}: {res['error']}")
    loops = {"torch": "torch.nn + torch.optim.Adam", "jax": "nnx.jit + nnx.cached_partial",
             "tensorflow": "tf.function + tf ops Adam"}
    for backend, _, k_res, n_res in rows:
        if n_res.get("ms"):
            keras_vs = (f", Keras/native {k_res['ms'] / n_res['ms']:.3f}" if k_res.get("ms")
                        else "")
            print(f"   native {backend} loop ({loops[backend]}) in the unikeras process, same "
                  f"data, interleaved: {n_res['ms']:.3f} ms/step, "
                  f"{n_res['samples_per_s']:.0f} samples/s; uk/native = median of the paired "
                  f"ratios of the calls{keras_vs}")
    if "b_ms" in native:
        print(f"   (item 1 B, measured earlier in another process: {native['b_ms']:.3f} ms/step)")
    print("   warm-up epoch (build + compile), s: " + ", ".join(
        f"{b} uk {fmt(u.get('warmup_s'), '.1f')} / Keras {fmt(k.get('warmup_s'), '.1f')}"
        for b, u, k, _ in rows))
    print("   subprocess start to ready (imports + warm-up), s: " + ", ".join(
        f"{b} uk {fmt(u.get('startup_s'), '.0f')} / Keras {fmt(k.get('startup_s'), '.0f')}"
        for b, u, k, _ in rows))
    print("   each timed fit call, ms/step:")
    for b, u, k, n in rows:
        parts = [f"uk [{', '.join(f'{t:.1f}' for t in u.get('all_ms', []))}]",
                 f"Keras [{', '.join(f'{t:.1f}' for t in k.get('all_ms', []))}]"]
        if n.get("all_ms"):
            parts.append(f"native [{', '.join(f'{t:.1f}' for t in n['all_ms'])}]")
        print(f"     {b:<11}" + "  ".join(parts))
    for e in errors:
        print("   FAILED " + e.replace("\n", "\n      "))
    if profile:
        print()
        print(f"cProfile of one unikeras torch fit call ({args.epochs} epoch(s)), top "
              f"{args.profile_top} by tottime, then by cumulative time:")
        print(profile.rstrip())
    load1 = os.getloadavg()
    print()
    print(f"load average at end {load1[0]:.2f}; total wall {time.perf_counter() - started:.0f} s")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few steps: a smoke run")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps per fit call in item 2 (default 64 = 4096 samples x 2 "
                        "epochs; --quick 8) and, unless --block is given, N/4 steps per "
                        "timed block in item 1")
    p.add_argument("--rounds", type=int, default=None,
                   help="item 1: interleaved rounds (default 16, --quick 3)")
    p.add_argument("--block", type=int, default=None,
                   help="item 1: steps per timed block (default --steps/4)")
    p.add_argument("--warmup", type=int, default=None, help="item 1: warm-up steps per side")
    p.add_argument("--repeats", type=int, default=None,
                   help="item 2: timed fit calls per framework, alternating unikeras / Keras "
                        "(order flipped every round), median kept (default 4, --quick 2)")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="item 2: comma-separated backends (default torch,jax,tensorflow)")
    p.add_argument("--no-keras", action="store_true", help="item 2: skip the Keras 3 runs")
    p.add_argument("--keras-jit-compile", choices=("auto", "true", "false"), default="auto",
                   help="item 2: jit_compile passed to Keras compile (default: Keras's own "
                        "'auto', which means XLA on jax and tensorflow)")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="call torch.set_num_threads(N) in the torch runs (default 0: leave "
                        "torch's own default alone)")
    p.add_argument("--profile", action="store_true",
                   help="also run cProfile on the unikeras torch fit path")
    p.add_argument("--profile-top", type=int, default=10)
    p.add_argument("--timeout", type=int, default=600, help="seconds per subprocess")
    # internal
    p.add_argument("--worker", choices=("native", "fit"), help=argparse.SUPPRESS)
    p.add_argument("--framework", choices=("unikeras", "keras"), help=argparse.SUPPRESS)
    p.add_argument("--samples", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps is None:
        args.steps = 8 if args.quick else 64
    if args.block is None:
        args.block = max(1, args.steps // 4)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 16
    if args.warmup is None:
        args.warmup = 5 if args.quick else 20
    if args.repeats is None:
        args.repeats = 2 if args.quick else 4
    # item 2: one fit call covers about `steps` steps: up to 32 batches of data per epoch
    # (4096 samples), as many epochs as needed.
    if args.samples is None:
        args.samples = BATCH * max(1, min(args.steps, 32))
    if args.epochs is None:
        args.epochs = max(1, math.ceil(args.steps / math.ceil(args.samples / BATCH)))
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    return args


args_global = None

if __name__ == "__main__":
    args_global = parse_args()
    if args_global.worker:
        if args_global.worker == "native":
            emit(worker_native(args_global))
        else:
            worker_fit(args_global)
    else:
        main_driver(args_global)
