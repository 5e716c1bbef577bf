"""Loading a Keras 3 `.keras` archive, so that a Keras user's trained models come along.

The archive is a zip of `config.json` (the model's Keras config, with its `compile_config`),
`metadata.json` and `model.weights.h5` (Keras's weights layout, see `keras_h5`, with the
optimizer state when the model was compiled). Reading is safe by construction: members are
read into memory by their exact names (nothing is extracted, so no entry name can reach the
file system, and names that could escape a folder are refused), each within a size bound
checked while decompressing (no zip bombs; `archive.read_members` does both), and the
config is rebuilt only from unikeras's catalog and registry (`deserialize_keras_object`;
a module named in the file is never imported, Lambda bytecode needs `safe_mode=False`).
"""
import io
import os

from unikeras.common.saving import keras_h5
from unikeras.common.saving.archive import json_member, read_members
from unikeras.common.saving.weights import load_keras_h5_weights

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_JSON_BYTES = 64 * 2**20          # a config or metadata member larger than this is refused
MAX_WEIGHTS_BYTES = 32 * 2**30       # as is a weights member larger than this


def _normalize(config):
    """Keras's config with the keys that unikeras's layers do not take (and that hold their
    Keras defaults) removed; a Keras feature unikeras lacks is a clear error."""
    if isinstance(config, list):
        return [_normalize(c) for c in config]
    if not isinstance(config, dict):
        return config
    config = {k: _normalize(v) for k, v in config.items()}
    if config.get("class_name") == "InputLayer" and isinstance(config.get("config"), dict):
        inner = dict(config["config"])
        if inner.pop("ragged", False):
            raise ValueError(f"InputLayer {inner.get('name')!r} takes ragged inputs, which "
                             "unikeras does not support.")
        config["config"] = inner
    inner = config.get("config")
    if isinstance(inner, dict) and "layers" in inner:
        for key in ("input_layers", "output_layers"):   # a single tensor: one flat triple
            if _is_history(inner.get(key)):
                config["config"] = inner = {**inner, key: [inner[key]]}
    return config


def _is_history(value):
    """Whether `value` is one `[layer name, node index, tensor index]` triple."""
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(i, int) for i in value[1:]))


def load_keras_archive(path, custom_objects=None, compile=True, safe_mode=True):
    """The model stored in the Keras 3 archive `path`, with its weights, compiled as it was
    saved (when `compile` and the archive has a compile config) and with its optimizer
    state, so that training resumes where Keras left it. It is built on the current backend.

    Objects come only from unikeras's catalog, the registry and `custom_objects`; Lambda
    bytecode is refused unless `safe_mode=False`. A damaged archive is a ValueError/OSError
    naming the file."""
    from unikeras.common.saving.compile_config import build_from_config, compile_from_config
    from unikeras.common.saving.serialization import deserialize_keras_object
    path = os.fspath(path)
    members = read_members(path, {CONFIG: MAX_JSON_BYTES, METADATA: MAX_JSON_BYTES,
                                  WEIGHTS: MAX_WEIGHTS_BYTES})
    config = json_member(path, CONFIG, members[CONFIG])
    json_member(path, METADATA, members[METADATA])
    if "class_name" not in config:
        raise ValueError(f"{path!r}: {CONFIG!r} does not describe a model.")
    stored = keras_h5.read(io.BytesIO(members[WEIGHTS]), name=f"{path}/{WEIGHTS}")
    model = deserialize_keras_object(_normalize(config), custom_objects, safe_mode=safe_mode)
    build_from_config(model, config.get("build_config"))
    compile_config = config.get("compile_config")
    if compile and compile_config:
        compile_from_config(model, _normalize(compile_config))
    load_keras_h5_weights(model, stored, f"{path}/{WEIGHTS}")
    return model
