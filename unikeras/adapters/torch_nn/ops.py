"""PyTorch implementations of the ops (the torch op table).

Mirrors `unikeras.adapters.numpy_ref.ops` function for function: same names, same
signatures, same result dtypes (from `unikeras.common.dtypes.result_type`; Python scalars
are weak) and the same values, computed differentiably with torch's fused kernels.

Hot path: when every tensor argument is already a `torch.Tensor` of the right dtype the
functions call torch directly; conversions (NumPy arrays, Python scalars, dtype
promotion) happen only on the slow path. Dtype promotions are cached per
(dtype, dtype, floatx) key.
"""
import builtins

import numpy as np
import torch
import torch.nn.functional as F

from unikeras import config
from unikeras.adapters.torch_nn import logits_memo
from unikeras.common import dtypes

try:  # NumPy spelling of bfloat16 (installed with jax / tensorflow); optional.
    import ml_dtypes as _ml_dtypes
    _NP_BFLOAT16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - depends on the environment
    _NP_BFLOAT16 = None

Tensor = torch.Tensor
_T = frozenset((torch.Tensor, torch.nn.Parameter))   # exact types of the fast path
_SCALARS = (bool, int, float)

# --- dtype maps ----------------------------------------------------------------------------
_TORCH_DTYPE = {
    "bool": torch.bool,
    "uint8": torch.uint8, "uint16": torch.uint16, "uint32": torch.uint32, "uint64": torch.uint64,
    "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32,
    "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128,
}
_NAME = {v: k for k, v in _TORCH_DTYPE.items()}
_FLOATS = frozenset((torch.bfloat16, torch.float16, torch.float32, torch.float64))
_INEXACT = _FLOATS | {torch.complex64, torch.complex128}
_SMALL_INTS = frozenset((torch.bool, torch.int8, torch.uint8))   # matmul computes in int32
_PROMOTED = {}   # (dtype key, dtype key, floatx) -> torch dtype


def _torch_dtype(dtype):
    """torch dtype of any dtype spelling (None -> floatx)."""
    try:
        return _TORCH_DTYPE[dtype]
    except (KeyError, TypeError):
        if isinstance(dtype, torch.dtype):
            return dtype
        name = dtypes.standardize_dtype(dtype)
        try:
            return _TORCH_DTYPE[name]
        except KeyError:
            raise ValueError(f"The torch backend has no dtype {name!r}.") from None


def _floatx():
    return _TORCH_DTYPE[config.floatx()]


