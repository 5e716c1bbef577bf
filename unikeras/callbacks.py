"""`unikeras.callbacks`: the public callbacks, as `keras.callbacks`."""
from unikeras.common.callbacks import *  # noqa: F401,F403
from unikeras.common.callbacks import __all__  # noqa: F401
