"""`unikeras.regularizers`: Keras 3's weight regularizers and get/serialize/deserialize."""
from unikeras.common.regularizers import *  # noqa: F401,F403
from unikeras.common.regularizers import __all__  # noqa: F401