# --- conversions ---------------------------------------------------------------------------
def _numpy_to_torch(arr):
    """A CPU torch tensor (sharing memory when possible) from a NumPy array."""
    if not arr.flags.writeable:
        arr = arr.copy()
    for convert in (torch.from_numpy, torch.as_tensor):   # from_numpy: the quick common case
        try:
            return convert(arr)
        except (TypeError, ValueError):
            pass
    if _NP_BFLOAT16 is not None and arr.dtype == _NP_BFLOAT16:
        return torch.as_tensor(np.ascontiguousarray(arr).view(np.int16)).view(torch.bfloat16)
    if arr.dtype.kind in "biufc":   # negative strides or non-native byte order
        return torch.as_tensor(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")))
    raise TypeError(f"Cannot convert a NumPy array of dtype {arr.dtype} to a torch tensor.")


def _key(x):
    """Promotion key of an argument: torch dtype, Python scalar type, or NumPy dtype."""
    if isinstance(x, Tensor):
        return x.dtype
    if isinstance(x, _SCALARS):
        return bool if isinstance(x, bool) else int if isinstance(x, int) else float
    dt = getattr(x, "dtype", None)
    if isinstance(dt, np.dtype):
        return dt
    return np.asarray(_as_numpy_input(x)).dtype


def _lattice(key):
    """What `dtypes.result_type` expects for a promotion key."""
    if key is bool:
        return True
    if key is int:
        return 1
    if key is float:
        return 1.0
    if isinstance(key, torch.dtype):
        return _NAME[key]
    return dtypes.standardize_dtype(key)


def _result_dtype(*keys):
    ck = keys + (config.floatx(),)
    out = _PROMOTED.get(ck)
    if out is None:
        out = _PROMOTED[ck] = _TORCH_DTYPE[dtypes.result_type(*(_lattice(k) for k in keys))]
    return out


def _as_numpy_input(x):
    """Lists/scalars that are not tensors, as `convert_to_tensor` would read them."""
    if type(x) in (list, tuple):
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            return arr.astype(config.floatx())
        if arr.dtype == np.int64:
            return arr.astype("int32")
        return arr
    return x


def _tensor(x, tdt, device=None):
    """`x` (tensor, NumPy array, scalar, list) as a torch tensor of dtype `tdt`."""
    if isinstance(x, Tensor):
        if x.dtype is not tdt:
            x = x.to(tdt)
        return x
    if isinstance(x, _SCALARS):
        return torch.tensor(x, dtype=tdt, device=device)
    t = _numpy_to_torch(np.asarray(_as_numpy_input(x)))
    if t.dtype is not tdt or (device is not None and t.device != device):
        t = t.to(device=device, dtype=tdt)
    return t


def _device_of(*xs):
    for x in xs:
        if isinstance(x, Tensor):
            return x.device
    return None


def _promote(x1, x2):
    """Both operands at their promoted dtype; a Python scalar stays a scalar (torch keeps
    it weak) when the other operand is a tensor."""
    tdt = _result_dtype(_key(x1), _key(x2))
    t1 = isinstance(x1, Tensor)
    t2 = isinstance(x2, Tensor)
    if t1 and t2:
        return (x1 if x1.dtype is tdt else x1.to(tdt)), (x2 if x2.dtype is tdt else x2.to(tdt))
    device = x1.device if t1 else x2.device if t2 else None
    if t1:
        a = x1 if x1.dtype is tdt else x1.to(tdt)
        b = x2 if isinstance(x2, _SCALARS) else _tensor(x2, tdt, device)
        return a, b
    if t2:
        b = x2 if x2.dtype is tdt else x2.to(tdt)
        a = x1 if isinstance(x1, _SCALARS) else _tensor(x1, tdt, device)
        return a, b
    return _tensor(x1, tdt), _tensor(x2, tdt)


def _promote_tensors(x1, x2):
    """Like `_promote`, but scalars become 0-d tensors too (for torch functions that
    take tensors only)."""
    a, b = _promote(x1, x2)
    if not isinstance(a, Tensor):
        a = torch.tensor(a, dtype=b.dtype, device=b.device)
    elif not isinstance(b, Tensor):
        b = torch.tensor(b, dtype=a.dtype, device=a.device)
    return a, b


def _to_tensor(x):
    """`x` as a torch tensor, with the dtype NumPy gives it (as the reference's
    `np.asarray`); tensors untouched."""
    if isinstance(x, Tensor):
        return x
    return _numpy_to_torch(np.asarray(x))


def _float(x):
    """`x` as a float tensor (integer and bool inputs become floatx)."""
    if type(x) in _T and x.dtype in _FLOATS:
        return x
    if not isinstance(x, Tensor):
        x = _numpy_to_torch(np.asarray(x))
    return x if x.dtype in _FLOATS else x.to(_floatx())


# --- element-wise arithmetic -------------------------------------------------------------
def _binary(fn, name, swapped=None):
    """`fn` on promoted operands; `swapped(b, a)` computes `fn(a, b)` for torch functions
    that take no Number as first argument (comparisons)."""
    def apply(x1, x2):
        if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype:
            return fn(x1, x2)
        a, b = _promote(x1, x2)
        if swapped is not None and not isinstance(a, Tensor):
            return swapped(b, a)
        return fn(a, b)
    apply.__name__ = apply.__qualname__ = name
    return apply


add = _binary(torch.add, "add")
subtract = _binary(torch.subtract, "subtract")
multiply = _binary(torch.multiply, "multiply")


def power(x1, x2):
    if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype and x1.dtype is not torch.bool:
        return torch.pow(x1, x2)
    a, b = _promote(x1, x2)
    if (a if isinstance(a, Tensor) else b).dtype is torch.bool:
        a, b = _promote_tensors(a, b)   # b ** e is 0 only for 0 ** 1: stays bool
        return torch.logical_or(a, torch.logical_not(b))
    return torch.pow(a, b)


equal = _binary(torch.eq, "equal", torch.eq)
not_equal = _binary(torch.ne, "not_equal", torch.ne)
greater = _binary(torch.gt, "greater", torch.lt)
greater_equal = _binary(torch.ge, "greater_equal", torch.le)
less = _binary(torch.lt, "less", torch.gt)
less_equal = _binary(torch.le, "less_equal", torch.ge)


def maximum(x1, x2):
    if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype:
        return torch.maximum(x1, x2)
    a, b = _promote(x1, x2)
    if not isinstance(b, Tensor):
        return torch.clamp_min(a, b)
    if not isinstance(a, Tensor):
        return torch.clamp_min(b, a)
    return torch.maximum(a, b)


def minimum(x1, x2):
    if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype:
        return torch.minimum(x1, x2)
    a, b = _promote(x1, x2)
    if not isinstance(b, Tensor):
        return torch.clamp_max(a, b)
    if not isinstance(a, Tensor):
        return torch.clamp_max(b, a)
    return torch.minimum(a, b)


def divide(x1, x2):
    if type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype and x1.dtype in _FLOATS:
        return torch.true_divide(x1, x2)
    a, b = _promote(x1, x2)
    dt = a.dtype if isinstance(a, Tensor) else b.dtype
    if dt not in _FLOATS:
        fx = _floatx()
        a = a.to(fx) if isinstance(a, Tensor) else a
        b = b.to(fx) if isinstance(b, Tensor) else b
    return torch.true_divide(a, b)


def negative(x):
    return torch.neg(_to_tensor(x))


def absolute(x):
    x = _to_tensor(x)
    return x if x.dtype is torch.bool else torch.abs(x)


def sign(x):
    return torch.sign(_to_tensor(x))


def square(x):
    x = _to_tensor(x)
    if x.dtype is torch.bool:   # 0/1 squares to itself, as int32
        return x.to(torch.int32)
    return torch.square(x)


def sqrt(x):
    return torch.sqrt(_float(x))


def exp(x):
    return torch.exp(_float(x))


def log(x):
    return torch.log(_float(x))


def tanh(x):
    return torch.tanh(_float(x))


def clip(x, x_min, x_max):
    if isinstance(x, _SCALARS):   # the dtype convert_to_tensor gives it (floatx, int32)
        x = _tensor(x, _TORCH_DTYPE[dtypes.result_type(x)], _device_of(x_min, x_max))
    x = _to_tensor(x)
    if x.dtype is torch.bool:
        x = x.to(torch.int32)
    lo_t = x_min is not None and not isinstance(x_min, _SCALARS)
    hi_t = x_max is not None and not isinstance(x_max, _SCALARS)
    if lo_t or hi_t:   # torch.clamp takes two numbers or two tensors
        device = x.device
        x_min = None if x_min is None else _tensor(x_min, _bound_dtype(x, x_min), device)
        x_max = None if x_max is None else _tensor(x_max, _bound_dtype(x, x_max), device)
    out = torch.clamp(x, x_min, x_max)
    return out if out.dtype is x.dtype else out.to(x.dtype)


def _bound_dtype(x, bound):
    return _result_dtype(x.dtype, _key(bound))


def where(condition, x1=None, x2=None):
    if x1 is None or x2 is None:
        raise ValueError("where: the one-argument form (indices of non-zeros) is not supported; "
                         "pass x1 and x2.")
    if not (type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype):
        x1, x2 = _promote(x1, x2)
    if not isinstance(condition, Tensor):
        device = _device_of(x1, x2)
        condition = _tensor(condition, torch.bool, device)
    elif condition.dtype is not torch.bool:
        condition = condition != 0
    if not isinstance(x1, Tensor) and not isinstance(x2, Tensor):
        tdt = _result_dtype(_key(x1), _key(x2))
        x1 = torch.tensor(x1, dtype=tdt, device=condition.device)
    return torch.where(condition, x1, x2)


# --- reductions ----------------------------------------------------------------------------
def _dims(axis):
    """torch `dim` for a NumPy `axis` (None: all axes)."""
    if axis is None or isinstance(axis, builtins.int):
        return axis
    return tuple(axis)


# Integer sums: input dtype -> (accumulation dtype, result dtype). Small integers widen as
# `reductions.sum_dtype` says; torch has no CPU sum kernel for uint16/32/64, so unsigned
# inputs accumulate in int64 and are cast back (wrapping as the unsigned type would).
_SUM_DTYPES = {
    torch.bool: (torch.int32, torch.int32), torch.int8: (torch.int32, torch.int32),
    torch.int16: (torch.int32, torch.int32), torch.int32: (torch.int32, torch.int32),
    torch.int64: (torch.int64, torch.int64), torch.uint8: (torch.int64, torch.uint32),
    torch.uint16: (torch.int64, torch.uint32), torch.uint32: (torch.int64, torch.uint32),
    torch.uint64: (torch.int64, torch.uint64),
}


def sum(x, axis=None, keepdims=False):
    x = _to_tensor(x)
    if x.dtype in _INEXACT:
        if axis is not None and not isinstance(axis, builtins.int) and len(axis) == 0:
            return x
        return torch.sum(x, dim=_dims(axis), keepdim=keepdims)
    acc, out = _SUM_DTYPES[x.dtype]
    if axis is not None and not isinstance(axis, builtins.int) and len(axis) == 0:
        return x.to(out)
    res = torch.sum(x, dim=_dims(axis), keepdim=keepdims, dtype=acc)
    return res if acc is out else res.to(out)


def mean(x, axis=None, keepdims=False):
    x = _float(x)
    if axis is not None and not isinstance(axis, builtins.int) and len(axis) == 0:
        return x
    return torch.mean(x, dim=_dims(axis), keepdim=keepdims)


def _extreme(reduce, clamp, x, axis, keepdims, initial):
    x = _to_tensor(x)
    dims = () if axis is None else _dims(axis)
    if dims == () and axis is not None:
        out = x
    elif x.numel() == 0 and initial is not None:
        shape = _reduced_shape(x.shape, axis, keepdims)
        return torch.full(shape, initial, dtype=x.dtype, device=x.device)
    else:
        out = reduce(x, dim=dims, keepdim=keepdims)
    if initial is not None:
        out = clamp(out, initial)
        if out.dtype is not x.dtype:
            out = out.to(x.dtype)
    return out


def _reduced_shape(shape, axis, keepdims):
    ndim = len(shape)
    axes = range(ndim) if axis is None else (
        [axis % ndim] if isinstance(axis, builtins.int) else [a % ndim for a in axis])
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)


