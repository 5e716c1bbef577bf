"""Unique object names like Keras: `dense`, `dense_1`, ... per process."""
import re

_counts = {}


def to_snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()  # Conv2D -> conv2d, as Keras


def uniquify(base):
    n = _counts.get(base, 0)
    _counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset():
    """Forget issued names (`unikeras.utils.clear_session`)."""
    _counts.clear()
