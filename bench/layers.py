"""Speed of the layer catalog against native code and Keras 3, as ratios measured side by side.

1. drop-in: one training step (torch.optim.Adam, F.cross_entropy on logits) of
   `to_torch(unikeras model)` (A) and of the same network written with `torch.nn` (B),
   started from the same weights, in the same plain PyTorch loop: a CNN, an LSTM classifier
   and a transformer block. A and B run in one process, interleaved in blocks of steps.
2. inference: the `to_torch` module's forward at batch 1 under `torch.no_grad()` against
   the `torch.nn` network (MLP 784-512-512-10, the CNN, the LSTM), interleaved.
3. fit: `model.fit` of the CNN and the LSTM on each backend against Keras 3 `fit` on the
   same backend, one subprocess per framework and backend, timed calls alternating between
   them, never two at once (bench/overhead.py's method and server protocol).
4. openvino: latency at batch 1 and 128 of `unikeras.adapters.openvino.compile(model)`
   against the `torch.nn` twin converted with `openvino.convert_model`, both compiled for
   f32 with the same thread count, interleaved.

Every pair first checks that both sides compute the same outputs. Ratios are unikeras time
over reference time: 1.0 is level, below 1.0 unikeras is faster.

Run:  python bench/layers.py                 (full run)
      python bench/layers.py --quick         (smoke run: checks that everything runs)
      python bench/layers.py --only drop-in,inference --rounds 20 --torch-threads 1
      python bench/layers.py --only drop-in --nets lstm   (one network of each part)

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
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from machine_info import git_revision, versions  # noqa: E402
from overhead import RESULT_TAG, FitServer, cpu_name, emit, fmt, set_torch_threads  # noqa: E402

PARTS = ("drop-in", "inference", "fit", "openvino")
BACKENDS = ("torch", "jax", "tensorflow")
CLASSES, LR = 10, 1e-3
INPUT_SHAPES = {"mlp": (784,), "cnn": (28, 28, 1), "lstm": (32, 32), "block": (64, 64)}
TRAIN_BATCH = {"cnn": 64, "lstm": 64, "block": 32}
TARGETS = {"drop-in": 1.03, "inference": 1.3, "fit": 1.0, "openvino": 1.0}
OV_BATCHES = (1, 128)


# --------------------------------------------------------------------------------------------
# the networks: one definition for unikeras and Keras, a torch.nn twin for each
# --------------------------------------------------------------------------------------------
def build_network(lib, name):
    """`name`'s network built with `lib` (the unikeras or the keras module), logits out."""
    lib.utils.set_random_seed(0)
    L = lib.layers
    if name == "block":
        inputs = lib.Input(INPUT_SHAPES[name])
        attended = L.MultiHeadAttention(num_heads=4, key_dim=16)(inputs, inputs)
        x = L.LayerNormalization()(L.Add()([inputs, attended]))
        mlp = L.Dense(64)(L.Dense(128, activation="relu")(x))
        x = L.LayerNormalization()(L.Add()([x, mlp]))
        return lib.Model(inputs, L.Dense(CLASSES)(L.GlobalAveragePooling1D()(x)))
    stacks = {
        "mlp": lambda: [L.Dense(512, activation="relu"), L.Dense(512, activation="relu")],
        "cnn": lambda: [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten()],
        "lstm": lambda: [L.LSTM(128)],
    }
    return lib.Sequential([lib.Input(INPUT_SHAPES[name])] + stacks[name]() + [L.Dense(CLASSES)])


def _layers_of(model, class_name):
    return [layer for layer in model.layers if type(layer).__name__ == class_name]


def _linear_weights(dense):
    """A Dense layer's (kernel (in, out), bias) as nn.Linear's (weight (out, in), bias)."""
    kernel, bias = dense.get_weights()
    return kernel.T, bias


def _twin_mlp(model):
    from torch import nn
    net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                        nn.Linear(512, CLASSES))
    pairs = []
    for linear, dense in zip(net[::2], _layers_of(model, "Dense")):
        pairs += zip((linear.weight, linear.bias), _linear_weights(dense))
    return net, pairs


