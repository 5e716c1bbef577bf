"""Activation functions, written with `unikeras.ops`."""
from unikeras.common.ops import nn, numpy as onp


def linear(x):
    return x


def relu(x):
    return nn.relu(x)


def sigmoid(x):
    return nn.sigmoid(x)


def tanh(x):
    return onp.tanh(x)


def softmax(x, axis=-1):
    return nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return nn.log_softmax(x, axis=axis)


ALL = {f.__name__: f for f in (linear, relu, sigmoid, tanh, softmax, log_softmax)}


def get(identifier):
    """Activation function from a name, None (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in ALL:
            raise ValueError(f"Unknown activation {identifier!r}; known: {sorted(ALL)}.")
        return ALL[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(f"Cannot interpret {identifier!r} as an activation.")


def serialize(fn):
    return fn.__name__ if fn.__name__ in ALL else fn
