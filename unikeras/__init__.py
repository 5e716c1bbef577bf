"""unikeras: layers and models written once, materialized as native torch, Flax nnx,
tf.Module and OpenVINO objects. Importing it loads NumPy only."""
from unikeras import config, ops, random  # noqa: F401
from unikeras.common.symbolic import KerasTensor  # noqa: F401
from unikeras.common.variables import StatelessScope, Variable  # noqa: F401

__version__ = "0.1.0"
version = __version__
