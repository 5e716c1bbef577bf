"""TensorFlow implementations of the arrays op family (tf.function and GradientTape safe;
tf.einsum, tf.tensordot, tf.gather, tf.pad, tensor_scatter_nd_* as the fused primitives)."""
import builtins
import math

import numpy as np
import tensorflow as tf

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops import arrays as _defs
from unikeras.adapters.tf_module.ops import (
    _TF, _as, _dtype_of, _t, convert_to_tensor, matmul as _matmul)

_F64 = tf.float64


def _name(x):
    return x.dtype.name


def _common(xs):
    xs = [x if isinstance(x, (bool, int, float)) else _t(x) for x in xs]
    d = dtypes.result_type(*[_dtype_of(x) for x in xs])
    return [_as(x, d) for x in xs]


def _binary(x1, x2, contract=False):
    a, b = _common([x1, x2])
    if contract:
        d = _defs.einsum_result_dtype(_name(a))
        a, b = _as(a, d), _as(b, d)
    return a, b


def _rank(x):
    r = x.shape.rank
    if r is None:
        raise ValueError("The tensorflow backend needs tensors of known rank for this op.")
    return r


def _shape(x):
    return tuple(x.shape.as_list())


def _dyn_shape(x):
    """Static dims as ints, unknown ones as scalar tensors."""
    dyn = tf.shape(x)
    return [d if d is not None else dyn[i] for i, d in enumerate(x.shape.as_list())]


def _index(indices):
    i = _t(indices)
    if not (i.dtype.is_integer):
        raise ValueError(f"indices must be integers, got dtype {i.dtype.name}.")
    return i if i.dtype in (tf.int32, tf.int64) else tf.cast(i, tf.int64)


def _wrap(i, n):
    return tf.where(i < 0, i + tf.cast(n, i.dtype), i)


# --- joining and splitting -------------------------------------------------------------------
def stack(x, axis=0):
    return tf.stack(_common(x), axis=axis)


def unstack(x, num=None, axis=0):
    x = _t(x)
    n = x.shape[axis]
    if num is not None and n is not None and num != n:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of shape {_shape(x)}.")
    return tf.unstack(x, num=num, axis=axis)


def _split(name, x, indices_or_sections, axis, even):
    x = _t(x)
    a = axis % _rank(x)
    sizes = _defs.split_sizes(name, x.shape[a], indices_or_sections, even)
    if builtins.any(s is None for s in sizes):
        if not isinstance(indices_or_sections, (list, tuple)) and even:
            return tf.split(x, indices_or_sections, axis=a)
        raise ValueError(f"{name}: axis {axis} of shape {_shape(x)} must be known.")
    return tf.split(x, sizes, axis=a)


def split(x, indices_or_sections, axis=0):
    return _split("split", x, indices_or_sections, axis, True)


def array_split(x, indices_or_sections, axis=0):
    return _split("array_split", x, indices_or_sections, axis, False)


def hsplit(x, indices_or_sections):
    return _split("hsplit", x, indices_or_sections, 1 if _rank(_t(x)) > 1 else 0, True)


def vsplit(x, indices_or_sections):
    return _split("vsplit", x, indices_or_sections, 0, True)


def dsplit(x, indices_or_sections):
    return _split("dsplit", x, indices_or_sections, 2, True)


def _atleast(x, n):
    r = _rank(x)
    if r >= n:
        return x
    if n == 2:
        return tf.reshape(x, [1, -1])
    if r == 0:
        return tf.reshape(x, [1, 1, 1])
    if r == 1:
        return x[None, :, None]
    return x[..., None]


def hstack(xs):
    xs = [tf.reshape(x, [1]) if _rank(x) == 0 else x for x in _common(xs)]
    return tf.concat(xs, axis=0 if _rank(xs[0]) == 1 else 1)


def vstack(xs):
    return tf.concat([_atleast(x, 2) for x in _common(xs)], axis=0)


def dstack(xs):
    return tf.concat([_atleast(x, 3) for x in _common(xs)], axis=2)


def append(x1, x2, axis=None):
    a, b = _common([x1, x2])
    if axis is None:
        return tf.concat([tf.reshape(a, [-1]), tf.reshape(b, [-1])], 0)
    return tf.concat([a, b], axis=axis)


