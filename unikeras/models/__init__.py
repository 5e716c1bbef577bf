"""`unikeras.models`: Model, Sequential and (de)serialization helpers."""
from unikeras.common.models.cloning import clone_model  # noqa: F401
from unikeras.common.models.functional import Functional  # noqa: F401
from unikeras.common.models.model import Model  # noqa: F401
from unikeras.common.models.sequential import Sequential  # noqa: F401
from unikeras.saving import load_model, model_from_json, save_model  # noqa: F401

