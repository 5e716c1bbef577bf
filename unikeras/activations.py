"""`unikeras.activations`."""
from unikeras.common.activations import get, linear, log_softmax, relu, serialize, sigmoid, softmax, tanh  # noqa: F401
