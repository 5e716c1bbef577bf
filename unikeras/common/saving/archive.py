"""`.unikeras` model archives: a zip of `config.json` (model config with its build and
compile configs), `metadata.json` (versions, source backend, date) and `model.safetensors`
(weights by canonical path, plus the optimizer state under `optimizer/vars/<i>`). A `.keras`
path gets a Keras 3 archive instead (`model.weights.h5` in Keras's layout; `keras_archive`
reads it).

Reading is defensive: members are read in memory (never extracted), names that could escape
a folder are refused, and each member's declared and actual sizes are bounded, so a
crafted file yields a clear ValueError, runs no code and allocates little.
"""
import datetime
import io
import json
import os
import zipfile
import zlib

import numpy as np

from unikeras.common.saving.atomic import write_atomically

SUFFIX, KERAS_SUFFIX = ".unikeras", ".keras"
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.safetensors"
KERAS_WEIGHTS = "model.weights.h5"
OPTIMIZER_PREFIX = "optimizer/vars/"
MAX_JSON_BYTES = 64 * 2**20
MAX_WEIGHTS_BYTES = 4 * 2**30
_CHUNK = 2**20


# --- writing -----------------------------------------------------------------------------------
def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write `model` (config, weights, optimizer state) atomically to a `.unikeras` archive,
    or to a Keras 3 `.keras` archive (weights in Keras's `model.weights.h5` layout)."""
    import unikeras
    from unikeras.common.saving.serialization import serialize_keras_object
    filepath = os.fspath(filepath)
    if not filepath.endswith((SUFFIX, KERAS_SUFFIX)):
        raise ValueError(f"save_model: the file name must end in '{SUFFIX}' (or '.keras' for "
                         f"a Keras 3 archive), got {filepath!r} (use save_weights for a "
                         "'.safetensors' weights file).")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_model: {filepath!r} exists and overwrite=False.")
    metadata = {"unikeras_version": unikeras.__version__, "backend": model._backend_name(),
                "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds")}
    if filepath.endswith(KERAS_SUFFIX):
        from unikeras.common.saving import keras_h5
        weights_name, weights = KERAS_WEIGHTS, keras_h5.model_bytes(model, include_optimizer)
    else:
        weights_name, weights = WEIGHTS, _safetensors_bytes(model, include_optimizer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(CONFIG, json.dumps(serialize_keras_object(model)), zipfile.ZIP_DEFLATED)
        zf.writestr(METADATA, json.dumps(metadata), zipfile.ZIP_DEFLATED)
        zf.writestr(weights_name, weights, zipfile.ZIP_STORED)
    write_atomically(filepath, buffer.getvalue())


def _safetensors_bytes(model, include_optimizer):
    from safetensors.numpy import save
    from unikeras.common.saving.weights import weight_paths
    tensors = {path: np.array(v.numpy(), order="C") for path, v in weight_paths(model)}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and getattr(optimizer, "built", False):
        store = {}
        optimizer.save_own_variables(store)
        tensors.update({OPTIMIZER_PREFIX + k: np.array(v, order="C") for k, v in store.items()})
    return save(tensors, metadata={"format": "unikeras"})


# --- reading -----------------------------------------------------------------------------------
def _check_name(filepath, name):
    parts = name.replace("\\", "/").split("/")
    if (name.startswith(("/", "\\")) or ".." in parts or (parts[0][1:2] == ":")
            or "\x00" in name):
        raise ValueError(f"{filepath!r}: refusing archive entry {name!r}: its name could "
                         "escape the target folder (absolute path, drive or '..').")


def _read_member(zf, filepath, info, limit):
    """The bytes of one entry, checking its declared and its actual size against `limit`."""
    if info.file_size > limit:
        raise ValueError(f"{filepath!r}: entry {info.filename!r} declares {info.file_size} "
                         f"bytes, above the limit of {limit} bytes; refusing to read it.")
    chunks, total = [], 0
    with zf.open(info) as f:
        while True:
            chunk = f.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise ValueError(f"{filepath!r}: entry {info.filename!r} decompresses to more "
                                 f"than its limit of {limit} bytes; refusing to read it.")
            chunks.append(chunk)
    return b"".join(chunks)


def read_members(filepath, limits):
    """`{name: bytes}` for the entries named in `limits` (name -> byte limit), all of which
    must be present; every entry name in the archive is checked."""
    try:
        with zipfile.ZipFile(filepath) as zf:
            infos = zf.infolist()
            seen = set()
            for info in infos:
                _check_name(filepath, info.filename)
                if info.filename in seen:
                    raise ValueError(f"{filepath!r}: entry {info.filename!r} appears twice.")
                seen.add(info.filename)
            by_name = {info.filename: info for info in infos}
            missing = sorted(set(limits) - seen)
            if missing:
                raise ValueError(f"{filepath!r} is not a complete model archive: missing "
                                 f"{missing}.")
            return {name: _read_member(zf, filepath, by_name[name], limit)
                    for name, limit in limits.items()}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
        raise ValueError(f"{filepath!r} is not a readable model archive (corrupted or "
                         f"truncated zip: {e}).") from None


def json_member(filepath, name, data):
    """A JSON object read from the bytes of archive member `name` (ValueError naming the
    file otherwise)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{filepath!r}: {name} is not valid JSON ({e}).") from None
    if not isinstance(value, dict):
        raise ValueError(f"{filepath!r}: {name} must hold a JSON object.")
    return value


def read_tensors(filepath, data):
    from safetensors.numpy import load
    try:
        return load(data)
    except Exception as e:   # safetensors' own error type: a corrupted or foreign file
        raise ValueError(f"{filepath!r}: {WEIGHTS} is not a valid safetensors file "
                         f"({type(e).__name__}: {e}).") from None


def _assign_all(filepath, pairs):
    """Assign `(variable, array, path)` triples after checking every shape and dtype kind,
    so a bad file changes nothing."""
    from unikeras.common.ops import dispatch
    for v, array, path in pairs:
        if tuple(array.shape) != tuple(v.shape):
            raise ValueError(f"{filepath!r}: {path} has shape {tuple(array.shape)} in the file, "
                             f"{tuple(v.shape)} in the model.")
        if np.dtype(array.dtype).kind != np.dtype(v.dtype).kind and not (
                {np.dtype(array.dtype).kind, np.dtype(v.dtype).kind} <= {"i", "u"}):
            raise ValueError(f"{filepath!r}: {path} is {array.dtype} in the file, {v.dtype} in "
                             "the model.")
    for v, array, _ in pairs:
        table = dispatch.get_table(v.backend)
        v.assign(table.convert_to_tensor(array.astype(v.dtype), dtype=v.dtype))


def _load_model_weights(filepath, model, tensors):
    from unikeras.common.saving.weights import weight_paths
    targets = weight_paths(model)
    stored = {k: a for k, a in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}
    expected = {p for p, _ in targets}
    if expected != set(stored):
        raise ValueError(f"{filepath!r}: its weights do not match the model '{model.name}' "
                         f"its config builds: missing {sorted(expected - set(stored))}, "
                         f"unexpected {sorted(set(stored) - expected)}.")
    _assign_all(filepath, [(v, stored[p], p) for p, v in targets])


def _load_optimizer_state(filepath, model, tensors):
    from unikeras.common.ops import dispatch
    store = {k[len(OPTIMIZER_PREFIX):]: a for k, a in tensors.items()
             if k.startswith(OPTIMIZER_PREFIX)}
    optimizer = getattr(model, "optimizer", None)
    if not store or optimizer is None:
        return
    with dispatch.backend_scope(model._backend_name()):
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    if len(variables) != len(store) or set(store) != {str(i) for i in range(len(variables))}:
        raise ValueError(f"{filepath!r}: the optimizer state holds {len(store)} variables, "
                         f"optimizer '{optimizer.name}' has {len(variables)}.")
    _assign_all(filepath, [(v, store[str(i)], f"{OPTIMIZER_PREFIX}{i}")
                           for i, v in enumerate(variables)])


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a `.unikeras` archive, on the current backend, with its weights and
    (when `compile`) its compile settings and optimizer state. `safe_mode` is the caller's
    alone: nothing in the file can change it."""
    from unikeras.common.models.model import Model
    from unikeras.common.saving.compile_config import compile_from_config
    from unikeras.common.saving.serialization import (CustomObjectScope,
                                                      deserialize_keras_object, safe_mode_scope)
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"load_model: no file {filepath!r}.")
    if filepath.endswith(KERAS_SUFFIX):
        from unikeras.common.saving.keras_archive import load_keras_archive
        return load_keras_archive(filepath, custom_objects, compile=compile, safe_mode=safe_mode)
    members = read_members(filepath, {CONFIG: MAX_JSON_BYTES, METADATA: MAX_JSON_BYTES,
                                      WEIGHTS: MAX_WEIGHTS_BYTES})
    config = json_member(filepath, CONFIG, members[CONFIG])
    json_member(filepath, METADATA, members[METADATA])
    tensors = read_tensors(filepath, members[WEIGHTS])
    with safe_mode_scope(safe_mode), CustomObjectScope(custom_objects):
        model = deserialize_keras_object(config, custom_objects)
        if not isinstance(model, Model):
            raise ValueError(f"{filepath!r}: its config describes a {type(model).__name__}, "
                             "not a model.")
        _load_model_weights(filepath, model, tensors)
        if compile and config.get("compile_config"):
            compile_from_config(model, config["compile_config"])
            _load_optimizer_state(filepath, model, tensors)
    return model


def read_metadata(filepath):
    """The `metadata.json` of an archive (unikeras version, source backend, date)."""
    filepath = os.fspath(filepath)
    return json_member(filepath, METADATA,
                 read_members(filepath, {METADATA: MAX_JSON_BYTES})[METADATA])
