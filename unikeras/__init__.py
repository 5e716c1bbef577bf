"""unikeras: layers and models written once, materialized as native torch, Flax nnx,
tf.Module and OpenVINO objects. Importing it loads NumPy only."""
from unikeras import config, ops, random  # noqa: F401
from unikeras import activations, constraints, initializers, layers, models  # noqa: F401
from unikeras import regularizers, saving, utils  # noqa: F401
from unikeras.common.layers.input_layer import Input, InputLayer  # noqa: F401
from unikeras.common.layers.layer import Layer  # noqa: F401
from unikeras.common.models.model import Model  # noqa: F401
from unikeras.common.models.sequential import Sequential  # noqa: F401
from unikeras.common.symbolic import KerasTensor  # noqa: F401
from unikeras.common.variables import StatelessScope, Variable  # noqa: F401

__version__ = "0.1.0"
version = __version__


def __getattr__(name):
    # Training modules load on first use so that `import unikeras` stays light.
    import importlib
    if name in ("losses", "metrics", "optimizers", "callbacks"):
        return importlib.import_module(f"unikeras.{name}")
    raise AttributeError(f"module 'unikeras' has no attribute {name!r}")
