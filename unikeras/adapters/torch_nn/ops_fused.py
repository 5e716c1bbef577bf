"""The fused internal ops (`unikeras.common.ops.fused`) on torch's kernels."""
from unikeras.adapters.torch_nn.ops_neural import _conv_cf, _from_cf, _promote_float, _to_cf
from unikeras.common.ops import fused as _def
from unikeras.common.ops import neural as _neural

__all__ = list(_def.IMPL_NAMES)


def biased_conv(inputs, kernel, bias, strides=1, padding="valid", data_format=None,
                dilation_rate=1):
    fmt = _neural.data_format_of("biased_conv", data_format)
    x, kernel, bias = _promote_float(inputs, kernel, bias)
    out = _conv_cf(_to_cf(x, fmt), kernel, strides, padding, dilation_rate, "biased_conv",
                   bias=bias)
    return _from_cf(out, fmt)