def max(x, axis=None, keepdims=False, initial=None):
    return _extreme(torch.amax, torch.clamp_min, x, axis, keepdims, initial)


def min(x, axis=None, keepdims=False, initial=None):
    return _extreme(torch.amin, torch.clamp_max, x, axis, keepdims, initial)


def argmax(x, axis=None, keepdims=False):
    x = _to_tensor(x)
    return torch.argmax(x, dim=axis, keepdim=keepdims).to(torch.int32)


# --- shapes --------------------------------------------------------------------------------
def reshape(x, newshape):
    x = _to_tensor(x)
    return torch.reshape(x, (newshape,) if isinstance(newshape, builtins.int) else tuple(newshape))


def transpose(x, axes=None):
    x = _to_tensor(x)
    if axes is None:
        return torch.permute(x, tuple(range(x.ndim - 1, -1, -1)))
    return torch.permute(x, tuple(axes))


def expand_dims(x, axis):
    x = _to_tensor(x)
    if isinstance(axis, builtins.int):
        return torch.unsqueeze(x, axis)
    ndim = x.ndim + len(axis)
    for a in sorted(a % ndim for a in axis):
        x = torch.unsqueeze(x, a)
    return x


def squeeze(x, axis=None):
    x = _to_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    axes = (axis,) if isinstance(axis, builtins.int) else tuple(axis)
    shape = x.shape
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: dimension {a} of shape {tuple(shape)} is not 1.")
    return torch.squeeze(x, axes)


