"""`unikeras.constraints`: Keras 3's weight constraints and get/serialize/deserialize."""
from unikeras.common.constraints import *  # noqa: F401,F403
from unikeras.common.constraints import __all__  # noqa: F401
