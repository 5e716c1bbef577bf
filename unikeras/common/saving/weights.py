"""Weights files: safetensors keyed by each weight's path in the layer tree.

The path (`dense_1/kernel`) is the contract across backends: the same names key torch
state_dicts (with '.'), nnx state paths and tf variable names. Files hold Keras layouts,
so a file written from one backend loads into every other without conversion.
"""
import json
import os

import numpy as np


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


def save_weights(model, filepath, overwrite=True):
    from safetensors.numpy import save
    filepath = os.fspath(filepath)
    if not filepath.endswith(".safetensors"):
        raise ValueError(f"save_weights: the file name must end in '.safetensors', got {filepath!r}.")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False.")
    tensors = {path: np.ascontiguousarray(v.numpy()) for path, v in weight_paths(model)}
    metadata = {"format": "unikeras", "model": model.name, "order": json.dumps(list(tensors))}
    payload = save(tensors, metadata=metadata)
    directory = os.path.dirname(os.path.abspath(filepath))
    import tempfile  # lazily: only writers need it
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(filepath):
    from safetensors import safe_open
    with safe_open(os.fspath(filepath), framework="numpy") as f:
        metadata = f.metadata() or {}
        keys = json.loads(metadata["order"]) if "order" in metadata else list(f.keys())
        return {k: f.get_tensor(k) for k in keys}


def load_weights(model, filepath, skip_mismatch=False):
    """Assign weights from a safetensors file by path; when the paths differ (layers named
    differently in this process) but count and shapes line up, load by position."""
    stored = _read(filepath)
    targets = weight_paths(model)
    if {p for p, _ in targets} == set(stored):
        pairs = [(v, stored[p], p) for p, v in targets]
    elif len(stored) == len(targets) and all(
            tuple(a.shape) == v.shape for a, (_, v) in zip(stored.values(), targets)):
        pairs = [(v, a, p) for a, (p, v) in zip(stored.values(), targets)]
    else:
        missing = sorted({p for p, _ in targets} - set(stored))
        unexpected = sorted(set(stored) - {p for p, _ in targets})
        raise ValueError(f"load_weights: {filepath!r} does not match model '{model.name}': "
                         f"missing {missing}, unexpected {unexpected}.")
    for v, array, path in pairs:
        if tuple(array.shape) != v.shape:
            if skip_mismatch:
                continue
            raise ValueError(f"load_weights: {path} has shape {tuple(array.shape)} in the file, "
                             f"{v.shape} in the model.")
        from unikeras.common.ops import dispatch
        v.assign(dispatch.get_table(v.backend).convert_to_tensor(array, dtype=v.dtype))