def concatenate(xs, axis=0):
    device = _device_of(*xs)
    xs = [_to_tensor(x) for x in xs]
    tdt = _result_dtype(*[x.dtype for x in xs])
    return torch.cat([x if x.dtype is tdt and (device is None or x.device == device)
                      else x.to(device=device, dtype=tdt) for x in xs], dim=axis)


def matmul(x1, x2):
    if not (type(x1) in _T and type(x2) in _T and x1.dtype is x2.dtype):
        x1, x2 = _promote_tensors(x1, x2)
    dt = x1.dtype
    if dt in _INEXACT:
        return torch.matmul(x1, x2)
    if dt in _SMALL_INTS:
        x1, x2 = x1.to(torch.int32), x2.to(torch.int32)
        dt = torch.int32
    if x1.device.type == "cpu":
        return torch.matmul(x1, x2)
    # Integer matmul has no kernel on accelerators: exact in float64 up to 2**53.
    return torch.matmul(x1.to(torch.float64), x2.to(torch.float64)).round_().to(dt)


def get_item(x, key):
    return _to_tensor(x)[key]


# --- creation ------------------------------------------------------------------------------
def zeros(shape, dtype=None):
    return torch.zeros(shape, dtype=_torch_dtype(dtype))


def ones(shape, dtype=None):
    return torch.ones(shape, dtype=_torch_dtype(dtype))