# --- repetition, padding, reordering ---------------------------------------------------------
def tile(x, repeats):
    x = _t(x)
    reps = list(_defs.int_tuple("tile", repeats, "repeats"))
    r = _rank(x)
    if len(reps) > r:
        x = tf.reshape(x, [1] * (len(reps) - r) + _dyn_shape(x))
    reps = [1] * (_rank(x) - len(reps)) + reps
    return tf.tile(x, reps)


def repeat(x, repeats, axis=None):
    x = _t(x)
    reps = _defs.int_tuple("repeat", repeats, "repeats")
    if axis is None:
        x, axis = tf.reshape(x, [-1]), 0
    return tf.repeat(x, reps[0] if len(reps) == 1 else list(reps), axis=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    x = _t(x)
    _defs.pad.rule(x, pad_width, mode, constant_values)
    pairs = _defs.pad_pairs("pad", pad_width, _rank(x))
    if mode == "constant":
        value = 0 if constant_values is None else constant_values
        return tf.pad(x, pairs, constant_values=_as(value, _name(x)))
    if mode in ("reflect", "symmetric"):
        return tf.pad(x, pairs, mode=mode.upper())
    for a, (b, e) in enumerate(pairs):
        if not (b or e):
            continue
        n = x.shape[a]
        if n is not None:
            x = tf.gather(x, np.pad(np.arange(n), (b, e), mode=mode), axis=a)
            continue
        # Unknown length: slices of the border (wrap assumes padding <= the length).
        index = [builtins.slice(None)] * _rank(x)

        def part(lo, hi):
            index[a] = builtins.slice(lo, hi)
            return x[tuple(index)]
        if mode == "edge":
            first, last = part(0, 1), part(-1, None)
            pieces = [tf.repeat(first, b, axis=a), x, tf.repeat(last, e, axis=a)]
        else:
            pieces = [part(-b, None) if b else part(0, 0), x, part(0, e)]
        x = tf.concat(pieces, axis=a)
    return x


def flip(x, axis=None):
    x = _t(x)
    axes = range(_rank(x)) if axis is None else _defs.axis_list("flip", axis, _rank(x))
    return tf.reverse(x, list(axes))


def fliplr(x):
    return tf.reverse(_t(x), [1])


def flipud(x):
    return tf.reverse(_t(x), [0])


def roll(x, shift, axis=None):
    x = _t(x)
    if axis is None:
        return tf.reshape(tf.roll(tf.reshape(x, [-1]), shift, 0), tf.shape(x))
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    shifts = list(shift) if isinstance(shift, (list, tuple)) else [shift]
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    return tf.roll(x, shifts, axes)


def _swap_perm(r, a0, a1):
    perm = list(range(r))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return perm


def rot90(array, k=1, axes=(0, 1)):
    x = _t(array)
    r = _rank(x)
    a0, a1 = _defs.axis_list("rot90", axes, r)
    k = k % 4
    if k == 0:
        return x
    if k == 2:
        return tf.reverse(x, [a0, a1])
    perm = _swap_perm(r, a0, a1)
    if k == 1:
        return tf.transpose(tf.reverse(x, [a1]), perm)
    return tf.reverse(tf.transpose(x, perm), [a1])


# --- gathering -------------------------------------------------------------------------------
def take(x, indices, axis=None):
    x = _t(x)
    i = _index(indices)
    if axis is None:
        x, axis = tf.reshape(x, [-1]), 0
    a = axis % _rank(x)
    return tf.gather(x, _wrap(i, tf.shape(x, out_type=i.dtype)[a]), axis=a)


def take_along_axis(x, indices, axis=None):
    x = _t(x)
    i = _index(indices)
    if axis is None:
        return take(x, i)
    xs, ishape, a = _defs.take_along_axis_shapes("take_along_axis", _shape(x), _shape(i), axis)
    r = len(xs)
    if xs != _shape(x) or ishape != _shape(i) or None in xs or None in ishape:
        # Broadcast the non-axis dimensions of both (dynamic dims allowed).
        sx, si = tf.shape(x, out_type=tf.int64), tf.shape(i, out_type=tf.int64)
        m = tf.maximum(sx, si)
        x = tf.broadcast_to(x, tf.concat([m[:a], sx[a:a + 1], m[a + 1:]], 0))
        i = tf.broadcast_to(i, tf.concat([m[:a], si[a:a + 1], m[a + 1:]], 0))
    i = _wrap(i, tf.shape(x, out_type=i.dtype)[a])
    perm = [d for d in range(r) if d != a] + [a]
    inv = list(np.argsort(perm))
    out = tf.gather(tf.transpose(x, perm), tf.transpose(i, perm), batch_dims=r - 1, axis=r - 1)
    return tf.transpose(out, inv)


def broadcast_to(x, shape):
    return tf.broadcast_to(_t(x), _defs.int_tuple("broadcast_to", shape))


def moveaxis(x, source, destination):
    x = _t(x)
    return tf.transpose(x, _defs.moveaxis_perm("moveaxis", _rank(x), source, destination))


def swapaxes(x, axis1, axis2):
    x = _t(x)
    r = _rank(x)
    return tf.transpose(x, _swap_perm(r, axis1 % r, axis2 % r))


def ravel(x):
    return tf.reshape(_t(x), [-1])


def size(x):
    return tf.size(_t(x), out_type=tf.int32)


def ndim(x):
    return _rank(_t(x))


def dtype(x):
    return _name(_t(x))


# --- diagonals and triangles -----------------------------------------------------------------
def diag(x, k=0):
    x = _t(x)
    if _rank(x) == 1:
        return tf.linalg.diag(x, k=k)
    if _rank(x) == 2:
        return tf.linalg.diag_part(x, k=k)
    raise ValueError(f"diag: needs a tensor of rank 1 or 2, got shape {_shape(x)}.")


def diagflat(x, k=0):
    return tf.linalg.diag(tf.reshape(_t(x), [-1]), k=k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    x = _t(x)
    r = _rank(x)
    _defs.diagonal.rule(x, offset, axis1, axis2)
    a, b = axis1 % r, axis2 % r
    perm = [d for d in range(r) if d not in (a, b)] + [a, b]
    return tf.linalg.diag_part(tf.transpose(x, perm), k=offset)


def trace(x, offset=0, axis1=0, axis2=1):
    x = _t(x)
    d = _defs.trace_dtype(_name(x))
    return tf.reduce_sum(_as(diagonal(x, offset, axis1, axis2), d), axis=-1)


def _band_mask(rows, cols, k):
    """cols - rows <= k for row/col counts (ints or scalar tensors)."""
    r = tf.range(rows)[:, None]
    c = tf.range(cols)[None, :]
    return c - r <= k


def tri(N, M=None, k=0, dtype=None):
    return tf.cast(_band_mask(N, N if M is None else M, k), _TF[dtypes.standardize_dtype(dtype)])


def _triangle(x, k, lower):
    x = _t(x)
    dims = _dyn_shape(x)
    mask = _band_mask(dims[-2], dims[-1], k if lower else k - 1)
    if not lower:
        mask = tf.logical_not(mask)
    return tf.where(mask, x, tf.zeros((), x.dtype))


def tril(x, k=0):
    return _triangle(x, k, True)


def triu(x, k=0):
    return _triangle(x, k, False)


def eye(N, M=None, k=0, dtype=None):
    d = _TF[dtypes.standardize_dtype(dtype)]
    M = N if M is None else M
    if k == 0:
        return tf.eye(N, M, dtype=d)
    r = tf.range(N)[:, None]
    c = tf.range(M)[None, :]
    return tf.cast(tf.equal(c - r, k), d)


def identity(n, dtype=None):
    return tf.eye(n, dtype=_TF[dtypes.standardize_dtype(dtype)])


# --- creation --------------------------------------------------------------------------------
def empty(shape, dtype=None):
    return tf.zeros(_defs.int_tuple("empty", shape), _TF[dtypes.standardize_dtype(dtype)])


def empty_like(x, dtype=None):
    x = _t(x)
    return tf.zeros_like(x, dtype=_TF[dtypes.standardize_dtype(dtype)] if dtype else None)


def full_like(x, fill_value, dtype=None):
    x = _t(x)
    d = dtypes.standardize_dtype(dtype) if dtype else _name(x)
    return tf.broadcast_to(_as(fill_value, d), tf.shape(x))


def _wide(v):
    return tf.constant(float(v), _F64) if isinstance(v, (bool, int, float)) else _as(v, "float64")


def _samples(start, stop, num, endpoint, axis):
    """NumPy's linspace in float64: (samples with the sample axis at `axis`, step)."""
    s, e = _wide(start), _wide(stop)
    shape = tf.broadcast_static_shape(s.shape, e.shape)
    s, e = tf.broadcast_to(s, shape), tf.broadcast_to(e, shape)
    div = num - 1 if endpoint else num
    delta = e - s
    t = tf.reshape(tf.range(num, dtype=_F64), [num] + [1] * shape.rank)
    if div > 0:
        step = delta / div
        y = t * step + s
        if endpoint and num > 1:
            y = tf.concat([y[:-1], e[None]], 0)
    else:
        step = tf.fill(tf.shape(delta), tf.constant(math.nan, _F64))
        y = t * delta + s
    r = shape.rank + 1
    return tf.transpose(y, _defs.moveaxis_perm("linspace", r, 0, axis)), step


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    y, step = _samples(start, stop, num, endpoint, axis)
    y = tf.cast(tf.floor(y) if dtypes.is_int(d) else y, _TF[d])
    return (y, tf.cast(step, _TF[d])) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    y, _ = _samples(start, stop, num, endpoint, axis)
    return tf.cast(tf.pow(tf.constant(float(base), _F64), y), _TF[d])


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    s, e = _wide(start), _wide(stop)
    shape = tf.broadcast_static_shape(s.shape, e.shape)
    s, e = tf.broadcast_to(s, shape), tf.broadcast_to(e, shape)
    log10 = lambda v: tf.math.log(tf.abs(v)) / math.log(10.0)  # noqa: E731
    y, _ = _samples(log10(s), log10(e), num, endpoint, 0)
    y = tf.sign(s) * tf.pow(tf.constant(10.0, _F64), y)
    if num > 0:
        parts = [s[None], y[1:]]
        if endpoint and num > 1:
            parts = [s[None], y[1:-1], e[None]]
        y = tf.concat(parts, 0)
    perm = _defs.moveaxis_perm("geomspace", shape.rank + 1, 0, axis)
    return tf.cast(tf.transpose(y, perm), _TF[d])


def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}.")
    return list(tf.meshgrid(*[tf.reshape(_t(t), [-1]) for t in x], indexing=indexing))


def array(x, dtype=None):
    return convert_to_tensor(x, dtype)


# --- products --------------------------------------------------------------------------------
def einsum(subscripts, *operands, **kwargs):
    ops = _common(operands)
    d = _defs.einsum_result_dtype(*[_name(o) for o in ops])
    return tf.einsum(subscripts, *[_as(o, d) for o in ops])


def tensordot(x1, x2, axes=2):
    a, b = _binary(x1, x2, contract=True)
    a1, a2 = _defs.tensordot_axes("tensordot", _rank(a), _rank(b), axes)
    _defs.tensordot.rule(a, b, (a1, a2))
    return tf.tensordot(a, b, [a1, a2])


def dot(x1, x2):
    a, b = _binary(x1, x2)
    ra, rb = _rank(a), _rank(b)
    if not ra or not rb:
        return a * b
    _defs.dot.rule(a, b)
    if ra <= 2 and rb <= 2:
        return _matmul(a, b)
    a, b = _binary(a, b, contract=True)
    return tf.tensordot(a, b, [[ra - 1], [0 if rb == 1 else rb - 2]])


def inner(x1, x2):
    a, b = _binary(x1, x2)
    ra, rb = _rank(a), _rank(b)
    if not ra or not rb:
        return a * b
    a, b = _binary(a, b, contract=True)
    return tf.tensordot(a, b, [[ra - 1], [rb - 1]])


def outer(x1, x2):
    a, b = _binary(x1, x2)
    a, b = tf.reshape(a, [-1, 1]), tf.reshape(b, [1, -1])
    return tf.logical_and(a, b) if a.dtype is tf.bool else a * b


def vdot(x1, x2):
    a, b = _binary(x1, x2, contract=True)
    a, b = tf.reshape(a, [-1]), tf.reshape(b, [-1])
    if a.dtype.is_complex:
        a = tf.math.conj(a)
    return tf.reduce_sum(a * b)


def kron(x1, x2):
    a, b = _binary(x1, x2)
    ra, rb = _rank(a), _rank(b)
    r = builtins.max(ra, rb)
    sa = [1] * (r - ra) + _dyn_shape(a)
    sb = [1] * (r - rb) + _dyn_shape(b)
    a = tf.reshape(a, [v for d in sa for v in (d, 1)])
    b = tf.reshape(b, [v for d in sb for v in (1, d)])
    out = tf.logical_and(a, b) if a.dtype is tf.bool else a * b
    return tf.reshape(out, [da * db for da, db in zip(sa, sb)])


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = _binary(x1, x2)
    ia, ib, ic, _ = _defs.cross_shapes("cross", _shape(a), _shape(b), axisa, axisb, axisc, axis)
    a = tf.transpose(a, _defs.moveaxis_perm("cross", _rank(a), ia, -1))
    b = tf.transpose(b, _defs.moveaxis_perm("cross", _rank(b), ib, -1))
    if a.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    shape = tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))
    out = tf.linalg.cross(tf.broadcast_to(a, shape), tf.broadcast_to(b, shape))
    r = _rank(out)
    return tf.transpose(out, _defs.moveaxis_perm("cross", r, r - 1, ic))


