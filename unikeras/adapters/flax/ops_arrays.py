"""JAX implementations of the arrays op family (jit-safe: shapes and axes are static, values
never drive Python control flow)."""
import builtins

import jax.numpy as jnp
import numpy as np
from jax import lax

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops import arrays as _defs
from unikeras.adapters.flax.ops import (
    _as, _dtype_name, _j, _jdtype, _promote_with_dtype, _static_jit, convert_to_tensor)


def _name(x):
    return _dtype_name(x.dtype)


def _common(xs):
    """Every item as a jax array of the promoted dtype (Python scalars weak)."""
    xs = list(xs)
    d = dtypes.result_type(*[x if isinstance(x, (bool, int, float)) else _name(_j(x))
                             for x in xs])
    jd = _jdtype(d)
    return [_as(_j(x), jd) for x in xs]


def _binary(x1, x2, contract=False):
    a, b, jd = _promote_with_dtype(x1, x2)
    a, b = _as(a, jd), _as(b, jd)
    if contract:
        d = _jdtype(_defs.einsum_result_dtype(_dtype_name(jd)))
        a, b = _as(a, d), _as(b, d)
    return a, b


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# --- joining and splitting -------------------------------------------------------------------
def stack(x, axis=0):
    return jnp.stack(_common(x), axis=axis)


def unstack(x, num=None, axis=0):
    x = _j(x)
    a = axis % x.ndim
    if num is not None and num != x.shape[a]:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of shape {x.shape}.")
    return [lax.index_in_dim(x, i, a, keepdims=False) for i in range(x.shape[a])]


def _split(name, x, indices_or_sections, axis, even):
    x = _j(x)
    a = axis % x.ndim
    sizes = _defs.split_sizes(name, x.shape[a], indices_or_sections, even)
    points = np.cumsum(sizes)[:-1].tolist()
    return list(jnp.split(x, points, axis=a))


def split(x, indices_or_sections, axis=0):
    return _split("split", x, indices_or_sections, axis, True)


def array_split(x, indices_or_sections, axis=0):
    return _split("array_split", x, indices_or_sections, axis, False)


def hsplit(x, indices_or_sections):
    return _split("hsplit", x, indices_or_sections, 1 if _j(x).ndim > 1 else 0, True)


def vsplit(x, indices_or_sections):
    return _split("vsplit", x, indices_or_sections, 0, True)


def dsplit(x, indices_or_sections):
    return _split("dsplit", x, indices_or_sections, 2, True)


def hstack(xs):
    return jnp.hstack(_common(xs))


def vstack(xs):
    return jnp.vstack(_common(xs))


def dstack(xs):
    return jnp.dstack(_common(xs))


def append(x1, x2, axis=None):
    a, b = _binary(x1, x2)
    return jnp.append(a, b, axis=axis)


# --- repetition, padding, reordering ---------------------------------------------------------
def tile(x, repeats):
    return jnp.tile(_j(x), _defs.int_tuple("tile", repeats, "repeats"))


def repeat(x, repeats, axis=None):
    reps = _defs.int_tuple("repeat", repeats, "repeats")
    x = _j(x)
    if len(reps) == 1:
        return jnp.repeat(x, reps[0], axis=axis)
    n = builtins.sum(reps)
    return jnp.repeat(x, np.asarray(reps), axis=axis, total_repeat_length=n)


def pad(x, pad_width, mode="constant", constant_values=None):
    x = _j(x)
    _defs.pad.rule(x, pad_width, mode, constant_values)
    pairs = _defs.pad_pairs("pad", pad_width, x.ndim)
    if mode == "constant":
        value = 0 if constant_values is None else constant_values
        return jnp.pad(x, pairs, mode="constant", constant_values=jnp.asarray(value, x.dtype))
    return jnp.pad(x, pairs, mode=mode)


def flip(x, axis=None):
    return jnp.flip(_j(x), axis=_axis(axis))


def fliplr(x):
    return jnp.fliplr(_j(x))


def flipud(x):
    return jnp.flipud(_j(x))


def roll(x, shift, axis=None):
    return jnp.roll(_j(x), shift if not isinstance(shift, list) else tuple(shift),
                    axis=_axis(axis))


def rot90(array, k=1, axes=(0, 1)):
    return jnp.rot90(_j(array), k=k, axes=tuple(axes))


# --- gathering -------------------------------------------------------------------------------
def _index_array(indices):
    i = _j(indices)
    if not jnp.issubdtype(i.dtype, jnp.integer):
        raise ValueError(f"indices must be integers, got dtype {i.dtype}.")
    return i


def _wrap(i, n):
    return jnp.where(i < 0, i + n, i)


def take(x, indices, axis=None):
    x = _j(x)
    i = _index_array(indices)
    if axis is None:
        x, axis = x.reshape(-1), 0
    n = x.shape[axis]
    return jnp.take(x, _wrap(i, n), axis=axis, mode="clip")


