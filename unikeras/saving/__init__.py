"""`unikeras.saving`: configs, registry and weights files."""
import json

from unikeras.common.saving.serialization import (  # noqa: F401
    deserialize_keras_object, register_keras_serializable, serialize_keras_object)
from unikeras.common.saving.weights import weight_paths  # noqa: F401


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (fresh weights) from `model.to_json()`."""
    return deserialize_keras_object(json.loads(json_string), custom_objects)