# --- dynamic slices and scatters -------------------------------------------------------------
def _starts(start_indices, x, block):
    """Clamped starts as an int32 vector tensor."""
    if isinstance(start_indices, (list, tuple)) and builtins.all(
            isinstance(s, (int, np.integer)) for s in start_indices):
        s = tf.constant([builtins.int(v) for v in start_indices], tf.int32)
    elif isinstance(start_indices, (list, tuple)):
        s = tf.stack([tf.reshape(_as(v, "int32"), []) for v in start_indices])
    else:
        s = tf.reshape(_as(start_indices, "int32"), [-1])
    limit = tf.shape(x, out_type=tf.int32) - tf.constant(list(block), tf.int32)
    return tf.clip_by_value(s, 0, tf.maximum(limit, 0))


def slice_tensor(inputs, start_indices, shape):
    x = _t(inputs)
    block = _defs.int_tuple("slice", shape)
    return tf.slice(x, _starts(start_indices, x, block), block)


def slice_update(inputs, start_indices, updates):
    x = _t(inputs)
    u = _as(updates, _name(x))
    block = _shape(u)
    starts = _starts(start_indices, x, block)
    grids = tf.meshgrid(*[tf.range(b) + starts[i] for i, b in enumerate(block)], indexing="ij")
    return tf.tensor_scatter_nd_update(x, tf.stack(grids, axis=-1), u)