def take_along_axis(x, indices, axis=None):
    x = _j(x)
    i = _index_array(indices)
    if axis is None:
        return jnp.take(x.reshape(-1), _wrap(i, x.size), mode="clip")
    xs, ishape, a = _defs.take_along_axis_shapes("take_along_axis", x.shape, i.shape, axis)
    x = jnp.broadcast_to(x, xs)
    i = jnp.broadcast_to(_wrap(i, x.shape[a]), ishape)
    return jnp.take_along_axis(x, i, axis=a, mode="clip")


def broadcast_to(x, shape):
    return jnp.broadcast_to(_j(x), _defs.int_tuple("broadcast_to", shape))


def moveaxis(x, source, destination):
    return jnp.moveaxis(_j(x), _axis(source), _axis(destination))


def swapaxes(x, axis1, axis2):
    return jnp.swapaxes(_j(x), axis1, axis2)


def ravel(x):
    return jnp.ravel(_j(x))


def size(x):
    return jnp.asarray(_j(x).size, jnp.int32)


def ndim(x):
    return _j(x).ndim


def dtype(x):
    return _name(_j(x))


# --- diagonals and triangles -----------------------------------------------------------------
def diag(x, k=0):
    return jnp.diag(_j(x), k)


def diagflat(x, k=0):
    return jnp.diagflat(_j(x), k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return jnp.diagonal(_j(x), offset, axis1, axis2)


def trace(x, offset=0, axis1=0, axis2=1):
    x = _j(x)
    d = _jdtype(_defs.trace_dtype(_name(x)))
    return jnp.trace(x, offset, axis1, axis2, dtype=d)


def tri(N, M=None, k=0, dtype=None):
    return jnp.tri(N, M, k, dtype=_jdtype(dtype))


def tril(x, k=0):
    return jnp.tril(_j(x), k)


def triu(x, k=0):
    return jnp.triu(_j(x), k)


def eye(N, M=None, k=0, dtype=None):
    return jnp.eye(N, M, k, dtype=_jdtype(dtype))


def identity(n, dtype=None):
    return jnp.identity(n, dtype=_jdtype(dtype))


# --- creation --------------------------------------------------------------------------------
def empty(shape, dtype=None):
    return jnp.zeros(_defs.int_tuple("empty", shape), _jdtype(dtype))


def empty_like(x, dtype=None):
    return jnp.zeros_like(_j(x), dtype=dtype and _jdtype(dtype))


def full_like(x, fill_value, dtype=None):
    x = _j(x)
    jd = _jdtype(dtype) if dtype else x.dtype
    if isinstance(fill_value, (bool, int, float)):
        return jnp.full(x.shape, fill_value, jd)
    return jnp.broadcast_to(_as(_j(fill_value), jd), x.shape)


def _bound(v):
    return v if isinstance(v, (bool, int, float)) else _j(v)


def _space(start, stop, dtype):
    d = _defs.linspace_dtype(_bound(start), _bound(stop), dtype)
    jd = _jdtype(d)
    wide = _jdtype("float64")
    return d, jd, wide


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    d, jd, wide = _space(start, stop, dtype)
    out = jnp.linspace(_as(_bound(start), wide), _as(_bound(stop), wide), num, endpoint=endpoint,
                       retstep=retstep, axis=axis, dtype=wide)
    cast = (lambda v: _as(jnp.floor(v), jd)) if dtypes.is_int(d) else (lambda v: _as(v, jd))
    if retstep:
        return cast(out[0]), _as(out[1], jd)
    return cast(out)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    d, jd, wide = _space(start, stop, dtype)
    out = jnp.logspace(_as(_bound(start), wide), _as(_bound(stop), wide), num,
                       endpoint=endpoint, base=base, axis=axis, dtype=wide)
    return _as(out, jd)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    d, jd, wide = _space(start, stop, dtype)
    out = jnp.geomspace(_as(_bound(start), wide), _as(_bound(stop), wide), num,
                        endpoint=endpoint, axis=axis, dtype=wide)
    return _as(out, jd)


def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}.")
    return list(jnp.meshgrid(*[_j(t) for t in x], indexing=indexing))


def array(x, dtype=None):
    return convert_to_tensor(x, dtype)


# --- products --------------------------------------------------------------------------------
def einsum(subscripts, *operands, **kwargs):
    ops = _common(operands)
    jd = _jdtype(_defs.einsum_result_dtype(*[_name(o) for o in ops]))
    return jnp.einsum(subscripts, *[_as(o, jd) for o in ops], preferred_element_type=jd)


def tensordot(x1, x2, axes=2):
    a, b = _binary(x1, x2, contract=True)
    a1, a2 = _defs.tensordot_axes("tensordot", a.ndim, b.ndim, axes)
    return jnp.tensordot(a, b, (a1, a2))


def dot(x1, x2):
    a, b = _binary(x1, x2)
    if a.ndim and b.ndim:
        a, b = _binary(a, b, contract=True)
    return jnp.dot(a, b)


