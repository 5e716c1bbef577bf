"""`unikeras.initializers`."""
from unikeras.common.initializers import *  # noqa: F401,F403
from unikeras.common.initializers import get, serialize  # noqa: F401