def _twin_cnn(model):
    """NCHW in; conv kernels HWIO -> OIHW; the Dense rows reordered from Keras's flatten
    order (H, W, C) to torch's (C, H, W)."""
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, CLASSES))
    pairs = []
    for conv, layer in zip((net[0], net[3]), _layers_of(model, "Conv2D")):
        kernel, bias = layer.get_weights()
        pairs += [(conv.weight, kernel.transpose(3, 2, 0, 1)), (conv.bias, bias)]
    kernel, bias = _layers_of(model, "Dense")[0].get_weights()
    kernel = kernel.reshape(5, 5, 64, CLASSES).transpose(2, 0, 1, 3).reshape(1600, CLASSES)
    return net, pairs + [(net[7].weight, kernel.T), (net[7].bias, bias)]


def _twin_lstm(model):
    """Keras kernels (in, 4H) with gates i, f, c, o = torch's i, f, g, o, transposed; Keras's
    one bias goes to bias_ih, bias_hh is zero and frozen (so that Adam moves the one bias
    as in Keras and both sides train alike)."""
    import numpy as np
    from torch import nn

    class LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(32, 128, batch_first=True)
            self.head = nn.Linear(128, CLASSES)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    net = LSTMNet()
    kernel, recurrent, bias = _layers_of(model, "LSTM")[0].get_weights()
    lstm, dense = net.lstm, _layers_of(model, "Dense")[0]
    lstm.bias_hh_l0.requires_grad_(False)
    pairs = [(lstm.weight_ih_l0, kernel.T), (lstm.weight_hh_l0, recurrent.T),
             (lstm.bias_ih_l0, bias), (lstm.bias_hh_l0, np.zeros_like(bias))]
    return net, pairs + list(zip((net.head.weight, net.head.bias), _linear_weights(dense)))


def _twin_block(model):
    """Keras MHA: q/k/v kernels (dim, heads, key_dim), biases (heads, key_dim), output
    kernel (heads, key_dim, dim). torch: in_proj_weight = [Wq; Wk; Wv] (3*dim, dim) with
    rows head-major, out_proj.weight (dim, dim)."""
    import numpy as np
    import torch.nn.functional as F
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(64, 4, batch_first=True)
            self.norm1 = nn.LayerNorm(64, eps=1e-3)       # Keras's default epsilon
            self.up, self.down = nn.Linear(64, 128), nn.Linear(128, 64)
            self.norm2 = nn.LayerNorm(64, eps=1e-3)
            self.head = nn.Linear(64, CLASSES)

        def forward(self, x):
            attended, _ = self.attention(x, x, x, need_weights=False)
            x = self.norm1(x + attended)
            x = self.norm2(x + self.down(F.relu(self.up(x))))
            return self.head(x.mean(dim=1))

    net = Block()
    w = _layers_of(model, "MultiHeadAttention")[0].get_weights()
    dim = w[0].shape[0]
    attention = net.attention
    pairs = [(attention.in_proj_weight,
              np.concatenate([w[i].reshape(dim, -1).T for i in (0, 2, 4)])),
             (attention.in_proj_bias, np.concatenate([w[i].reshape(-1) for i in (1, 3, 5)])),
             (attention.out_proj.weight, w[6].reshape(-1, dim).T),
             (attention.out_proj.bias, w[7])]
    for norm, layer in zip((net.norm1, net.norm2), _layers_of(model, "LayerNormalization")):
        pairs += zip((norm.weight, norm.bias), layer.get_weights())
    for linear, dense in zip((net.up, net.down, net.head), _layers_of(model, "Dense")):
        pairs += zip((linear.weight, linear.bias), _linear_weights(dense))
    return net, pairs


_TWINS = {"mlp": _twin_mlp, "cnn": _twin_cnn, "lstm": _twin_lstm, "block": _twin_block}


def torch_twin(name, model):
    """The `torch.nn` network computing what the unikeras `model` computes, with its weights
    copied in torch's layouts (built here so that the driver never imports torch)."""
    import numpy as np
    import torch

    net, pairs = _TWINS[name](model)
    with torch.no_grad():
        for param, array in pairs:
            if tuple(param.shape) != array.shape:
                raise ValueError(f"{name} twin: parameter of shape {tuple(param.shape)} "
                                 f"given weights of shape {array.shape}")
            param.copy_(torch.from_numpy(np.ascontiguousarray(array, dtype="float32")))
    return net


def native_layout(name, x):
    """`x` (unikeras layout, NumPy or torch) in the twin's layout: NCHW for the CNN."""
    if name != "cnn":
        return x
    if hasattr(x, "permute"):
        return x.permute(0, 3, 1, 2).contiguous()
    return x.transpose(0, 3, 1, 2).copy()


