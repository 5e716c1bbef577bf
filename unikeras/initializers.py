"""`unikeras.initializers`: Keras 3's initializers (classes and snake_case aliases) and
get/serialize/deserialize."""
from unikeras.common.initializers import *  # noqa: F401,F403
from unikeras.common.initializers import __all__  # noqa: F401