def full(shape, fill_value, dtype=None):
    shape = (shape,) if isinstance(shape, builtins.int) else tuple(shape)
    tdt = _torch_dtype(dtype)   # None: floatx, whatever the fill value's type
    if isinstance(fill_value, Tensor):
        return fill_value.to(tdt).expand(shape).clone()
    if not isinstance(fill_value, _SCALARS):
        fill_value = _to_tensor(fill_value)
        return full(shape, fill_value, tdt)
    return torch.full(shape, fill_value, dtype=tdt)


def zeros_like(x, dtype=None):
    x = _to_tensor(x)
    return torch.zeros_like(x, dtype=dtype and _torch_dtype(dtype))


def ones_like(x, dtype=None):
    x = _to_tensor(x)
    return torch.ones_like(x, dtype=dtype and _torch_dtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    step = 1 if step is None else step
    dtype = dtype or dtypes.result_type(start, *(s for s in (stop, step) if s is not None))
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, step, dtype=_torch_dtype(dtype))


# --- nn ------------------------------------------------------------------------------------
def relu(x):
    return torch.relu(_float(x))


def sigmoid(x):
    x = _float(x)
    return logits_memo.remember(torch.sigmoid(x), x, None)


def softmax(x, axis=-1):
    x = _float(x)
    out = torch.softmax(x, dim=axis)
    return logits_memo.remember(out, x, axis % x.ndim) if x.ndim else out


