"""`unikeras.saving`: configs and the registry, `.unikeras` model archives, weights files."""
import json

from unikeras.common.saving.archive import load_model, read_metadata  # noqa: F401
from unikeras.common.saving.file_editor import KerasFileEditor  # noqa: F401
from unikeras.common.saving.serialization import (  # noqa: F401
    CustomObjectScope, custom_object_scope, deserialize_keras_object, get_custom_objects,
    get_registered_name, get_registered_object, register_keras_serializable,
    serialize_keras_object)
from unikeras.common.saving.weights import weight_paths  # noqa: F401


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """`model.save(filepath, ...)`: write a `.unikeras` archive."""
    model.save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """`model.save_weights(filepath, ...)`."""
    model.save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size, **kwargs)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """`model.load_weights(filepath, ...)`."""
    model.load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (fresh weights) from `model.to_json()`."""
    return deserialize_keras_object(json.loads(json_string), custom_objects)
