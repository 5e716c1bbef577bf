"""`unikeras.activations`: Keras 3's activation functions and get/serialize/deserialize."""
from unikeras.common.activations import *  # noqa: F401,F403
from unikeras.common.activations import __all__  # noqa: F401
