"""Argument checks shared by the layer families: how errors name a layer, and the
normalization of ints/tuples, padding and data_format arguments."""
from unikeras import config


def describe(layer):
    """`Conv2D 'conv2d_1'`: how error messages name a layer."""
    return f"{type(layer).__name__} '{layer.name}'"


def int_tuple(layer, what, value, rank, minimum=1):
    """`value` (an int or `rank` ints, each >= minimum) as a tuple of `rank` ints."""
    items = (value,) * rank if isinstance(value, int) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if (items is None or len(items) != rank or not all(isinstance(v, int) for v in items)
            or any(v < minimum for v in items)):
        raise ValueError(f"{describe(layer)}: `{what}` must be an int or a tuple of {rank} ints "
                         f">= {minimum}, got {value!r}.")
    return items


def positive_int(layer, what, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{describe(layer)}: `{what}` must be a positive int, got {value!r}.")
    return value


def standardize_padding(layer, padding, allowed=("valid", "same")):
    """Lower-cased `padding`, which must be one of `allowed`."""
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in allowed:
        raise ValueError(f"{describe(layer)}: `padding` must be one of {list(allowed)}, "
                         f"got {padding!r}.")
    return p


def standardize_data_format(layer, data_format):
    """`data_format`, None meaning the configured default (channels_last unless set)."""
    fmt = config.image_data_format() if data_format is None else data_format
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{describe(layer)}: `data_format` must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}.")
    return fmt


def check_rank(layer, shape, rank, data_format):
    """Raise a ValueError naming `layer` unless `shape` has `rank` spatial dims."""
    if len(shape) != rank + 2:
        layout = ("(batch, spatial..., channels)" if data_format == "channels_last"
                  else "(batch, channels, spatial...)")
        raise ValueError(f"{describe(layer)}: expected inputs of rank {rank + 2} {layout}, "
                         f"got shape {tuple(shape)}.")
