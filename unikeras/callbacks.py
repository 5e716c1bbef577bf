"""`unikeras.callbacks`."""
from unikeras.common.callbacks import *  # noqa: F401,F403