def scatter(indices, values, shape):
    return tf.scatter_nd(_index(indices), _t(values), _defs.int_tuple("scatter", shape))


def scatter_update(inputs, indices, updates, reduction=None):
    x = _t(inputs)
    i = _index(indices)
    u = _as(updates, _name(x))
    if reduction is None:
        return tf.tensor_scatter_nd_update(x, i, u)
    if reduction == "add":
        return tf.tensor_scatter_nd_add(x, i, u)
    if reduction == "max":
        return tf.tensor_scatter_nd_max(x, i, u)
    if reduction == "min":
        return tf.tensor_scatter_nd_min(x, i, u)
    # "mul": the product of the updates of each row (1 where none), times the input.
    k = i.shape[1]
    lead = list(_shape(x)[:k])
    if k is None or None in lead:
        raise ValueError("scatter_update: reduction='mul' needs static shapes on tensorflow.")
    strides = np.cumprod([1] + lead[::-1][:-1])[::-1].tolist()
    lin = tf.reduce_sum(i * tf.constant(strides, i.dtype), axis=1)
    n = builtins.int(np.prod(lead))
    flat_u = tf.reshape(u, tf.concat([tf.shape(u)[:1], [-1]], 0))
    prod = tf.math.unsorted_segment_prod(flat_u, lin, n)
    return x * tf.reshape(prod, tf.shape(x))


