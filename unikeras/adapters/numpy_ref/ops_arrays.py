"""NumPy reference implementations of the arrays op family (the semantics every backend is
tested against). Dtypes follow the symbolic rules of unikeras.common.ops.arrays."""
import builtins

import numpy as np

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops import arrays as _defs
from unikeras.adapters.numpy_ref.ops import _dtype_of, _promote


def _a(x):
    return np.asarray(x)


def _common(xs):
    xs = [np.asarray(x) for x in xs]
    dtype = dtypes.result_type(*[_dtype_of(x) for x in xs])
    return [x.astype(dtype, copy=False) for x in xs]


def _out(x, dtype):
    return np.asarray(x).astype(dtypes.standardize_dtype(dtype), copy=False)


# --- joining and splitting -------------------------------------------------------------------
def stack(x, axis=0):
    return np.stack(_common(x), axis=axis)


def unstack(x, num=None, axis=0):
    x = _a(x)
    a = axis % x.ndim
    if num is not None and num != x.shape[a]:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of shape {x.shape}.")
    return [np.take(x, i, axis=a) for i in range(x.shape[a])]


def _split(name, x, indices_or_sections, axis, even):
    x = _a(x)
    a = axis % x.ndim
    sizes = _defs.split_sizes(name, x.shape[a], indices_or_sections, even)
    bounds = np.cumsum([0] + sizes)
    index = [builtins.slice(None)] * x.ndim
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index[a] = builtins.slice(int(lo), int(hi))
        out.append(x[tuple(index)])
    return out


def split(x, indices_or_sections, axis=0):
    return _split("split", x, indices_or_sections, axis, True)


def array_split(x, indices_or_sections, axis=0):
    return _split("array_split", x, indices_or_sections, axis, False)


def hsplit(x, indices_or_sections):
    return _split("hsplit", x, indices_or_sections, 1 if _a(x).ndim > 1 else 0, True)


def vsplit(x, indices_or_sections):
    return _split("vsplit", x, indices_or_sections, 0, True)


def dsplit(x, indices_or_sections):
    return _split("dsplit", x, indices_or_sections, 2, True)


def hstack(xs):
    return np.hstack(_common(xs))


def vstack(xs):
    return np.vstack(_common(xs))


def dstack(xs):
    return np.dstack(_common(xs))


def append(x1, x2, axis=None):
    a, b = _promote(x1, x2)
    return np.append(a, b, axis=axis)


# --- repetition, padding, reordering ---------------------------------------------------------
def tile(x, repeats):
    return np.tile(_a(x), _defs.int_tuple("tile", repeats, "repeats"))