def log_softmax(x, axis=-1):
    return torch.log_softmax(_float(x), dim=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported.")
    x = _to_tensor(x)
    # Broadcast comparison (what F.one_hot computes) rather than F.one_hot itself: labels
    # outside [0, num_classes) give all-zero rows, as in the reference and in Keras, where
    # F.one_hot raises (and syncs the device to check).
    if x.dtype is not torch.int64:
        x = x.to(torch.int64)
    classes = torch.arange(num_classes, device=x.device)
    out = torch.eq(torch.unsqueeze(x, -1), classes).to(_torch_dtype(dtype))
    return out if axis == -1 else torch.movedim(out, -1, axis)


def dense(x, kernel, bias=None):
    # 2-D inputs: addmm/mm read the (in, out) kernel as it is stored, which is faster than
    # F.linear on its transposed view (measured at batch 1 and 128, 1 and 2 threads).
    if type(x) in _T and type(kernel) in _T and x.dtype is kernel.dtype and x.dtype in _FLOATS:
        if bias is None:
            return torch.mm(x, kernel) if x.ndim == 2 else F.linear(x, kernel.T)
        if type(bias) in _T and bias.dtype is x.dtype:
            return torch.addmm(bias, x, kernel) if x.ndim == 2 else F.linear(x, kernel.T, bias)
    x, kernel = _promote_tensors(x, kernel)
    if x.dtype not in _FLOATS:   # integer kernels: the reference's matmul + add
        out = matmul(x, kernel)
        return out if bias is None else add(out, bias)
    if bias is not None:
        if isinstance(bias, _SCALARS) or _result_dtype(x.dtype, _key(bias)) is not x.dtype:
            return add(F.linear(x, kernel.T), bias)
        bias = _tensor(bias, x.dtype, x.device)
    return F.linear(x, kernel.T, bias)


# --- core ----------------------------------------------------------------------------------
def cast(x, dtype):
    tdt = _torch_dtype(dtype)
    if isinstance(x, Tensor):
        return x if x.dtype is tdt else x.to(tdt)
    return _tensor(x, tdt)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if isinstance(x, Tensor):
        if dtype is None:
            return x
        tdt = _torch_dtype(dtype)
        return x if x.dtype is tdt else x.to(tdt)
    if dtype is None:
        if isinstance(x, float):
            dtype = config.floatx()
        elif isinstance(x, builtins.int) and not isinstance(x, bool):
            dtype = "int32"
    if type(x) in (list, tuple) and builtins.any(isinstance(i, Tensor) for i in x):
        items = [convert_to_tensor(i) for i in x]
        tdt = _torch_dtype(dtype) if dtype is not None else _result_dtype(*[i.dtype for i in items])
        device = _device_of(*items)
        return torch.stack([i.to(device=device, dtype=tdt) for i in items])
    if dtype is None and not isinstance(x, np.ndarray):
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            dtype = config.floatx()
        elif arr.dtype == np.int64 and not isinstance(x, np.generic):
            dtype = "int32"
        x = arr
    t = _numpy_to_torch(np.asarray(x))
    if dtype is not None:
        tdt = _torch_dtype(dtype)
        if t.dtype is not tdt:
            t = t.to(tdt)
    return t


def convert_to_numpy(x):
    if isinstance(x, Tensor):
        x = x.detach()
        if x.device.type != "cpu":
            x = x.cpu()
        if x.dtype is torch.bfloat16:
            if _NP_BFLOAT16 is None:
                return x.to(torch.float32).numpy()
            return x.view(torch.int16).numpy().view(_NP_BFLOAT16)
        return x.resolve_conj().resolve_neg().numpy()
    return np.asarray(x)


def stop_gradient(variable):
    if isinstance(variable, Tensor):
        return variable.detach()
    return convert_to_tensor(variable)


def shape(x):
    return tuple(x.shape) if isinstance(x, Tensor) else tuple(np.shape(x))


# --- random --------------------------------------------------------------------------------
_compiling = torch.compiler.is_compiling


def _generator(seed, device=None):
    """None (torch's global RNG) or a torch.Generator seeded deterministically. Under
    torch.compile, torch's global RNG (dynamo cannot trace Generators): compiled dropout is
    then random like `nn.Dropout`, reproducible through `torch.manual_seed`."""
    if seed is None or _compiling():
        return None
    if isinstance(seed, builtins.int):
        value = seed
    else:
        s = seed.tolist() if isinstance(seed, Tensor) else np.asarray(seed).ravel().tolist()
        value = builtins.int(s[0]) * 1_000_003 + builtins.int(s[1]) if len(s) > 1 else builtins.int(s[0])
    g = torch.Generator(device=device) if device is not None and device.type != "cpu" \
        else torch.Generator()
    return g.manual_seed(value % (1 << 64))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    tdt = _torch_dtype(dtype)
    sample = tdt if tdt in _FLOATS else torch.float32
    out = torch.randn(tuple(shape), generator=_generator(seed), dtype=sample)
    if isinstance(stddev, Tensor) or isinstance(mean, Tensor):
        out = out * stddev + mean
    else:
        if stddev != 1:
            out.mul_(stddev)
        if mean != 0:
            out.add_(mean)
    return out if out.dtype is tdt else out.to(tdt)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    tdt = _torch_dtype(dtype)
    sample = tdt if tdt in _FLOATS else torch.float32
    if isinstance(minval, Tensor) or isinstance(maxval, Tensor):
        out = torch.rand(tuple(shape), generator=_generator(seed), dtype=sample)
        out = out * (maxval - minval) + minval
    else:
        out = torch.empty(tuple(shape), dtype=sample).uniform_(minval, maxval,
                                                               generator=_generator(seed))
    return out if out.dtype is tdt else out.to(tdt)


def random_dropout(inputs, rate, noise_shape=None, seed=None):
    x = _float(inputs)
    if noise_shape is None:
        noise_shape = x.shape
    else:
        noise_shape = tuple(x.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = torch.rand(noise_shape, generator=_generator(seed, x.device), device=x.device) >= rate
    return torch.where(keep, x / (1 - rate), 0.0)


# Further op families, one module each (each defines __all__).
from unikeras.adapters.torch_nn.ops_elementwise import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_reductions import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_arrays import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_neural import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_linalg import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_control import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_image import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_random import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_recurrent import *  # noqa: E402,F401,F403
from unikeras.adapters.torch_nn.ops_fused import *  # noqa: E402,F401,F403
