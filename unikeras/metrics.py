"""`unikeras.metrics`: Keras 3's `keras.metrics` namespace."""
from unikeras.common.metrics import *  # noqa: F401,F403
from unikeras.common.metrics import __all__  # noqa: F401
