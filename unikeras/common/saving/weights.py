"""Weights files: `.safetensors` keyed by layer path, or Keras 3's `.weights.h5` layout
(also sharded: a `.weights.json` index beside `.weights.h5` shards, see `sharded`).

The safetensors path (`dense_1/kernel`) is the contract across backends: the same names key
torch state_dicts (with '.'), nnx state paths and tf variable names. `.weights.h5` files
follow Keras's tree layout (see `keras_h5`), so weights move between Keras and unikeras.
Both hold Keras layouts, so a file written from one backend loads into every other.
Loading checks the whole file against the model before assigning anything: a bad file
leaves the model unchanged.
"""
import json
import os

import numpy as np

from unikeras.common.saving import keras_h5, sharded
from unikeras.common.saving.atomic import write_atomically

SUFFIXES = (".safetensors", ".weights.h5", sharded.INDEX_SUFFIX)


def weight_paths(layer):
    """Canonical path of every weight of `layer`, in `layer.weights` order."""
    paths = {}

    def visit(obj, prefix):
        for v in obj._own_variables:
            paths.setdefault(id(v), prefix + v.name)
        for sub in obj._layers:
            visit(sub, prefix + sub.name + "/")
    visit(layer, "")
    return [(paths[id(v)], v) for v in layer.weights]