def synthetic_data(name, samples, seed=0):
    """Standard normal inputs of `name`'s shape and random labels in 0..9, NumPy."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples,) + INPUT_SHAPES[name]).astype("float32")
    y = rng.integers(0, CLASSES, size=(samples,)).astype("int64")
    return x, y


def check_agree(label, ours, theirs):
    """Max |ours - theirs|; raises if beyond float32 noise (relative to the output scale)."""
    import numpy as np
    ours, theirs = np.asarray(ours, dtype="float64"), np.asarray(theirs, dtype="float64")
    if ours.shape != theirs.shape:
        raise AssertionError(f"{label}: output shapes differ, {ours.shape} vs {theirs.shape}")
    diff = float(np.abs(ours - theirs).max())
    scale = 1.0 + float(np.abs(theirs).max())
    if not diff <= 1e-4 * scale:
        raise AssertionError(f"{label}: outputs disagree, max |diff| {diff:.3g} "
                             f"(output scale {scale:.3g})")
    return diff


def interleave(runners, rounds, block, warmup):
    """Seconds per call of each runner (`run(n)` does n calls): after `warmup` calls each,
    `rounds` rounds of one block of `block` calls per runner, the order flipped every round."""
    for run in runners.values():
        run(warmup)
    keys = list(runners)
    times = {key: [] for key in keys}
    for r in range(rounds):
        for key in (keys if r % 2 == 0 else keys[::-1]):
            t0 = time.perf_counter()
            runners[key](block)
            times[key].append((time.perf_counter() - t0) / block)
    return times


def summarize(times_a, times_b):
    """Medians (ms), their ratio, the median of the per-round ratios and the block spreads."""
    a, b = statistics.median(times_a), statistics.median(times_b)
    return {"a_ms": 1e3 * a, "b_ms": 1e3 * b, "ratio": a / b,
            "round_ratio": statistics.median(x / y for x, y in zip(times_a, times_b)),
            "a_range_ms": [1e3 * min(times_a), 1e3 * max(times_a)],
            "b_range_ms": [1e3 * min(times_b), 1e3 * max(times_b)]}


def selected(names, args):
    """The networks of `names` that --nets asks for (all of them without --nets)."""
    return [name for name in names if not args.nets or name in args.nets]


def per_network(names, measure, args):
    """{name: measure(name)} for the `selected` names, a failure recorded as {'error':
    traceback tail} per network."""
    results = {}
    for name in selected(names, args):
        try:
            results[name] = measure(name)
        except Exception:  # noqa: BLE001 - reported, the other networks still run
            results[name] = {"error": "\n".join(traceback.format_exc().strip().splitlines()[-12:])}
        print(f"   ... {name} done", file=sys.stderr, flush=True)
    return results


# --------------------------------------------------------------------------------------------
# workers (each runs in its own subprocess and prints RESULT_TAG lines of JSON)
# --------------------------------------------------------------------------------------------
def torch_pair(name):
    """(to_torch(unikeras network), its torch.nn twin with the same weights)."""
    import unikeras as uk
    from unikeras.adapters.torch_nn import to_torch
    model = build_network(uk, name)
    return to_torch(model), torch_twin(name, model)


def worker_dropin(args):
    import torch
    import torch.nn.functional as F

    set_torch_threads(args)
    torch.manual_seed(0)

    def measure(name):
        a, b = torch_pair(name)
        batch = TRAIN_BATCH[name]
        xs, ys = synthetic_data(name, batch * 8)
        xs, ys = torch.from_numpy(xs), torch.from_numpy(ys)
        batches = [(xs[i:i + batch], native_layout(name, xs[i:i + batch]), ys[i:i + batch])
                   for i in range(0, len(xs), batch)]
        with torch.no_grad():
            diff = check_agree(name, a(batches[0][0]), b(batches[0][1]))

        def runner(model, side):
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            state = {"i": 0, "loss": float("nan")}

            def run(n):
                for _ in range(n):
                    batch_ = batches[state["i"] % len(batches)]
                    state["i"] += 1
                    loss = F.cross_entropy(model(batch_[side]), batch_[2])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                state["loss"] = float(loss)
            return run, state

        (run_a, state_a), (run_b, state_b) = runner(a, 0), runner(b, 1)
        times = interleave({"a": run_a, "b": run_b}, args.rounds, args.block, args.warmup)
        return dict(summarize(times["a"], times["b"]), batch=batch, max_abs_diff=diff,
                    loss_a=state_a["loss"], loss_b=state_b["loss"])

    return {"threads": torch.get_num_threads(),
            "nets": per_network(("cnn", "lstm", "block"), measure, args)}


def worker_inference(args):
    import torch

    set_torch_threads(args)

    def measure(name):
        a, b = torch_pair(name)
        a.eval()
        b.eval()
        x = torch.from_numpy(synthetic_data(name, 1)[0])
        x_native = native_layout(name, x)

        def runner(model, inputs):
            def run(n):
                with torch.no_grad():
                    for _ in range(n):
                        model(inputs)
            return run

        with torch.no_grad():
            diff = check_agree(name, a(x), b(x_native))
        times = interleave({"a": runner(a, x), "b": runner(b, x_native)}, args.rounds,
                           args.infer_block, args.infer_block)
        return dict(summarize(times["a"], times["b"]), max_abs_diff=diff)

    return {"threads": torch.get_num_threads(),
            "nets": per_network(("mlp", "cnn", "lstm"), measure, args)}


def worker_openvino(args):
    import numpy as np
    import openvino as ov
    import torch

    import unikeras as uk
    from unikeras.adapters import openvino as uov

    set_torch_threads(args)
    threads = args.ov_threads or os.cpu_count()
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1}

    def measure(name):
        model = build_network(uk, name)
        twin = torch_twin(name, model).eval()
        ours = uov.compile(model, config=config)
        example = torch.from_numpy(native_layout(name, synthetic_data(name, 1)[0]))
        converted_model = ov.convert_model(twin, example_input=example)
        converted_model.reshape(ov.PartialShape([-1] + list(example.shape[1:])))  # as ours
        converted = ov.Core().compile_model(
            converted_model, "CPU", dict(config, INFERENCE_PRECISION_HINT="f32"))
        request = converted.create_infer_request()

        def call_converted(x):
            return np.asarray(request.infer([x])[converted.outputs[0]])

        out = {"precision": [ours.inference_precision,
                             converted.get_property("INFERENCE_PRECISION_HINT").get_type_name()],
               "threads": [ours.compiled.get_property("INFERENCE_NUM_THREADS"),
                           converted.get_property("INFERENCE_NUM_THREADS")]}
        for batch in OV_BATCHES:
            x = synthetic_data(name, batch, seed=batch)[0]
            x_native = native_layout(name, x)
            with torch.no_grad():
                reference = twin(torch.from_numpy(x_native)).numpy()
            diff = max(check_agree(f"{name} openvino", ours(x), reference),
                       check_agree(f"{name} converted", call_converted(x_native), reference))

            def runner(call, inputs):
                def run(n):
                    for _ in range(n):
                        call(inputs)
                return run
            block = args.ov_block if batch == 1 else max(1, args.ov_block // 10)
            times = interleave({"a": runner(ours, x), "b": runner(call_converted, x_native)},
                               args.rounds, block, block)
            out[f"batch_{batch}"] = dict(summarize(times["a"], times["b"]), max_abs_diff=diff)
        return out

    return {"threads": threads, "nets": per_network(("cnn", "lstm"), measure, args)}


def worker_fit(args):
    """A model.fit server (bench/overhead.py's protocol) for one framework on one backend
    (set in the env), holding the CNN and the LSTM: it builds and compiles both, runs one
    warm-up epoch of each (build + jit/tf.function tracing, excluded), prints a ready line,
    then answers `run <network>` (one timed fit call) and `quit` read from stdin."""
    if args.framework == "unikeras":
        import unikeras as lib
        backend = lib.config.backend()
    else:
        import keras as lib
        backend = lib.backend.backend()
    if backend == "torch":
        set_torch_threads(args)
    models, data, warmup_s, errors = {}, {}, {}, {}
    for name in selected(("cnn", "lstm"), args):
        try:
            model = build_network(lib, name)
            model.compile(optimizer=lib.optimizers.Adam(LR),
                          loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
            x, y = synthetic_data(name, TRAIN_BATCH[name] * args.fit_steps)
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=TRAIN_BATCH[name], epochs=1, verbose=0)
            warmup_s[name] = time.perf_counter() - t0
            models[name], data[name] = model, (x, y)
        except Exception:  # noqa: BLE001 - reported per network
            errors[name] = "\n".join(traceback.format_exc().strip().splitlines()[-12:])
    emit({"ready": True, "backend": backend, "warmup_s": warmup_s, "errors": errors})
    for line in sys.stdin:
        command = line.split()
        if command[:1] == ["run"]:
            name = command[1]
            if name in errors:
                emit({"error": errors[name]})
                continue
            x, y = data[name]
            t0 = time.perf_counter()
            model = models[name]
            model.fit(x, y, batch_size=TRAIN_BATCH[name], epochs=1, verbose=0)
            emit({"ms": 1e3 * (time.perf_counter() - t0) / args.fit_steps})
        elif command[:1] == ["quit"]:
            break


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------
def worker_command(kind, extra_env, extra_args, args):
    """The command line of a worker subprocess: this script with the driver's own flags."""
    env = dict(os.environ)
    env.update(extra_env)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return [sys.executable, os.path.abspath(__file__)] + args.argv + [
        "--worker", kind] + extra_args, env


def run_part(kind, args):
    """Run a one-shot worker (`UNIKERAS_BACKEND=torch`) to completion; its result dict, or
    {'error': ...}."""
    cmd, env = worker_command(kind, {"UNIKERAS_BACKEND": "torch"}, [], args)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
    return {"error": f"exit code {proc.returncode}\n{tail}"}


class LayersFitServer(FitServer):
    """overhead.FitServer around this script's fit worker: only the command differs."""

    @staticmethod
    def command(framework, backend, args):
        env_var = "UNIKERAS_BACKEND" if framework == "unikeras" else "KERAS_BACKEND"
        return worker_command("fit", {env_var: backend}, ["--framework", framework], args)


def measure_fit(backend, args):
    """unikeras and Keras fit servers on one backend (started one after the other), then per
    network `rounds` timed fit calls each, alternating, the order flipped every round."""
    servers = {"uk": LayersFitServer("unikeras", backend, args),
               "keras": LayersFitServer("keras", backend, args)}
    results = {}
    try:
        for name in selected(("cnn", "lstm"), args):
            times, errors = {k: [] for k in servers}, {}
            for key, server in servers.items():
                error = server.info.get("error") or server.info.get("errors", {}).get(name)
                if error:
                    errors[key] = error
            for r in range(args.rounds):
                for key in (("uk", "keras") if r % 2 == 0 else ("keras", "uk")):
                    if key not in errors:
                        res = servers[key].ask(f"run {name}")
                        if "error" in res:
                            errors[key] = res["error"]
                        else:
                            times[key].append(res["ms"])
            results[name] = {}
            for key, server in servers.items():
                res = {"warmup_s": server.info.get("warmup_s", {}).get(name),
                       "startup_s": server.info["startup_s"], "all_ms": times[key]}
                if key in errors:
                    res["error"] = errors[key]
                elif times[key]:
                    res["ms"] = statistics.median(times[key])
                    res["samples_per_s"] = TRAIN_BATCH[name] / (res["ms"] / 1e3)
                results[name][key] = res
    finally:
        for server in servers.values():
            server.close()
    return results


def failed(label, error):
    print(f"   {label}: FAILED\n      " + error.replace("\n", "\n      "))


def report_pairs(title, header, rows, summary, part):
    """Print one in-process part (rows: (label, result)) and add its ratios to `summary`."""
    print(title)
    print(f"   {'network':<22}{header[0]:>14}{header[1]:>16}{'ratio':>8}{'per-round':>11}"
          f"{'max|diff|':>11}   per-block ms A / B")
    for label, res in rows:
        if "error" in res:
            failed(label, res["error"])
            summary.append((part, label, None))
            continue
        print(f"   {label:<22}{res['a_ms']:>14.4g}{res['b_ms']:>16.4g}{res['ratio']:>8.3f}"
              f"{res['round_ratio']:>11.3f}{res['max_abs_diff']:>11.1e}   "
              f"{res['a_range_ms'][0]:.3g}..{res['a_range_ms'][1]:.3g} / "
              f"{res['b_range_ms'][0]:.3g}..{res['b_range_ms'][1]:.3g}")
        summary.append((part, label, res["ratio"]))
    print(flush=True)


def report_dropin(result, summary):
    if "error" in result:
        return failed("drop-in", result["error"])
    rows = [(f"{name} (batch {res.get('batch', TRAIN_BATCH[name])})", res)
            for name, res in result["nets"].items()]
    report_pairs(f"1. Drop-in training step in a plain PyTorch loop (torch.optim.Adam, "
                 f"F.cross_entropy on logits; torch threads {result['threads']}); ms/step",
                 ("A to_torch", "B torch.nn"), rows, summary, "drop-in")
    for name, res in result["nets"].items():
        if "loss_a" in res:
            print(f"   {name}: last loss A {res['loss_a']:.4f}, B {res['loss_b']:.4f}")
    print()


def report_inference(result, summary):
    if "error" in result:
        return failed("inference", result["error"])
    report_pairs(f"2. Inference at batch 1 under torch.no_grad() (torch threads "
                 f"{result['threads']}); ms/call", ("A to_torch", "B torch.nn"),
                 list(result["nets"].items()), summary, "inference")


def report_openvino(result, summary):
    if "error" in result:
        return failed("openvino", result["error"])
    rows, notes = [], []
    for name, res in result["nets"].items():
        if "error" in res:
            rows.append((name, res))
            continue
        rows += [(f"{name} batch {b}", res[f"batch_{b}"]) for b in OV_BATCHES]
        notes.append(f"{name}: precision uk/converted {'/'.join(res['precision'])}, threads "
                     f"{'/'.join(str(t) for t in res['threads'])}")
    report_pairs(f"4. OpenVINO CPU latency, f32, {result['threads']} inference threads, "
                 f"1 stream; ms/call", ("A uov.compile", "B convert_model"), rows, summary,
                 "openvino")
    for note in notes:
        print("   " + note)
    print()


def report_fit(rows, summary):
    print("3. model.fit (verbose=0, loss only, Adam, batch 64); one subprocess per framework "
          "and backend, timed fit calls alternating")
    print(f"   {'backend':<11}{'network':<8}{'unikeras ms/step':>17}{'samples/s':>11}"
          f"{'Keras ms/step':>15}{'samples/s':>11}{'uk/Keras':>10}")
    errors = []
    for backend, results in rows:
        for name, res in results.items():
            uk_res, k_res = res["uk"], res["keras"]
            uk_ms, k_ms = uk_res.get("ms"), k_res.get("ms")
            ratio = uk_ms / k_ms if uk_ms and k_ms else None
            print(f"   {backend:<11}{name:<8}{fmt(uk_ms, '.3f'):>17}"
                  f"{fmt(uk_res.get('samples_per_s'), '.0f'):>11}{fmt(k_ms, '.3f'):>15}"
                  f"{fmt(k_res.get('samples_per_s'), '.0f'):>11}{fmt(ratio, '.3f'):>10}")
            summary.append(("fit", f"{name} on {backend}", ratio))
            errors += [f"{who} {name} on {backend}: {r['error']}"
                       for who, r in (("unikeras", uk_res), ("Keras", k_res)) if "error" in r]
    print("   warm-up epoch (build + compile) s, uk / Keras: " + "; ".join(
        f"{b} {n} {fmt(r['uk']['warmup_s'], '.1f')} / {fmt(r['keras']['warmup_s'], '.1f')}"
        for b, results in rows for n, r in results.items()))
    print("   subprocess start to ready (imports + warm-ups) s, uk / Keras: " + "; ".join(
        f"{b} {fmt(r['uk']['startup_s'], '.0f')} / {fmt(r['keras']['startup_s'], '.0f')}"
        for b, results in rows for r in list(results.values())[:1]))
    print("   each timed fit call, ms/step:")
    for backend, results in rows:
        for name, r in results.items():
            print(f"     {backend:<11}{name:<6}" + "  ".join(
                f"{who} [{', '.join(f'{t:.1f}' for t in r[key]['all_ms'])}]"
                for who, key in (("uk", "uk"), ("Keras", "keras"))))
    for error in errors:
        print("   FAILED " + error.replace("\n", "\n      "))
    print(flush=True)


def report_summary(summary):
    print("Summary: time ratios, unikeras / reference (1.0 = level, below 1.0 = unikeras faster)")
    references = {"drop-in": "torch.nn (native)", "inference": "torch.nn (native)",
                  "fit": "Keras 3, same backend", "openvino": "torch.nn via convert_model"}
    print(f"   {'part':<11}{'case':<20}{'reference':<28}{'ratio':>8}{'target':>9}")
    for part, label, ratio in summary:
        print(f"   {part:<11}{label:<20}{references[part]:<28}"
              f"{fmt(ratio, '.3f') if ratio is not None else 'FAILED':>8}"
              f"{'<= ' + format(TARGETS[part], 'g'):>9}")


def print_machine(args):
    from importlib import metadata
    try:
        ov_version = metadata.version("openvino")
    except metadata.PackageNotFoundError:
        ov_version = "-"
    print("unikeras layer benchmark" + (" (--quick: smoke run, do not read the timings)"
                                        if args.quick else ""))
    print(f"machine: {os.cpu_count()} CPUs ({cpu_name()}), {platform.system()} "
          f"{platform.machine()}, load average at start {'%.2f %.2f %.2f' % os.getloadavg()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items())
          + f", openvino {ov_version}; unikeras git {git_revision()}")
    print(f"settings: parts {','.join(args.only)}; {args.rounds} interleaved rounds; drop-in "
          f"{args.block} steps per block after {args.warmup} warm-up steps; inference "
          f"{args.infer_block} calls per block; openvino {args.ov_block} calls per block at "
          f"batch 1, {max(1, args.ov_block // 10)} at batch 128, threads "
          f"{args.ov_threads or os.cpu_count()}; fit {args.fit_steps} steps per timed call on "
          f"{','.join(args.backends)}; torch threads {args.torch_threads or 'default'}; networks "
          f"{','.join(sorted(args.nets)) or 'all'}")
    print(flush=True)


def main_driver(args):
    started = time.perf_counter()
    print_machine(args)
    summary = []
    if "drop-in" in args.only:
        report_dropin(run_part("dropin", args), summary)
    if "inference" in args.only:
        report_inference(run_part("inference", args), summary)
    if "fit" in args.only:
        rows = []
        for backend in args.backends:
            rows.append((backend, measure_fit(backend, args)))
            print(f"   ... fit on {backend} done", file=sys.stderr, flush=True)
        report_fit(rows, summary)
    if "openvino" in args.only:
        report_openvino(run_part("openvino", args), summary)
    report_summary(summary)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}; total wall "
          f"{time.perf_counter() - started:.0f} s")


