"""Fused ops that layers use internally (not part of `unikeras.ops`): one call where a
backend has a kernel computing two public ops at once.

- `biased_conv`: `conv` plus a per-channel bias. torch's `F.conv*d` adds the bias inside
  the convolution (and reduces its gradient there), which saves a full pass over the
  output each way; the other backends compose `conv` and `add` (`composed_biased_conv`),
  which XLA and OpenVINO fuse themselves.
"""
from unikeras.common.ops import core, neural, numpy as onp
from unikeras.common.ops.op import op

__all__ = ["biased_conv"]
IMPL_NAMES = ("biased_conv",)


@op
def biased_conv(inputs, kernel, bias, strides=1, padding="valid", data_format=None,
                dilation_rate=1):
    """`conv(inputs, kernel, ...)` plus `bias` (one value per output channel)."""
    return neural.conv.rule(inputs, kernel, strides, padding, data_format, dilation_rate)


def composed_biased_conv(inputs, kernel, bias, strides=1, padding="valid", data_format=None,
                         dilation_rate=1):
    """`biased_conv` as `conv` then `add`, for backends whose compiler fuses the two."""
    out = neural.conv(inputs, kernel, strides, padding, data_format, dilation_rate)
    fmt = neural.data_format_of("biased_conv", data_format)
    if fmt == "channels_first":
        bias = onp.reshape(bias, (-1,) + (1,) * (len(core.shape(kernel)) - 2))
    return onp.add(out, bias)
