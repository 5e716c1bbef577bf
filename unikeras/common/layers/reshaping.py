"""Reshaping layers: Reshape, Permute, RepeatVector, UpSampling, ZeroPadding, Cropping.

(Flatten lives in core.py.) The N-D variants share one base class per kind, parameterized by
`rank` (the number of spatial dims); arguments are normalized once, in `__init__`, and each
call is one or a few array ops (reshape, transpose, repeat, pad, slicing, image.resize).
"""
import math

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.layers.arguments import describe, standardize_data_format
from unikeras.common.layers.input_spec import InputSpec
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, image, numpy as onp
from unikeras.common.symbolic import KerasTensor

__all__ = ["Reshape", "Permute", "RepeatVector", "UpSampling1D", "UpSampling2D", "UpSampling3D",
           "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
           "Cropping3D"]


def _int_sequence(layer, what, value):
    """`value` as a tuple of ints (TypeError naming the layer otherwise)."""
    try:
        items = tuple(value)
    except TypeError:
        items = None
    if items is None or any(isinstance(v, bool) or not isinstance(v, int) for v in items):
        raise TypeError(f"{describe(layer)}: `{what}` must be a tuple of ints, got {value!r}.")
    return items


def _checked_shape(layer, inputs):
    """The shape of `inputs`, after a ValueError naming `layer` if its rank is not the one
    `layer.input_spec` asks for (one comparison on the hot path)."""
    shape = core.shape(inputs)
    if len(shape) != layer.input_spec.ndim:
        layer.input_spec.check(layer.name, shape)
    return shape


def _spatial_axes(rank, data_format):
    """Axes of the spatial dims in inputs of rank `rank + 2`."""
    start = 1 if data_format == "channels_last" else 2
    return tuple(range(start, start + rank))


class Reshape(Layer):
    """Reshapes the non-batch dims to `target_shape`; one entry may be -1 (inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target = _int_sequence(self, "target_shape", target_shape)
        if any(d < -1 for d in target) or target.count(-1) > 1:
            raise ValueError(f"{describe(self)}: target_shape entries must be non-negative ints "
                             f"with at most one -1, got {target_shape!r}.")
        self.target_shape = target
        self._reshape_to = None

    def _resolved(self, input_shape):
        """`target_shape` with -1 resolved (None when unknown) for inputs of `input_shape`."""
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 not in self.target_shape:
            if size is not None and size != known:
                raise ValueError(self._size_error(input_shape))
            return self.target_shape
        if size is None:
            return tuple(None if d == -1 else d for d in self.target_shape)
        if known == 0 or size % known:
            raise ValueError(self._size_error(input_shape))
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def _size_error(self, input_shape):
        return (f"{describe(self)}: cannot reshape inputs of shape {tuple(input_shape)} (without "
                f"the batch dim) to target_shape {self.target_shape}: the sizes differ.")

    def build(self, input_shape):
        resolved = self._resolved(input_shape)
        self._built_for = tuple(input_shape[1:])
        if None not in resolved:
            self._reshape_to = (-1,) + resolved
        self.built = True

    def call(self, inputs):
        shape = core.shape(inputs)
        target = self._reshape_to
        if target is None or tuple(shape[1:]) != self._built_for:
            target = (-1 if shape[0] is None else shape[0],) + tuple(
                -1 if d is None else d for d in self._resolved(shape))
        return onp.reshape(inputs, target)

    def compute_output_spec(self, inputs):
        return KerasTensor((inputs.shape[0],) + self._resolved(inputs.shape), inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch dims: `dims` is a permutation of 1..n (the batch dim is 0)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = _int_sequence(self, "dims", dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{describe(self)}: dims must be a permutation of 1..{len(dims)} "
                             f"(the batch axis 0 stays in place), got {dims!r}.")
        self.dims = dims
        self._permutation = (0,) + dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        _checked_shape(self, inputs)
        return onp.transpose(inputs, self._permutation)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features), repeating each vector n times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"{describe(self)}: n must be an int, got {n!r}.")
        if n <= 0:
            raise ValueError(f"{describe(self)}: n must be a positive int, got {n}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        _checked_shape(self, inputs)
        return onp.repeat(onp.expand_dims(inputs, 1), self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


# --- UpSampling ------------------------------------------------------------------------------
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def _positive_ints(layer, what, value, rank):
    """`value` (an int or `rank` ints >= 1) as a tuple of `rank` ints."""
    items = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if len(items) != rank or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                 for v in items):
        raise ValueError(f"{describe(layer)}: `{what}` must be an int or a tuple of {rank} "
                         f"positive ints, got {value!r}.")
    return items


class _UpSampling(Layer):
    """Repeats each spatial position `size` times along each spatial axis (nearest), or, for
    2-D, resizes by `size` with `interpolation` (bilinear: half-pixel centers)."""

    rank = None

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = self._standardize_size(size)
        self.data_format = standardize_data_format(self, data_format)
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{describe(self)}: interpolation must be one of "
                             f"{list(_INTERPOLATIONS)}, got {interpolation!r}.")
        self.interpolation = interpolation
        self._axes = _spatial_axes(self.rank, self.data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _standardize_size(self, size):
        return _positive_ints(self, "size", size, self.rank)

    def call(self, inputs):
        shape = _checked_shape(self, inputs)
        if self.interpolation != "nearest":
            return self._resize(inputs, shape)
        for axis, factor in zip(self._axes, self.size):
            if factor > 1:
                inputs = onp.repeat(inputs, factor, axis=axis)
        return inputs

    def _resize(self, inputs, shape):
        spatial = [shape[a] for a in self._axes]
        if None in spatial:
            raise ValueError(f"{describe(self)}: {self.interpolation} interpolation needs known "
                             f"spatial sizes, got inputs of shape {tuple(shape)}.")
        size = tuple(d * f for d, f in zip(spatial, self.size))
        return image.resize(inputs, size, interpolation=self.interpolation,
                            data_format=self.data_format)

    def compute_output_spec(self, inputs):
        shape = list(inputs.shape)
        for axis, factor in zip(self._axes, self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * factor
        dtype = inputs.dtype
        if self.interpolation != "nearest" and not dtypes.is_float(dtype):
            dtype = config.floatx()
        return KerasTensor(tuple(shape), dtype)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling1D(_UpSampling):
    """(batch, steps, features) -> (batch, steps * size, features)."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, data_format="channels_last", **kwargs)

    def _standardize_size(self, size):
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"{describe(self)}: size must be an int, got {size!r}.")
        return super()._standardize_size(size)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return {**config, "size": self.size[0]}


