"""`unikeras.models`: Model, Sequential and (de)serialization helpers."""
from unikeras.common.models.functional import Functional  # noqa: F401
from unikeras.common.models.model import Model  # noqa: F401
from unikeras.common.models.sequential import Sequential  # noqa: F401
from unikeras.saving import load_model, model_from_json, save_model  # noqa: F401


def clone_model(model):
    """A new model with the same config and freshly initialized weights."""
    from unikeras.common.saving.serialization import deserialize_keras_object, serialize_keras_object
    return deserialize_keras_object(serialize_keras_object(model))