# --- misc ------------------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    choices = _common(list(choicelist) + [default])
    out = choices[-1]
    for c, v in reversed(list(zip(condlist, choices[:-1]))):
        out = tf.where(_as(c, "bool"), v, out)
    return out


def unravel_index(indices, shape):
    i = _t(indices)
    d = _defs.unravel_dtype(_name(i))
    i = _as(i, d)
    out = []
    for dim in reversed(_defs.int_tuple("unravel_index", shape)):
        out.append(tf.math.floormod(i, dim))
        i = tf.math.floordiv(i, dim)
    return tuple(reversed(out))


def vander(x, N=None, increasing=False):
    x = _t(x)
    n = x.shape[0] if N is None else N
    if n is None:
        raise ValueError("vander: needs N or a static length on tensorflow.")
    powers = tf.range(n)
    if not increasing:
        powers = powers[::-1]
    return tf.pow(x[:, None], tf.cast(powers, x.dtype)[None, :])


def _window(m, fn):
    m = builtins.int(m)
    if m <= 1:
        return tf.ones([builtins.max(m, 0)], _TF[config.floatx()])
    n = tf.range(m, dtype=_F64)
    return tf.cast(fn(n, m - 1), _TF[config.floatx()])


def bartlett(x):
    return _window(x, lambda n, d: 1.0 - tf.abs(2.0 * n / d - 1.0))