def repeat(x, repeats, axis=None):
    reps = _defs.int_tuple("repeat", repeats, "repeats")
    return np.repeat(_a(x), reps[0] if len(reps) == 1 else reps, axis=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    x = _a(x)
    pairs = _defs.pad_pairs("pad", pad_width, x.ndim)
    if mode == "constant":
        return np.pad(x, pairs, mode="constant",
                      constant_values=0 if constant_values is None else constant_values)
    return np.pad(x, pairs, mode=mode)


def flip(x, axis=None):
    return np.flip(_a(x), axis=axis if not isinstance(axis, list) else tuple(axis))


def fliplr(x):
    return np.fliplr(_a(x))


def flipud(x):
    return np.flipud(_a(x))


def roll(x, shift, axis=None):
    return np.roll(_a(x), shift, axis=axis if not isinstance(axis, list) else tuple(axis))


def rot90(array, k=1, axes=(0, 1)):
    return np.rot90(_a(array), k=k, axes=tuple(axes))


# --- gathering -------------------------------------------------------------------------------
def take(x, indices, axis=None):
    return np.take(_a(x), _a(indices), axis=axis)


def take_along_axis(x, indices, axis=None):
    x, indices = _a(x), _a(indices)
    if axis is None:
        return np.take_along_axis(x.ravel(), indices, axis=0)
    xs, ishape, a = _defs.take_along_axis_shapes("take_along_axis", x.shape, indices.shape, axis)
    return np.take_along_axis(np.broadcast_to(x, xs), np.broadcast_to(indices, ishape), axis=a)


def broadcast_to(x, shape):
    return np.array(np.broadcast_to(_a(x), _defs.int_tuple("broadcast_to", shape)))


def moveaxis(x, source, destination):
    return np.moveaxis(_a(x), source, destination)


def swapaxes(x, axis1, axis2):
    return np.swapaxes(_a(x), axis1, axis2)


def ravel(x):
    return np.ravel(_a(x))


def size(x):
    return np.asarray(np.size(x), "int32")


def ndim(x):
    return int(np.ndim(x))


def dtype(x):
    return dtypes.standardize_dtype(_a(x).dtype)


# --- diagonals and triangles -----------------------------------------------------------------
def diag(x, k=0):
    return np.diag(_a(x), k)


def diagflat(x, k=0):
    return np.diagflat(_a(x), k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return np.array(np.diagonal(_a(x), offset, axis1, axis2))


def trace(x, offset=0, axis1=0, axis2=1):
    x = _a(x)
    return np.asarray(np.trace(x, offset, axis1, axis2,
                               dtype=_defs.trace_dtype(dtypes.standardize_dtype(x.dtype))))


def tri(N, M=None, k=0, dtype=None):
    return np.tri(N, M, k, dtype=dtypes.standardize_dtype(dtype))


def tril(x, k=0):
    return np.tril(_a(x), k)


def triu(x, k=0):
    return np.triu(_a(x), k)


def eye(N, M=None, k=0, dtype=None):
    return np.eye(N, M, k, dtype=dtypes.standardize_dtype(dtype))


def identity(n, dtype=None):
    return np.identity(n, dtype=dtypes.standardize_dtype(dtype))


# --- creation --------------------------------------------------------------------------------
def empty(shape, dtype=None):
    return np.zeros(_defs.int_tuple("empty", shape), dtypes.standardize_dtype(dtype))


def empty_like(x, dtype=None):
    return np.zeros_like(_a(x), dtype=dtype and dtypes.standardize_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    x = _a(x)
    d = dtypes.standardize_dtype(dtype) if dtype else x.dtype
    return np.full(x.shape, fill_value, dtype=d) if np.ndim(fill_value) == 0 else \
        np.array(np.broadcast_to(_out(fill_value, d), x.shape))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    out = np.linspace(np.asarray(start, "float64"), np.asarray(stop, "float64"), num,
                      endpoint=endpoint, retstep=retstep, axis=axis)
    if retstep:
        samples, step = out
        if dtypes.is_int(d):
            samples = np.floor(samples)
        return _out(samples, d), _out(step, d)
    return _out(np.floor(out) if dtypes.is_int(d) else out, d)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    out = np.logspace(np.asarray(start, "float64"), np.asarray(stop, "float64"), num,
                      endpoint=endpoint, base=base, axis=axis)
    return _out(out, d)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    out = np.geomspace(np.asarray(start, "float64"), np.asarray(stop, "float64"), num,
                       endpoint=endpoint, axis=axis)
    return _out(out, d)


def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}.")
    return list(np.meshgrid(*[_a(t) for t in x], indexing=indexing))


def array(x, dtype=None):
    from unikeras.adapters.numpy_ref.ops import convert_to_tensor
    return convert_to_tensor(x, dtype)


# --- products --------------------------------------------------------------------------------
def _contract_inputs(x1, x2):
    a, b = _promote(x1, x2)
    d = _defs.einsum_result_dtype(a.dtype)
    return a.astype(d, copy=False), b.astype(d, copy=False)


def einsum(subscripts, *operands, **kwargs):
    ops = _common(operands)
    d = _defs.einsum_result_dtype(*[o.dtype for o in ops])
    return np.asarray(np.einsum(subscripts, *[o.astype(d, copy=False) for o in ops]))


def tensordot(x1, x2, axes=2):
    a, b = _contract_inputs(x1, x2)
    a1, a2 = _defs.tensordot_axes("tensordot", a.ndim, b.ndim, axes)
    return np.asarray(np.tensordot(a, b, (a1, a2)))


def dot(x1, x2):
    a, b = _promote(x1, x2)
    if a.ndim and b.ndim:
        a, b = _contract_inputs(a, b)
    return np.asarray(np.dot(a, b))


def inner(x1, x2):
    a, b = _promote(x1, x2)
    if a.ndim and b.ndim:
        a, b = _contract_inputs(a, b)
    return np.asarray(np.inner(a, b))


def outer(x1, x2):
    a, b = _promote(x1, x2)
    return np.outer(a, b)


def vdot(x1, x2):
    a, b = _contract_inputs(x1, x2)
    return np.asarray(np.vdot(a, b))


def kron(x1, x2):
    a, b = _promote(x1, x2)
    return np.kron(a, b)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = _promote(x1, x2)
    ia, ib, _, _ = _defs.cross_shapes("cross", a.shape, b.shape, axisa, axisb, axisc, axis)
    if a.shape[ia] == 2:  # the z component (np.cross deprecates 2-vectors)
        a, b = np.moveaxis(a, ia, -1), np.moveaxis(b, ib, -1)
        return np.asarray(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
    return np.asarray(np.cross(a, b, axisa, axisb, axisc, axis))


# --- dynamic slices and scatters -------------------------------------------------------------
def _starts(start_indices, xshape, block):
    starts = [int(s) for s in np.asarray(start_indices).reshape(-1)]
    return [builtins.min(builtins.max(s, 0), d - b) for s, d, b in zip(starts, xshape, block)]


def slice_tensor(inputs, start_indices, shape):
    x = _a(inputs)
    block = _defs.int_tuple("slice", shape)
    starts = _starts(start_indices, x.shape, block)
    return np.array(x[tuple(builtins.slice(s, s + b) for s, b in zip(starts, block))])


def slice_update(inputs, start_indices, updates):
    x = np.array(inputs)
    u = _a(updates)
    starts = _starts(start_indices, x.shape, u.shape)
    x[tuple(builtins.slice(s, s + b) for s, b in zip(starts, u.shape))] = u
    return x


def scatter(indices, values, shape):
    values = _a(values)
    out = np.zeros(_defs.int_tuple("scatter", shape), values.dtype)
    idx = _a(indices)
    np.add.at(out, tuple(idx[:, i] for i in range(idx.shape[1])), values)
    return out


_UFUNC = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}


def scatter_update(inputs, indices, updates, reduction=None):
    x = np.array(inputs)
    idx = _a(indices)
    key = tuple(idx[:, i] for i in range(idx.shape[1]))
    u = _a(updates).astype(x.dtype)
    if reduction is None:
        x[key] = u
    else:
        _UFUNC[reduction].at(x, key, u)
    return x


# --- misc ------------------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    choices = [_a(c) for c in choicelist]
    d = dtypes.result_type(*[_dtype_of(c) for c in choices], _dtype_of(default))
    return np.select([_a(c).astype(bool) for c in condlist], [c.astype(d) for c in choices],
                     np.asarray(default, d))


def unravel_index(indices, shape):
    idx = _a(indices)
    d = _defs.unravel_dtype(dtypes.standardize_dtype(idx.dtype))
    return tuple(np.asarray(c, d) for c in np.unravel_index(idx, _defs.int_tuple("unravel_index",
                                                                                 shape)))


def vander(x, N=None, increasing=False):
    x = _a(x)
    return np.vander(x, N, increasing).astype(x.dtype)


def _window(fn, m, *args):
    return fn(m, *args).astype(config.floatx())


def bartlett(x):
    return _window(np.bartlett, x)


def blackman(x):
    return _window(np.blackman, x)


def hamming(x):
    return _window(np.hamming, x)


def hanning(x):
    return _window(np.hanning, x)


def kaiser(x, beta):
    return _window(np.kaiser, x, beta)


def view(x, dtype=None):
    x = _a(x)
    if dtype is None:
        return x
    return np.ascontiguousarray(x).view(dtypes.standardize_dtype(dtype))


def view_as_real(x):
    x = _a(x)
    return np.stack([x.real, x.imag], axis=-1)


def view_as_complex(x):
    x = _a(x)
    d = _defs._COMPLEX_OF[dtypes.standardize_dtype(x.dtype)]
    return (x[..., 0] + 1j * x[..., 1]).astype(d)


def extract_sequences(x, sequence_length, sequence_stride):
    x = _a(x)
    n = _defs.num_sequences("extract_sequences", x.shape[-1], sequence_length, sequence_stride)
    idx = np.arange(n)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return x[..., idx]



def fold_leading(x, n):
    x = _a(x)
    return x.reshape((int(np.prod(x.shape[:n])),) + x.shape[n:])


def unfold_leading(x, like, n):
    x = _a(x)
    return x.reshape(np.shape(like)[:n] + x.shape[1:])

__all__ = list(_defs.IMPL_NAMES)
