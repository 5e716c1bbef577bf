"""Pooling layers: max/average, global and adaptive (1D/2D/3D).

One base class per kind, parameterized by `rank` (the number of spatial dims); each call is
one fused op (`max_pool`, `average_pool`, `adaptive_*_pool`, or a reduction over the
spatial axes) on geometry normalized once in `__init__`.
"""
from unikeras.common import dtypes
from unikeras.common.layers.arguments import (
    check_rank, describe, int_tuple, standardize_data_format, standardize_padding)
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, neural, numpy as onp

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
]


class _SpatialLayer(Layer):
    """A weightless layer over inputs with `rank` spatial dims and a data_format."""

    rank = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.built = True

    def _check_rank(self, inputs):
        shape = core.shape(inputs)
        if len(shape) != self.rank + 2:
            check_rank(self, shape, self.rank, self.data_format)
        return shape


# --- windowed pooling ------------------------------------------------------------------------
class BasePooling(_SpatialLayer):
    """Max or mean over `pool_size` windows moved by `strides` (default: pool_size)."""

    pool_op = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(data_format=data_format, name=name, **kwargs)
        self.pool_size = int_tuple(self, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else int_tuple(
            self, "strides", strides, self.rank)
        self.padding = standardize_padding(self, padding)

    def call(self, inputs):
        self._check_rank(inputs)
        return self.pool_op(inputs, self.pool_size, self.strides, self.padding,
                                  self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class BaseMaxPooling(BasePooling):
    pool_op = staticmethod(neural.max_pool)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class BaseAveragePooling(BasePooling):
    pool_op = staticmethod(neural.average_pool)


class MaxPooling1D(BaseMaxPooling):
    rank = 1


class MaxPooling2D(BaseMaxPooling):
    rank = 2


class MaxPooling3D(BaseMaxPooling):
    rank = 3


class AveragePooling1D(BaseAveragePooling):
    rank = 1


class AveragePooling2D(BaseAveragePooling):
    rank = 2


class AveragePooling3D(BaseAveragePooling):
    rank = 3


# --- global pooling --------------------------------------------------------------------------
class BaseGlobalPooling(_SpatialLayer):
    """Max or mean over every spatial axis; `keepdims` keeps them as size-1 axes."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.keepdims = keepdims
        first = 1 if self.data_format == "channels_last" else 2
        self._spatial_axes = tuple(range(first, first + self.rank))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class BaseGlobalMaxPooling(BaseGlobalPooling):
    def call(self, inputs):
        self._check_rank(inputs)
        return onp.max(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


class BaseGlobalAveragePooling(BaseGlobalPooling):
    def call(self, inputs):
        self._check_rank(inputs)
        return onp.mean(inputs, axis=self._spatial_axes, keepdims=self.keepdims)


class GlobalMaxPooling1D(BaseGlobalMaxPooling):
    rank = 1


class GlobalMaxPooling2D(BaseGlobalMaxPooling):
    rank = 2


class GlobalMaxPooling3D(BaseGlobalMaxPooling):
    rank = 3


class GlobalAveragePooling1D(BaseGlobalAveragePooling):
    """Mean over the steps; with `mask` (batch, steps), the mean of the unmasked steps only."""

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True
        self._mask_axis = 2 if self.data_format == "channels_last" else 1

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        shape = self._check_rank(inputs)
        self._check_mask(shape, core.shape(mask))
        weights = onp.expand_dims(core.cast(mask, dtypes.standardize_dtype(inputs.dtype)),
                                  self._mask_axis)
        total = onp.sum(onp.multiply(inputs, weights), axis=self._spatial_axes,
                        keepdims=self.keepdims)
        return onp.divide(total, onp.sum(weights, axis=self._spatial_axes,
                                         keepdims=self.keepdims))

    def compute_mask(self, inputs, mask=None):
        """The steps are averaged away, and their mask with them."""
        return None

    def _check_mask(self, shape, mask_shape):
        steps = shape[self._spatial_axes[0]]
        if len(mask_shape) != 2 or any(m is not None and s is not None and m != s for m, s in
                                       zip(mask_shape, (shape[0], steps))):
            raise ValueError(f"{describe(self)}: the mask must have shape (batch, steps) = "
                             f"{(shape[0], steps)} for inputs of shape {tuple(shape)}, got "
                             f"{tuple(mask_shape)}.")


class GlobalAveragePooling2D(BaseGlobalAveragePooling):
    rank = 2


class GlobalAveragePooling3D(BaseGlobalAveragePooling):
    rank = 3


# --- adaptive pooling ------------------------------------------------------------------------
class BaseAdaptivePooling(_SpatialLayer):
    """Pooling to a fixed spatial `output_size`, whatever the input size (PyTorch windows)."""

    pool_op = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.output_size = int_tuple(self, "output_size", output_size, self.rank)

    def call(self, inputs):
        self._check_rank(inputs)
        return self.pool_op(inputs, self.output_size, self.data_format)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class BaseAdaptiveMaxPooling(BaseAdaptivePooling):
    pool_op = staticmethod(neural.adaptive_max_pool)


class BaseAdaptiveAveragePooling(BaseAdaptivePooling):
    pool_op = staticmethod(neural.adaptive_average_pool)


class AdaptiveMaxPooling1D(BaseAdaptiveMaxPooling):
    rank = 1


class AdaptiveMaxPooling2D(BaseAdaptiveMaxPooling):
    rank = 2


class AdaptiveMaxPooling3D(BaseAdaptiveMaxPooling):
    rank = 3


class AdaptiveAveragePooling1D(BaseAdaptiveAveragePooling):
    rank = 1


class AdaptiveAveragePooling2D(BaseAdaptiveAveragePooling):
    rank = 2


class AdaptiveAveragePooling3D(BaseAdaptiveAveragePooling):
    rank = 3


# Keras's alternative names.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