def parse_args(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny runs: a smoke test")
    p.add_argument("--only", default=",".join(PARTS),
                   help="comma-separated parts to run, of " + ",".join(PARTS) + " (default all)")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds in every part; in fit, timed calls per framework "
                        "(default 10, --quick 2)")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch.set_num_threads(N) in every torch process (default 0: torch's "
                        "own default)")
    p.add_argument("--ov-threads", type=int, default=0,
                   help="INFERENCE_NUM_THREADS for both OpenVINO models (default: CPU count)")
    p.add_argument("--backends", default=",".join(BACKENDS), help="fit: backends to run")
    p.add_argument("--nets", default="",
                   help="comma-separated networks to run, of " + ",".join(INPUT_SHAPES)
                        + " (default: every network of each part)")
    p.add_argument("--fit-steps", type=int, default=None,
                   help="fit: steps per timed fit call (default 32, --quick 4)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per subprocess")
    # internal
    p.add_argument("--worker", choices=("dropin", "inference", "openvino", "fit"),
                   help=argparse.SUPPRESS)
    p.add_argument("--framework", choices=("unikeras", "keras"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.argv = argv
    quick = args.quick
    if args.rounds is None:
        args.rounds = 2 if quick else 10
    args.block, args.warmup = (2, 2) if quick else (8, 10)
    args.infer_block = 10 if quick else 100
    args.ov_block = 10 if quick else 100
    if args.fit_steps is None:
        args.fit_steps = 4 if quick else 32
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(PARTS)
    if unknown:
        p.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}; choose from "
                + ", ".join(PARTS))
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.nets = {n.strip() for n in args.nets.split(",") if n.strip()}
    if args.nets - set(INPUT_SHAPES):
        p.error(f"--nets: unknown network(s) {', '.join(sorted(args.nets - set(INPUT_SHAPES)))}; "
                "choose from " + ",".join(INPUT_SHAPES))
    return args


WORKERS = {"dropin": worker_dropin, "inference": worker_inference, "openvino": worker_openvino}

if __name__ == "__main__":
    arguments = parse_args()
    if arguments.worker == "fit":
        worker_fit(arguments)
    elif arguments.worker:
        emit(WORKERS[arguments.worker](arguments))
    else:
        main_driver(arguments)