def blackman(x):
    return _window(x, lambda n, d: 0.42 - 0.5 * tf.cos(2 * math.pi * n / d)
                   + 0.08 * tf.cos(4 * math.pi * n / d))


def hamming(x):
    return _window(x, lambda n, d: 0.54 - 0.46 * tf.cos(2 * math.pi * n / d))


def hanning(x):
    return _window(x, lambda n, d: 0.5 - 0.5 * tf.cos(2 * math.pi * n / d))


def kaiser(x, beta):
    beta = float(beta)
    return _window(x, lambda n, d: tf.math.bessel_i0(
        beta * tf.sqrt(tf.maximum(1.0 - tf.square(2.0 * n / d - 1.0), 0.0)))
        / tf.math.bessel_i0(tf.constant(beta, _F64)))


def view(x, dtype=None):
    x = _t(x)
    if dtype is None:
        return x
    src, dst = _name(x), dtypes.standardize_dtype(dtype)
    _defs.view_shape("view", _shape(x), src, dst)   # raises on a shape the dtypes cannot view
    s, t = _defs._itemsize(src), _defs._itemsize(dst)
    if s == t:
        return tf.bitcast(x, _TF[dst])
    if s > t:
        out = tf.bitcast(x, _TF[dst])
        return tf.reshape(out, tf.concat([tf.shape(x)[:-1], [-1]], 0))
    return tf.bitcast(tf.reshape(x, tf.concat([tf.shape(x)[:-1], [-1, t // s]], 0)), _TF[dst])


def view_as_real(x):
    x = _t(x)
    return tf.stack([tf.math.real(x), tf.math.imag(x)], axis=-1)


def view_as_complex(x):
    x = _t(x)
    return tf.complex(x[..., 0], x[..., 1])


def extract_sequences(x, sequence_length, sequence_stride):
    x = _t(x)
    _defs.num_sequences("extract_sequences", x.shape[-1], sequence_length, sequence_stride)
    return tf.signal.frame(x, sequence_length, sequence_stride, axis=-1)



def fold_leading(x, n):
    """Sizes from `tf.shape(x)`, so a tf.function keeps them dynamic."""
    x = _t(x)
    dims = tf.shape(x)
    return tf.reshape(x, tf.concat([tf.reduce_prod(dims[:n], keepdims=True), dims[n:]], 0))


def unfold_leading(x, like, n):
    """Leading sizes from `tf.shape(like)`, so a tf.function keeps them dynamic."""
    x = _t(x)
    return tf.reshape(x, tf.concat([tf.shape(_t(like))[:n], tf.shape(x)[1:]], 0))

__all__ = list(_defs.IMPL_NAMES)
