"""`unikeras.layers`: the layer catalog."""
from unikeras.common.layers.core import Activation, Dense, Dropout, Flatten  # noqa: F401
from unikeras.common.layers.input_layer import Input, InputLayer  # noqa: F401
from unikeras.common.layers.input_spec import InputSpec  # noqa: F401
from unikeras.common.layers.layer import Layer  # noqa: F401
