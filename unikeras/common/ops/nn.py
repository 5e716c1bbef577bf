"""Neural-network ops (activations, softmax, one-hot). Bodies are symbolic rules."""
from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import broadcast_shapes, canonical_axis, dtype_of, spec
from unikeras.common.symbolic import KerasTensor


def _float_like(x):
    shape, dtype = spec(x)
    return KerasTensor(shape, dtype if dtypes.is_float(dtype) else config.floatx())


@op
def relu(x):
    """max(x, 0) element-wise."""
    return _float_like(x)


@op
def sigmoid(x):
    """1 / (1 + exp(-x)) element-wise."""
    return _float_like(x)


@op
def softmax(x, axis=-1):
    """exp(x) normalized to sum 1 along `axis`."""
    canonical_axis("softmax", axis, len(spec(x)[0]))
    return _float_like(x)


@op
def log_softmax(x, axis=-1):
    """log(softmax(x)) computed stably."""
    canonical_axis("log_softmax", axis, len(spec(x)[0]))
    return _float_like(x)


@op
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels to one-hot vectors of length `num_classes` inserted at `axis`."""
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported.")
    shape, _ = spec(x)
    a = canonical_axis("one_hot", axis, len(shape) + 1)
    return KerasTensor(shape[:a] + (int(num_classes),) + shape[a:], dtype or config.floatx())


@op
def dense(x, kernel, bias=None):
    """`x @ kernel + bias` in one fused call where the backend has one (e.g. F.linear).
    Dtype as `add(matmul(x, kernel), bias)`: bool/int8/uint8 products accumulate in int32."""
    s, d = spec(x)
    ks, kd = spec(kernel)
    if s[-1] is not None and s[-1] != ks[0]:
        raise ValueError(f"dense: input last dimension {s[-1]} does not match kernel shape {ks}.")
    out_dtype = dtypes.result_type(d, kd)
    if out_dtype in ("bool", "int8", "uint8"):   # as matmul
        out_dtype = "int32"
    shape = s[:-1] + (ks[1],)
    if bias is not None:
        shape = broadcast_shapes("dense", shape, spec(bias)[0])
        out_dtype = dtypes.result_type(out_dtype, dtype_of(bias))
    return KerasTensor(shape, out_dtype)


# Further definitions of this namespace, one module per family.
from unikeras.common.ops.neural import *  # noqa: E402,F401,F403