def _format_of(filepath, action):
    for suffix in SUFFIXES:
        if filepath.endswith(suffix):
            return suffix
    raise ValueError(f"{action}: the file name must end in '.safetensors', '.weights.h5' or "
                     f"'{sharded.INDEX_SUFFIX}' (sharded), got {filepath!r}.")


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Write `model`'s weights to `filepath` (atomically), in the format its suffix names;
    a `.weights.h5` file also holds a compiled model's optimizer state, as Keras's does.
    `max_shard_size` (GB) writes Keras's sharded layout: a `.weights.json` index (a
    `.weights.h5` name is changed to it, as Keras does) beside the shards."""
    filepath = os.fspath(filepath)
    suffix = _format_of(filepath, "save_weights")
    if max_shard_size is not None or suffix == sharded.INDEX_SUFFIX:
        if suffix == ".safetensors":
            raise ValueError("save_weights: sharded weights are written in Keras's layout; "
                             f"name the index '<name>{sharded.INDEX_SUFFIX}', got {filepath!r}.")
        if max_shard_size is None:
            raise ValueError(f"save_weights: {filepath!r} names a sharded index; pass "
                             "max_shard_size (GB per shard).")
        filepath = sharded.index_path(filepath)
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False.")
        sharded.save_sharded(model, filepath, max_shard_size)
        return
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False.")
    if suffix == ".weights.h5":
        keras_h5.write(model, filepath)
        return
    from safetensors.numpy import save
    tensors = {path: np.array(v.numpy(), order="C") for path, v in weight_paths(model)}  # 0-d kept
    metadata = {"format": "unikeras", "model": model.name, "order": json.dumps(list(tensors))}
    write_atomically(filepath, save(tensors, metadata=metadata))


def read_safetensors(filepath):
    from safetensors import safe_open
    try:
        with safe_open(filepath, framework="numpy") as f:
            metadata = f.metadata() or {}
            keys = json.loads(metadata["order"]) if "order" in metadata else list(f.keys())
            return {k: f.get_tensor(k) for k in keys}
    except OSError:
        raise
    except Exception as e:   # safetensors raises its own SafetensorError on a bad header
        raise ValueError(f"Cannot read the weights file {filepath!r}: it is not a valid or "
                         f"complete safetensors file ({type(e).__name__}: {e}).") from None


def load_weights(model, filepath, skip_mismatch=False):
    """Assign weights from a `.safetensors`, `.weights.h5` or sharded `.weights.json` file.

    safetensors files match by path; when the paths differ (layers named differently in
    this process) but count and shapes line up, they load by position. `.weights.h5` files
    match by tree position, as Keras's do; their optimizer group loads into a compiled
    model's optimizer (built first) and is ignored by a model without one.
    `skip_mismatch=True` loads what matches and leaves the rest as it is."""
    filepath = os.fspath(filepath)
    suffix = _format_of(filepath, "load_weights")
    if suffix == sharded.INDEX_SUFFIX:
        load_keras_h5_weights(model, sharded.read_sharded(filepath), filepath, skip_mismatch)
        return
    if suffix == ".weights.h5":
        load_keras_h5_weights(model, keras_h5.read(filepath), filepath, skip_mismatch)
        return
    stored = read_safetensors(filepath)
    targets = weight_paths(model)
    if ({p for p, _ in targets} != set(stored) and len(stored) == len(targets)
            and all(tuple(a.shape) == tuple(v.shape)
                    for a, (_, v) in zip(stored.values(), targets))):
        stored = {p: a for (p, _), a in zip(targets, stored.values())}
    assign_matching(model, targets, stored, filepath, skip_mismatch)


def load_keras_h5_weights(model, stored, filepath, skip_mismatch=False):
    """Assign `stored` (`keras_h5.read`'s dict) to `model` and, when the file holds one, its
    optimizer state to the model's optimizer."""
    optimizer = getattr(model, "optimizer", None)
    has_optimizer_state = any(k.startswith("optimizer/") for k in stored)
    if optimizer is not None and has_optimizer_state and not optimizer.built:
        from unikeras.common.ops import dispatch
        with dispatch.backend_scope(model._backend_name()):
            optimizer.build(model.trainable_variables)
    include_optimizer = optimizer is not None and has_optimizer_state
    if not include_optimizer:
        stored = {k: a for k, a in stored.items() if not k.startswith("optimizer/")}
    targets = keras_h5.variable_keys(model, include_optimizer=include_optimizer)
    assign_matching(model, targets, stored, filepath, skip_mismatch)


def _dtype_fits(array, variable):
    """Whether a stored array can be assigned to `variable` without losing its meaning
    (floats to floats, integers/bools to integers/bools)."""
    is_float = array.dtype.kind == "f"
    return array.dtype.kind in "fiub" and is_float == ("float" in str(variable.dtype))


def assign_matching(model, targets, stored, filepath, skip_mismatch=False):
    """Assign `stored[key]` to each `(key, Variable)` of `targets`. Anything missing,
    unexpected, mis-shaped or of the wrong kind of dtype fails as one ValueError listing
    it all (nothing is assigned then). `skip_mismatch` instead skips, as Keras does, every
    object (the keys under one parent path) with a variable that does not fit."""
    target_keys = {k for k, _ in targets}
    missing = sorted(target_keys - set(stored))
    unexpected = sorted(set(stored) - target_keys)
    misshaped, wrong_dtype, skipped = [], [], set()
    for key, variable in targets:
        if key not in stored:
            continue
        array = np.asarray(stored[key])
        if tuple(array.shape) != tuple(variable.shape):
            misshaped.append(f"{key} has shape {tuple(array.shape)} in the file, "
                             f"{tuple(variable.shape)} in the model")
        elif not _dtype_fits(array, variable):
            wrong_dtype.append(f"{key} is {array.dtype} in the file, {variable.dtype} in the model")
        else:
            continue
        skipped.add(_owner(key))
    if (missing or unexpected or misshaped or wrong_dtype) and not skip_mismatch:
        problems = [f"missing {missing}" if missing else "",
                    f"unexpected {unexpected}" if unexpected else "",
                    "mis-shaped: " + "; ".join(misshaped) if misshaped else "",
                    "wrong dtype: " + "; ".join(wrong_dtype) if wrong_dtype else ""]
        raise ValueError(f"load_weights: {filepath!r} does not match model '{model.name}': "
                         + ", ".join(p for p in problems if p)
                         + ". Pass skip_mismatch=True to load only what matches.")
    from unikeras.common.ops import dispatch
    for key, variable in targets:
        if key in stored and _owner(key) not in skipped:
            table = dispatch.get_table(variable.backend)
            variable.assign(table.convert_to_tensor(np.asarray(stored[key]), dtype=variable.dtype))


def _owner(key):
    """The path of the object a weight key belongs to (`b` of `b/kernel`)."""
    return key.rsplit("/", 1)[0]
