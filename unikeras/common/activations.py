"""Activation functions with Keras 3 signatures, written once with `unikeras.ops`, and
`get / serialize / deserialize` in Keras's formats (a name, or Keras's function dict)."""
from unikeras.common import catalog
from unikeras.common.ops import nn, numpy as onp
from unikeras.common.saving import serialization


def linear(x):
    """The identity: `x` unchanged."""
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """`x` above `threshold` (capped at `max_value`), `negative_slope * (x - threshold)`
    at or below it; the defaults give max(x, 0). Fused ops serve the common cases."""
    if threshold == 0 and max_value is None:
        return nn.relu(x) if negative_slope == 0 else nn.leaky_relu(x, negative_slope)
    if threshold == 0 and max_value == 6 and negative_slope == 0:
        return nn.relu6(x)
    out = nn.relu(x) if threshold == 0 else onp.where(onp.greater(x, threshold), x, 0.0)
    if max_value is not None:
        out = onp.clip(out, 0.0, max_value)
    if negative_slope != 0:
        below = onp.minimum(onp.subtract(x, threshold), 0.0)
        out = onp.add(out, onp.multiply(negative_slope, below))
    return out


def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, negative_slope * x below."""
    return nn.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """min(max(x, 0), 6)."""
    return nn.relu6(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) below."""
    return nn.elu(x, alpha=alpha)


def selu(x):
    """Scaled ELU with the self-normalizing constants."""
    return nn.selu(x)


def celu(x, alpha=1.0):
    """max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))."""
    return nn.celu(x, alpha=alpha)


def gelu(x, approximate=False):
    """x * Phi(x) (Phi: the standard normal CDF); `approximate=True` uses the tanh formula."""
    return nn.gelu(x, approximate=approximate)


def glu(x, axis=-1):
    """Halves a, b of `x` along `axis` -> a * sigmoid(b)."""
    return nn.glu(x, axis=axis)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return nn.sigmoid(x)


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return nn.silu(x)


swish = silu   # Keras's `swish` is the same function object as `silu`


def hard_sigmoid(x):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return nn.hard_sigmoid(x)


def hard_silu(x):
    """x * hard_sigmoid(x) (also called hard_swish)."""
    return nn.hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return nn.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return nn.hard_shrink(x, threshold=threshold)


def soft_shrink(x, threshold=0.5):
    """x moved `threshold` towards 0, and 0 within [-threshold, threshold]."""
    return nn.soft_shrink(x, threshold=threshold)


def tanh_shrink(x):
    """x - tanh(x)."""
    return nn.tanh_shrink(x)


def tanh(x):
    """Hyperbolic tangent."""
    return onp.tanh(x)


def softplus(x):
    """log(1 + exp(x)), computed stably."""
    return nn.softplus(x)


def softsign(x):
    """x / (1 + |x|)."""
    return nn.softsign(x)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)**2 / 4 on (-1, 1), x for x >= 1."""
    return nn.sparse_plus(x)


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 on (-1, 1), 1 for x >= 1."""
    return nn.sparse_sigmoid(x)


def sparsemax(x, axis=-1):
    """Projection of `x` onto the probability simplex along `axis`: a sparse softmax."""
    return nn.sparsemax(x, axis=axis)


def squareplus(x, b=4):
    """(x + sqrt(x**2 + b)) / 2: a smooth relu."""
    return nn.squareplus(x, b=b)


def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value`."""
    return nn.threshold(x, threshold, default_value)


def log_sigmoid(x):
    """log(sigmoid(x)), computed stably."""
    return nn.log_sigmoid(x)


def softmax(x, axis=-1):
    """exp(x) normalized to sum 1 along `axis`."""
    return nn.softmax(x, axis)   # positional: the op's quick dispatch takes no kwargs


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed stably."""
    return nn.log_softmax(x, axis=axis)


def mish(x):
    """x * tanh(softplus(x))."""
    return onp.multiply(x, onp.tanh(nn.softplus(x)))


def exponential(x):
    """exp(x)."""
    return onp.exp(x)


ALL_OBJECTS = (celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_tanh,
               leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu, sigmoid,
               silu, soft_shrink, softmax, softplus, softsign, sparse_plus, sparse_sigmoid,
               sparsemax, squareplus, tanh, tanh_shrink, threshold)
ALL_OBJECTS_DICT = {**{f.__name__: f for f in ALL_OBJECTS},
                    "swish": swish, "hard_swish": hard_swish}


def _builtin_name(fn):
    name = getattr(fn, "__name__", None)
    return name if ALL_OBJECTS_DICT.get(name) is fn else None


def serialize(activation):
    """A built-in activation's name; other functions in Keras's dict form."""
    name = _builtin_name(activation)
    if name is not None:
        return name
    if hasattr(activation, "get_config"):   # a callable object, e.g. an activation layer
        return serialization.serialize_keras_object(activation)
    return catalog.serialize_function(activation, "activation")


def deserialize(config, custom_objects=None):
    """The activation a name or a serialized dict stands for; unknown names raise."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        config = config.get("config")
    elif isinstance(config, dict) and "class_name" in config:   # a callable object's config
        return serialization.deserialize_keras_object(config, custom_objects)
    if not isinstance(config, str):
        raise ValueError(f"Cannot deserialize an activation from {config!r}.")
    found = catalog.find_registered(config, custom_objects) or ALL_OBJECTS_DICT.get(config)
    if found is None:
        raise ValueError(f"Unknown activation {config!r}; known: {sorted(ALL_OBJECTS_DICT)} "
                         "(pass custom ones in custom_objects).")
    return found


def get(identifier):
    """The activation function for None (linear), a name, a serialized dict or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}.")


__all__ = sorted(ALL_OBJECTS_DICT) + ["deserialize", "get", "serialize"]
