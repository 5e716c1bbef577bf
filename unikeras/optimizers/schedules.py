"""`unikeras.optimizers.schedules` (Keras's `keras.optimizers.schedules`)."""
from unikeras.common.optimizers.schedules import *  # noqa: F401,F403
