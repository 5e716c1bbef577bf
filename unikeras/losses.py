"""`unikeras.losses`."""
from unikeras.common.losses import *  # noqa: F401,F403