def inner(x1, x2):
    a, b = _binary(x1, x2)
    if a.ndim and b.ndim:
        a, b = _binary(a, b, contract=True)
    return jnp.inner(a, b)


def outer(x1, x2):
    a, b = _binary(x1, x2)
    return jnp.outer(a, b)


def vdot(x1, x2):
    a, b = _binary(x1, x2, contract=True)
    return jnp.vdot(a, b)


def kron(x1, x2):
    a, b = _binary(x1, x2)
    return jnp.kron(a, b)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = _binary(x1, x2)
    _defs.cross_shapes("cross", a.shape, b.shape, axisa, axisb, axisc, axis)
    return jnp.cross(a, b, axisa, axisb, axisc, axis)


# --- dynamic slices and scatters -------------------------------------------------------------
def _start_list(start_indices, n):
    if isinstance(start_indices, (list, tuple)):
        return [s if isinstance(s, (int, np.integer)) else _as(_j(s), jnp.int32).reshape(())
                for s in start_indices]
    s = _as(_j(start_indices), jnp.int32).reshape(-1)
    return [s[i] for i in range(n)]


def slice_tensor(inputs, start_indices, shape):
    x = _j(inputs)
    block = _defs.int_tuple("slice", shape)
    return lax.dynamic_slice(x, _start_list(start_indices, x.ndim), block,
                             allow_negative_indices=False)


def slice_update(inputs, start_indices, updates):
    x = _j(inputs)
    u = _as(_j(updates), x.dtype)
    return lax.dynamic_update_slice(x, u, _start_list(start_indices, x.ndim),
                                    allow_negative_indices=False)


def _key(indices):
    i = _index_array(indices)
    return tuple(i[:, k] for k in range(i.shape[1]))


def scatter(indices, values, shape):
    v = _j(values)
    if v.dtype == jnp.bool_:   # duplicates accumulate: bools combine by OR (add has no bool)
        return scatter(indices, v.astype(jnp.int32), shape) > 0
    out = jnp.zeros(_defs.int_tuple("scatter", shape), v.dtype)
    return out.at[_key(indices)].add(v)


def scatter_update(inputs, indices, updates, reduction=None):
    x = _j(inputs)
    ref = x.at[_key(indices)]
    u = _as(_j(updates), x.dtype)
    if reduction is None:
        return ref.set(u)
    return {"add": ref.add, "max": ref.max, "min": ref.min, "mul": ref.multiply}[reduction](u)


# --- misc ------------------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    choices = _common(list(choicelist) + [default])
    conds = [_as(_j(c), jnp.bool_) for c in condlist]
    return jnp.select(conds, choices[:-1], choices[-1])


def unravel_index(indices, shape):
    i = _j(indices)
    jd = _jdtype(_defs.unravel_dtype(_name(i)))
    return tuple(_as(c, jd) for c in jnp.unravel_index(i, _defs.int_tuple("unravel_index", shape)))


def vander(x, N=None, increasing=False):
    return jnp.vander(_j(x), N, increasing)


def _window(fn, m, *args):
    return _as(fn(m, *args), _jdtype(config.floatx()))


def bartlett(x):
    return _window(jnp.bartlett, x)


def blackman(x):
    return _window(jnp.blackman, x)


def hamming(x):
    return _window(jnp.hamming, x)


def hanning(x):
    return _window(jnp.hanning, x)


def kaiser(x, beta):
    return _window(jnp.kaiser, x, beta)


def view(x, dtype=None):
    x = _j(x)
    if dtype is None:
        return x
    src, dst = _name(x), dtypes.standardize_dtype(dtype)
    shape = _defs.view_shape("view", tuple(x.shape), src, dst)
    jd = _jdtype(dst)
    s, t = _defs._itemsize(src), _defs._itemsize(dst)
    if s == t:
        return lax.bitcast_convert_type(x, jd)
    if s > t:
        return lax.bitcast_convert_type(x, jd).reshape(shape)
    return lax.bitcast_convert_type(x.reshape(shape + (t // s,)), jd)


def view_as_real(x):
    x = _j(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


def view_as_complex(x):
    x = _j(x)
    return lax.complex(x[..., 0], x[..., 1])


_frames = _static_jit(
    lambda x, idx_shape, length, stride: x[..., (np.arange(idx_shape)[:, None] * stride
                                                 + np.arange(length)[None, :])],
    "idx_shape", "length", "stride")


def extract_sequences(x, sequence_length, sequence_stride):
    x = _j(x)
    n = _defs.num_sequences("extract_sequences", x.shape[-1], sequence_length, sequence_stride)
    return _frames(x, idx_shape=n, length=int(sequence_length), stride=int(sequence_stride))



def fold_leading(x, n):
    x = _j(x)
    return x.reshape((int(np.prod(x.shape[:n])),) + x.shape[n:])


def unfold_leading(x, like, n):
    x = _j(x)
    return x.reshape(tuple(np.shape(like)[:n]) + x.shape[1:])

__all__ = list(_defs.IMPL_NAMES)
