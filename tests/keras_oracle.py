"""Keras 3 as a test-time oracle for layers: run a batch of layer cases in one subprocess.

Each case is a dict:
    {"layer": "Conv2D",                # a name in keras.layers
     "config": {...},                  # constructor arguments (JSON-able); a wrapper's
                                       # "layer" is given as a config {"class_name", "config"}
     "inputs": array or [arrays],      # NumPy inputs of the call
     "call_kwargs": {...},             # optional, JSON-able (e.g. {"training": False})
     "mask": array or None,            # optional, passed as mask=
     "array_kwargs": {name: array},    # optional call arguments that are arrays (lists too)
     "positional": False,              # optional: True calls layer(*inputs) and
                                       # compute_output_shape(*input_shapes)
     "weights": [arrays] or None}      # optional: set after building (else Keras's own init)
The result for each case is a dict with "outputs" (array or list of arrays), "weights"
(after building, as Keras orders them), "weight_names", "weight_shapes", "config" (Keras's
get_config(), JSON-able) and "output_shape" (compute_output_shape of the input shapes),
or {"error": "..."} when Keras raised.

Data travels as .npz files (loaded with allow_pickle=False) and JSON; one subprocess runs
every case, on Keras's numpy backend by default (inference; pick "jax" for anything else).
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

_MAIN = r'''
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import keras

src, dst = sys.argv[1], sys.argv[2]
spec = json.load(open(src + ".json"))
arrays = dict(np.load(src + ".npz", allow_pickle=False))
out_arrays, out_meta = {}, []

def fetch(ref):
    if ref is None:
        return None
    if isinstance(ref, list):
        return [fetch(r) for r in ref]
    return arrays[ref]

def store(prefix, value):
    if isinstance(value, (list, tuple)):
        return [store(f"{prefix}_{i}", v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: store(f"{prefix}_{k}", v) for k, v in value.items()}
    out_arrays[prefix] = np.asarray(keras.ops.convert_to_numpy(value))
    return prefix

def plain(obj):
    try:
        return json.loads(json.dumps(obj, default=lambda o: repr(o)))
    except Exception:
        return repr(obj)

for i, case in enumerate(spec):
    try:
        config = {k: keras.layers.deserialize(v) if k == "layer" and isinstance(v, dict) else v
                  for k, v in case["config"].items()}  # a wrapper's layer: its Keras config
        layer = getattr(keras.layers, case["layer"])(**config)
        inputs = fetch(case["inputs"])
        kwargs = dict(case.get("call_kwargs") or {})
        kwargs.update({k: fetch(v) for k, v in (case.get("array_kwargs") or {}).items()})
        if case.get("mask") is not None:
            kwargs["mask"] = fetch(case["mask"])
        args = inputs if case.get("positional") else [inputs]
        shapes = ([tuple(a.shape) for a in inputs] if isinstance(inputs, list)
                  else tuple(inputs.shape))
        if case.get("weights") is not None:
            layer(*args, **kwargs)
            layer.set_weights(fetch(case["weights"]))
        outputs = layer(*args, **kwargs)
        try:
            output_shape = plain(layer.compute_output_shape(*shapes) if case.get("positional")
                                 else layer.compute_output_shape(shapes))
        except Exception as e:
            output_shape = {"error": repr(e)}
        out_meta.append({
            "outputs": store(f"c{i}_out", outputs),
            "weights": store(f"c{i}_w", [w.numpy() for w in layer.weights]),
            "weight_names": [w.path for w in layer.weights],
            "weight_shapes": [list(w.shape) for w in layer.weights],
            "config": plain(layer.get_config()),
            "output_shape": output_shape})
    except Exception as e:
        out_meta.append({"error": f"{type(e).__name__}: {e}"})

np.savez(dst + ".npz", **out_arrays)
json.dump(out_meta, open(dst + ".json", "w"))
'''


def available():
    return importlib.util.find_spec("keras") is not None


def _run_in_keras(main, arrays, suffix, text, backend, timeout):
    """Run the script `main` in a Keras subprocess on `src` (`arrays` as .npz, `text` as
    `src + suffix`); returns (its JSON result, its .npz arrays)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        np.savez(src + ".npz", **arrays)
        with open(src + suffix, "w") as f:
            f.write(text)
        env = dict(os.environ, KERAS_BACKEND=backend, OMP_NUM_THREADS="1",
                   TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu")
        proc = subprocess.run([sys.executable, "-c", main, src, dst], capture_output=True,
                              text=True, timeout=timeout, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(dst + ".json") as f:
            result = json.load(f)
        with np.load(dst + ".npz", allow_pickle=False) as data:
            return result, dict(data)


def run_layer_cases(cases, backend="numpy", timeout=600):
    """Run `cases` (see module docstring) in Keras 3; one result dict per case."""
    if not available():
        pytest.skip("keras is not installed (it is the test-time oracle: pip install .[test])")
    arrays, spec = {}, []

    def put(prefix, value):
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return [put(f"{prefix}_{i}", v) for i, v in enumerate(value)]
        arrays[prefix] = np.asarray(value)
        return prefix

    for i, case in enumerate(cases):
        spec.append({**case, "inputs": put(f"c{i}_in", case["inputs"]),
                     "mask": put(f"c{i}_mask", case.get("mask")),
                     "array_kwargs": {k: put(f"c{i}_kw_{k}", v)
                                      for k, v in (case.get("array_kwargs") or {}).items()},
                     "weights": put(f"c{i}_w", case.get("weights"))})
    meta, out = _run_in_keras(_MAIN, arrays, ".json", json.dumps(spec), backend, timeout)

    def resolve(ref):
        if isinstance(ref, list):
            return [resolve(r) for r in ref]
        if isinstance(ref, dict):
            return {k: resolve(v) for k, v in ref.items()}
        return out[ref] if isinstance(ref, str) else ref

    results = []
    for m in meta:
        if "error" not in m:
            m = {**m, "outputs": resolve(m["outputs"]), "weights": resolve(m["weights"])}
        results.append(m)
    return results


_CODE_MAIN = r'''
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import keras

src, dst = sys.argv[1], sys.argv[2]
arrays = dict(np.load(src + ".npz", allow_pickle=False))
result = {}
with open(src + ".py") as f:
    exec(compile(f.read(), "<keras oracle code>", "exec"),
         {"keras": keras, "np": np, "arrays": arrays, "result": result})
out_arrays = {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in result.items()
              if isinstance(v, np.ndarray) or keras.ops.is_tensor(v)}
meta = {k: v for k, v in result.items() if k not in out_arrays}
np.savez(dst + ".npz", **out_arrays)
with open(dst + ".json", "w") as f:
    json.dump(meta, f)
'''


def run_keras_code(code, arrays=None, backend="numpy", timeout=600):
    """Run the Python `code` in Keras 3 in one subprocess. It sees `keras`, `np`, `arrays`
    (the NumPy arrays passed here, by name) and fills the dict `result`: tensors and arrays
    come back as NumPy arrays, every other value must be JSON-able."""
    if not available():
        pytest.skip("keras is not installed (it is the test-time oracle: pip install .[test])")
    arrays = {k: np.asarray(v) for k, v in (arrays or {}).items()}
    result, out = _run_in_keras(_CODE_MAIN, arrays, ".py", code, backend, timeout)
    result.update(out)
    return result
