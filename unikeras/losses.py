"""`unikeras.losses`: the Keras 3 losses namespace."""
from unikeras.common.losses import *  # noqa: F401,F403
from unikeras.common.losses import __all__  # noqa: F401
