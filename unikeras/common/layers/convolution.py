"""Convolution layers: Conv, ConvTranspose, DepthwiseConv, SeparableConv (1D/2D/3D).

One base class per kind, parameterized by `rank` (the number of spatial dims). Each call is
one fused op (`conv`, `conv_transpose`, `depthwise_conv`, `separable_conv`) plus the bias
and the activation; all geometry is normalized once, in `__init__` and `build`.
"""
from unikeras.common import activations, constraints, initializers, regularizers
from unikeras.common.layers.arguments import (
    check_rank, describe, int_tuple, positive_int, standardize_data_format, standardize_padding)
from unikeras.common.layers.core import _serialize
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, fused, neural, numpy as onp
from unikeras.common.symbolic import KerasTensor

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose",
    "Convolution2DTranspose", "Convolution3DTranspose", "SeparableConvolution1D",
    "SeparableConvolution2D",
]


# --- the shared base -------------------------------------------------------------------------
class _Convolution(Layer):
    """Geometry, bias, activation, input checks and config common to every kind."""

    rank = None
    kernel_weight_names = ("kernel",)
    fuses_bias = False  # True: `_convolve(..., bias=)` adds the bias itself

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation,
                 use_bias, bias_initializer, bias_regularizer, bias_constraint,
                 activity_regularizer, allowed_padding=("valid", "same"), **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        rank = self.rank
        self.kernel_size = int_tuple(self, "kernel_size", kernel_size, rank)
        self.strides = int_tuple(self, "strides", strides, rank)
        self.dilation_rate = int_tuple(self, "dilation_rate", dilation_rate, rank)
        self.padding = standardize_padding(self, padding, allowed_padding)
        self.data_format = standardize_data_format(self, data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self._set_weight_options("bias", bias_initializer, bias_regularizer, bias_constraint)
        self._channel_axis = -1 if self.data_format == "channels_last" else 1
        self._input_channels = None
        self._bias_shape = None
        self.bias = None

    def _set_weight_options(self, prefix, initializer, regularizer, constraint):
        """`<prefix>_initializer`, `_regularizer` and `_constraint`, resolved from names or
        configs as Keras does."""
        setattr(self, f"{prefix}_initializer", initializers.get(initializer))
        setattr(self, f"{prefix}_regularizer", regularizers.get(regularizer))
        setattr(self, f"{prefix}_constraint", constraints.get(constraint))

    def _forbid_strided_dilation(self):
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{describe(self)}: strides > 1 cannot be combined with "
                             f"dilation_rate > 1, got strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}.")

    # --- what each kind defines ---------------------------------------------------------------
    def _kernel_specs(self, channels):
        """[(weight name, shape, initializer, regularizer, constraint)] for `channels` inputs."""
        raise NotImplementedError

    def _convolve(self, inputs, *kernels):
        """The fused op on `inputs` and the kernel tensors (no bias, no activation)."""
        raise NotImplementedError

    # --- shapes -------------------------------------------------------------------------------
    def _input_channels_of(self, shape):
        check_rank(self, shape, self.rank, self.data_format)
        channels = shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{describe(self)}: the channel dimension (axis "
                             f"{self._channel_axis}) of the input must be known, got shape "
                             f"{tuple(shape)}.")
        if self._input_channels is not None and channels != self._input_channels:
            raise ValueError(f"{describe(self)}: expected {self._input_channels} input channels "
                             f"(axis {self._channel_axis}), got shape {tuple(shape)}.")
        return channels

    def build(self, input_shape):
        channels = self._input_channels_of(tuple(input_shape))
        for name, shape, initializer, regularizer, constraint in self._kernel_specs(channels):
            setattr(self, name, self.add_weight(shape=shape, initializer=initializer,
                                                regularizer=regularizer, constraint=constraint,
                                                name=name))
        out_channels = self._output_channels(channels)
        if self.use_bias:
            self.bias = self.add_weight(shape=(out_channels,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
            if self.data_format == "channels_first":
                self._bias_shape = (out_channels,) + (1,) * self.rank
        self._input_channels = channels
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        channels = self._input_channels_of(shape)
        kernels = [KerasTensor(shape_, self.compute_dtype)
                   for _, shape_, *_ in self._kernel_specs(channels)]
        return self._convolve(KerasTensor(shape, self.compute_dtype), *kernels).shape

    # --- calling ------------------------------------------------------------------------------
    def call(self, inputs):
        shape = core.shape(inputs)
        if len(shape) != self.rank + 2 or shape[self._channel_axis] not in (
                self._input_channels, None):
            self._input_channels_of(shape)  # raises the precise error
        kernels = [getattr(self, n) for n in self.kernel_weight_names]
        if self.bias is not None and self.fuses_bias:
            return self.activation(self._convolve(inputs, *kernels, bias=self.bias))
        outputs = self._convolve(inputs, *kernels)
        if self.bias is not None:
            bias = self.bias if self._bias_shape is None else onp.reshape(self.bias,
                                                                           self._bias_shape)
            outputs = onp.add(outputs, bias)
        return self.activation(outputs)

    # --- config -------------------------------------------------------------------------------
    def _geometry_config(self, **after_padding):
        """Geometry keys in Keras's order (`after_padding`: e.g. output_padding)."""
        return {"kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, **after_padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}

    def _output_config(self):
        return {"activation": activations.serialize(self.activation), "use_bias": self.use_bias}

    def _regularization_config(self, prefixes):
        """Initializers, then regularizers, then constraints of `prefixes` (+ bias)."""
        config = {f"{p}_initializer": _serialize(getattr(self, f"{p}_initializer"))
                  for p in prefixes + ("bias",)}
        config.update({f"{p}_regularizer": _serialize(getattr(self, f"{p}_regularizer"))
                       for p in prefixes + ("bias",)})
        config["activity_regularizer"] = _serialize(self.activity_regularizer)
        config.update({f"{p}_constraint": _serialize(getattr(self, f"{p}_constraint"))
                       for p in prefixes + ("bias",)})
        return config


# --- Conv ------------------------------------------------------------------------------------
class BaseConv(_Convolution):
    """N-d convolution; kernel `(*kernel_size, in_channels // groups, filters)`. Conv1D also
    takes padding='causal' (zeros on the left only, so no output sees a later step)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, allowed_padding=allowed, **kwargs)
        self.filters = positive_int(self, "filters", filters)
        self.groups = positive_int(self, "groups", groups)
        if filters % groups:
            raise ValueError(f"{describe(self)}: filters ({filters}) must be divisible by "
                             f"groups ({groups}).")
        self._forbid_strided_dilation()
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer,
                                 kernel_constraint)
        self._op_padding = "valid" if self.padding == "causal" else self.padding
        self._causal_pad = None
        if self.padding == "causal":
            left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
            step_axis = 1 if self.data_format == "channels_last" else 2
            self._causal_pad = tuple((left, 0) if a == step_axis else (0, 0) for a in range(3))

    def _kernel_specs(self, channels):
        if channels % self.groups:
            raise ValueError(f"{describe(self)}: the {channels} input channels must be "
                             f"divisible by groups ({self.groups}).")
        return [("kernel", self.kernel_size + (channels // self.groups, self.filters),
                 self.kernel_initializer, self.kernel_regularizer, self.kernel_constraint)]

    def _output_channels(self, channels):
        return self.filters

    fuses_bias = True

    def _convolve(self, inputs, kernel, bias=None):
        if self._causal_pad is not None:
            inputs = onp.pad(inputs, self._causal_pad)
        if bias is not None:  # one fused call where the backend has one (torch's F.conv*d)
            return fused.biased_conv(inputs, kernel, bias, self.strides, self._op_padding,
                                     self.data_format, self.dilation_rate)
        return neural.conv(inputs, kernel, self.strides, self._op_padding, self.data_format,
                           self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._geometry_config(),
                "groups": self.groups, **self._output_config(),
                **self._regularization_config(("kernel",))}


class Conv1D(BaseConv):
    rank = 1


class Conv2D(BaseConv):
    rank = 2


class Conv3D(BaseConv):
    rank = 3


# --- ConvTranspose ---------------------------------------------------------------------------
class BaseConvTranspose(_Convolution):
    """N-d transposed convolution (the gradient of a convolution); kernel
    `(*kernel_size, filters, in_channels)`, output lengths as Keras computes them."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.filters = positive_int(self, "filters", filters)
        self.output_padding = None if output_padding is None else int_tuple(
            self, "output_padding", output_padding, self.rank, minimum=0)
        if self.output_padding is not None and any(
                p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{describe(self)}: output_padding must be smaller than strides "
                             f"in every dim, got output_padding={self.output_padding} and "
                             f"strides={self.strides}.")
        self._forbid_strided_dilation()
        self._set_weight_options("kernel", kernel_initializer, kernel_regularizer,
                                 kernel_constraint)

    def _kernel_specs(self, channels):
        return [("kernel", self.kernel_size + (self.filters, channels), self.kernel_initializer,
                 self.kernel_regularizer, self.kernel_constraint)]

    def _output_channels(self, channels):
        return self.filters

    def _convolve(self, inputs, kernel):
        return neural.conv_transpose(inputs, kernel, self.strides, self.padding,
                                     self.output_padding, self.data_format, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                **self._geometry_config(output_padding=self.output_padding),
                **self._output_config(), **self._regularization_config(("kernel",))}


class Conv1DTranspose(BaseConvTranspose):
    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """Keras orders this one's arguments `data_format` before `output_padding`."""
    rank = 3

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 output_padding=None, dilation_rate=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)


# --- DepthwiseConv ---------------------------------------------------------------------------
class BaseDepthwiseConv(_Convolution):
    """Each input channel convolved with its own `depth_multiplier` filters; kernel
    `(*kernel_size, in_channels, depth_multiplier)`, in_channels * depth_multiplier outputs."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.depth_multiplier = positive_int(self, "depth_multiplier", depth_multiplier)
        self._set_weight_options("depthwise", depthwise_initializer, depthwise_regularizer,
                                 depthwise_constraint)

    def _kernel_specs(self, channels):
        return [("kernel", self.kernel_size + (channels, self.depth_multiplier),
                 self.depthwise_initializer, self.depthwise_regularizer,
                 self.depthwise_constraint)]

    def _output_channels(self, channels):
        return channels * self.depth_multiplier

    def _convolve(self, inputs, kernel):
        return neural.depthwise_conv(inputs, kernel, self.strides, self.padding,
                                     self.data_format, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                **self._geometry_config(), **self._output_config(),
                **self._regularization_config(("depthwise",))}


class DepthwiseConv1D(BaseDepthwiseConv):
    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    rank = 2


# --- SeparableConv ---------------------------------------------------------------------------
class BaseSeparableConv(_Convolution):
    """A depthwise convolution then a 1x1 convolution to `filters` channels; weights
    depthwise_kernel `(*kernel_size, in, depth_multiplier)`, pointwise_kernel
    `(1..., in * depth_multiplier, filters)`, bias `(filters,)`."""

    kernel_weight_names = ("depthwise_kernel", "pointwise_kernel")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.filters = positive_int(self, "filters", filters)
        self.depth_multiplier = positive_int(self, "depth_multiplier", depth_multiplier)
        self._set_weight_options("depthwise", depthwise_initializer, depthwise_regularizer,
                                 depthwise_constraint)
        self._set_weight_options("pointwise", pointwise_initializer, pointwise_regularizer,
                                 pointwise_constraint)

    def _kernel_specs(self, channels):
        middle = channels * self.depth_multiplier
        return [("depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
                 self.depthwise_initializer, self.depthwise_regularizer,
                 self.depthwise_constraint),
                ("pointwise_kernel", (1,) * self.rank + (middle, self.filters),
                 self.pointwise_initializer, self.pointwise_regularizer,
                 self.pointwise_constraint)]

    def _output_channels(self, channels):
        return self.filters

    def _convolve(self, inputs, depthwise_kernel, pointwise_kernel):
        return neural.separable_conv(inputs, depthwise_kernel, pointwise_kernel, self.strides,
                                     self.padding, self.data_format, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "filters": self.filters, **self._geometry_config(), **self._output_config(),
                **self._regularization_config(("depthwise", "pointwise"))}


class SeparableConv1D(BaseSeparableConv):
    rank = 1


class SeparableConv2D(BaseSeparableConv):
    rank = 2


# Keras's alternative names.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