class UpSampling2D(_UpSampling):
    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, "nearest", **kwargs)


# --- ZeroPadding and Cropping ----------------------------------------------------------------
def _amount_pairs(layer, what, value, rank):
    """Keras's spellings of per-axis (before, after) amounts as `rank` pairs of ints >= 0:
    an int (all sides), `rank` ints (symmetric per axis), `rank` pairs, or for rank 1 one
    pair."""
    def ints(items, n):
        return (isinstance(items, (tuple, list)) and len(items) == n
                and all(isinstance(v, int) and not isinstance(v, bool) for v in items))

    if isinstance(value, int) and not isinstance(value, bool):
        pairs = ((value, value),) * rank
    elif rank == 1 and ints(value, 2):
        pairs = (tuple(value),)
    elif rank > 1 and ints(value, rank):
        pairs = tuple((v, v) for v in value)
    elif rank > 1 and isinstance(value, (tuple, list)) and len(value) == rank and all(
            ints(p, 2) for p in value):
        pairs = tuple(tuple(p) for p in value)
    else:
        pairs = None
    if pairs is None or any(v < 0 for p in pairs for v in p):
        spellings = ("an int or a tuple of 2 ints" if rank == 1 else
                     f"an int, a tuple of {rank} ints or a tuple of {rank} (before, after) pairs")
        raise ValueError(f"{describe(layer)}: `{what}` must be {spellings}, all >= 0, got "
                         f"{value!r}.")
    return pairs


class _ZeroPadding(Layer):
    """Pads the spatial dims with zeros, `padding` (before, after) amounts per axis."""

    rank = None

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _amount_pairs(self, "padding", padding, self.rank)
        self.data_format = standardize_data_format(self, data_format)
        pads = [(0, 0)] * (self.rank + 2)
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            pads[axis] = pair
        self._pad_width = tuple(pads)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        _checked_shape(self, inputs)
        return onp.pad(inputs, self._pad_width)

    def get_config(self):
        padding = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(Layer):
    """Removes `cropping` (before, after) amounts from each spatial dim."""

    rank = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _amount_pairs(self, "cropping", cropping, self.rank)
        self.data_format = standardize_data_format(self, data_format)
        self._axes = _spatial_axes(self.rank, self.data_format)
        index = [slice(None)] * (self.rank + 2)
        for axis, (before, after) in zip(self._axes, self.cropping):
            index[axis] = slice(before, -after if after else None)
        self._index = tuple(index)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _check(self, shape):
        for axis, (before, after) in zip(self._axes, self.cropping):
            if shape[axis] is not None and before + after >= shape[axis]:
                raise ValueError(f"{describe(self)}: cropping {self.cropping} must leave at least "
                                 f"one element of each spatial dim, got inputs of shape "
                                 f"{tuple(shape)}.")

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def call(self, inputs):
        self._check(_checked_shape(self, inputs))
        return onp.get_item(inputs, self._index)

    def compute_output_spec(self, inputs):
        self._check(inputs.shape)
        shape = list(inputs.shape)
        for axis, (before, after) in zip(self._axes, self.cropping):
            shape[axis] = None if shape[axis] is None else shape[axis] - before - after
        return KerasTensor(tuple(shape), inputs.dtype)

    def get_config(self):
        cropping = self.cropping[0] if self.rank == 1 else self.cropping
        return {**super().get_config(), "cropping": cropping, "data_format": self.data_format}


class Cropping1D(_Cropping):
    """(batch, steps, features): crops the steps axis."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class Cropping2D(_Cropping):
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
