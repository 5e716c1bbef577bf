"""`unikeras.optimizers` (Keras's `keras.optimizers`)."""
from unikeras.common.optimizers import *  # noqa: F401,F403
from unikeras.optimizers import schedules  # noqa: F401
