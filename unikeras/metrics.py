"""`unikeras.metrics`."""
from unikeras.common.metrics import *  # noqa: F401,F403
