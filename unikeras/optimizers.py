"""`unikeras.optimizers`."""
from unikeras.common.optimizers import *  # noqa: F401,F403
