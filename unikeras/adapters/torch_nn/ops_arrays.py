"""PyTorch implementations of the arrays op family (torch's fused kernels: torch.einsum,
torch.tensordot, torch.gather, F.pad, index_put, ...; differentiable throughout)."""
import builtins
import math

import numpy as np
import torch
import torch.nn.functional as F

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops import arrays as _defs
from unikeras.adapters.torch_nn.ops import (
    _NAME, _TORCH_DTYPE, _device_of, _key, _result_dtype, _tensor, _to_tensor, _torch_dtype,
    convert_to_tensor)

Tensor = torch.Tensor
_F64 = torch.float64


def _sizes(name, value, what="shape"):
    """`int_tuple`, except while torch traces (torch.compile, torch.export): sizes may then be
    symbolic, and `int()` of one would pin the program to the traced size (eager calls
    validate)."""
    if isinstance(value, (list, tuple)) and (torch.compiler.is_compiling()
                                             or any(isinstance(v, torch.SymInt) for v in value)):
        return tuple(value)
    return _defs.int_tuple(name, value, what)


def _name(x):
    return _NAME[x.dtype]


def _common(xs):
    xs = list(xs)
    tdt = _result_dtype(*[_key(x) for x in xs])
    device = _device_of(*xs)
    return [_tensor(x, tdt, device) for x in xs]


def _binary(x1, x2, contract=False):
    a, b = _common([x1, x2])
    if contract:
        d = _TORCH_DTYPE[_defs.einsum_result_dtype(_name(a))]
        if d is not a.dtype:
            a, b = a.to(d), b.to(d)
    return a, b


def _dims(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)


def _index(indices, device=None):
    i = indices if isinstance(indices, Tensor) else _to_tensor(indices)
    if i.dtype.is_floating_point or i.dtype is torch.bool or i.dtype.is_complex:
        raise ValueError(f"indices must be integers, got dtype {i.dtype}.")
    if device is not None and i.device != device:
        i = i.to(device)
    return i.long()


def _wrap(i, n):
    return torch.where(i < 0, i + n, i)


# --- joining and splitting -------------------------------------------------------------------
def stack(x, axis=0):
    return torch.stack(_common(x), dim=axis)


def unstack(x, num=None, axis=0):
    x = _to_tensor(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of shape "
                         f"{tuple(x.shape)}.")
    return list(torch.unbind(x, dim=axis))


def _split(name, x, indices_or_sections, axis, even):
    x = _to_tensor(x)
    a = axis % x.ndim
    sizes = _defs.split_sizes(name, x.shape[a], indices_or_sections, even)
    return list(torch.split(x, sizes, dim=a))


def split(x, indices_or_sections, axis=0):
    return _split("split", x, indices_or_sections, axis, True)


def array_split(x, indices_or_sections, axis=0):
    return _split("array_split", x, indices_or_sections, axis, False)


def hsplit(x, indices_or_sections):
    return _split("hsplit", x, indices_or_sections, 1 if _to_tensor(x).ndim > 1 else 0, True)


def vsplit(x, indices_or_sections):
    return _split("vsplit", x, indices_or_sections, 0, True)


def dsplit(x, indices_or_sections):
    return _split("dsplit", x, indices_or_sections, 2, True)


def hstack(xs):
    return torch.hstack(_common(xs))


def vstack(xs):
    return torch.vstack(_common(xs))


def dstack(xs):
    return torch.dstack(_common(xs))


def append(x1, x2, axis=None):
    a, b = _common([x1, x2])
    if axis is None:
        return torch.cat([a.reshape(-1), b.reshape(-1)])
    return torch.cat([a, b], dim=axis)


# --- repetition, padding, reordering ---------------------------------------------------------
def tile(x, repeats):
    return torch.tile(_to_tensor(x), _sizes("tile", repeats, "repeats"))


def repeat(x, repeats, axis=None):
    x = _to_tensor(x)
    reps = _defs.int_tuple("repeat", repeats, "repeats")
    if axis is None:
        x, axis = x.reshape(-1), 0
    if len(reps) == 1:
        return torch.repeat_interleave(x, reps[0], dim=axis)
    r = torch.tensor(reps, dtype=torch.long, device=x.device)
    return torch.repeat_interleave(x, r, dim=axis, output_size=builtins.sum(reps))


def pad(x, pad_width, mode="constant", constant_values=None):
    x = _to_tensor(x)
    _defs.pad.rule(x, pad_width, mode, constant_values)
    pairs = _defs.pad_pairs("pad", pad_width, x.ndim)
    if mode == "constant":
        flat = [v for b, a in reversed(pairs) for v in (b, a)]
        value = 0 if constant_values is None else constant_values
        if x.dtype is torch.bool:
            return F.pad(x.to(torch.uint8), flat, value=builtins.int(value)).to(torch.bool)
        return F.pad(x, flat, value=value)
    # edge / reflect / symmetric / wrap: one gather per padded axis, the source positions
    # being NumPy's padding of a range (static, since eager shapes are known).
    for a, (b, e) in enumerate(pairs):
        if b or e:
            idx = np.pad(np.arange(x.shape[a]), (b, e), mode=mode)
            x = torch.index_select(x, a, torch.as_tensor(idx, device=x.device))
    return x


def flip(x, axis=None):
    x = _to_tensor(x)
    return torch.flip(x, _dims(axis, x.ndim))


def fliplr(x):
    return torch.fliplr(_to_tensor(x))


def flipud(x):
    return torch.flipud(_to_tensor(x))


def roll(x, shift, axis=None):
    x = _to_tensor(x)
    shifts = shift if isinstance(shift, (int, np.integer)) else tuple(shift)
    if axis is None:
        return torch.roll(x, shifts)
    dims = _dims(axis, x.ndim)
    if isinstance(shifts, tuple) and len(shifts) == 1 and len(dims) > 1:
        shifts = shifts * len(dims)
    elif not isinstance(shifts, tuple) and len(dims) > 1:
        shifts = (shifts,) * len(dims)
    return torch.roll(x, shifts, dims)


def rot90(array, k=1, axes=(0, 1)):
    return torch.rot90(_to_tensor(array), k, tuple(axes))


# --- gathering -------------------------------------------------------------------------------
def take(x, indices, axis=None):
    x = _to_tensor(x)
    i = _index(indices, x.device)
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = axis % x.ndim
    flat = _wrap(i.reshape(-1), x.shape[a])
    out = torch.index_select(x, a, flat)
    return out.reshape(tuple(x.shape[:a]) + tuple(i.shape) + tuple(x.shape[a + 1:]))


def take_along_axis(x, indices, axis=None):
    x = _to_tensor(x)
    i = _index(indices, x.device)
    if axis is None:
        return take(x, i)
    xs, ishape, a = _defs.take_along_axis_shapes("take_along_axis", tuple(x.shape),
                                                 tuple(i.shape), axis)
    x = x.expand(xs)
    return torch.gather(x, a, _wrap(i, x.shape[a]).expand(ishape))


def broadcast_to(x, shape):
    return torch.broadcast_to(_to_tensor(x), _sizes("broadcast_to", shape))


def moveaxis(x, source, destination):
    src = tuple(source) if isinstance(source, (list, tuple)) else source
    dst = tuple(destination) if isinstance(destination, (list, tuple)) else destination
    return torch.movedim(_to_tensor(x), src, dst)


def swapaxes(x, axis1, axis2):
    return torch.swapaxes(_to_tensor(x), axis1, axis2)


def ravel(x):
    return torch.ravel(_to_tensor(x))


def size(x):
    x = _to_tensor(x)
    return torch.tensor(x.numel(), dtype=torch.int32, device=x.device)


def ndim(x):
    return _to_tensor(x).ndim


def dtype(x):
    return _name(_to_tensor(x))


# --- diagonals and triangles -----------------------------------------------------------------
def diag(x, k=0):
    x = _to_tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"diag: needs a tensor of rank 1 or 2, got shape {tuple(x.shape)}.")
    return torch.diag(x, k)


def diagflat(x, k=0):
    return torch.diagflat(_to_tensor(x), k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return torch.diagonal(_to_tensor(x), offset, axis1, axis2)


def trace(x, offset=0, axis1=0, axis2=1):
    x = _to_tensor(x)
    d = _TORCH_DTYPE[_defs.trace_dtype(_name(x))]
    diag = torch.diagonal(x, offset, axis1, axis2)
    if d is torch.uint32:  # no uint32 sum kernel: small unsigned ints sum exactly in int64
        return torch.sum(diag, -1, dtype=torch.int64).to(d)
    return torch.sum(diag, -1, dtype=d)


def _band(N, M, k, upper):
    rows = torch.arange(N).unsqueeze(1)
    cols = torch.arange(M).unsqueeze(0)
    return cols - rows <= k if not upper else cols - rows == k


def tri(N, M=None, k=0, dtype=None):
    return _band(N, N if M is None else M, k, False).to(_torch_dtype(dtype))


def tril(x, k=0):
    x = _to_tensor(x)
    if x.dtype is torch.bool:
        return x & _band(x.shape[-2], x.shape[-1], k, False).to(x.device)
    return torch.tril(x, k)


def triu(x, k=0):
    x = _to_tensor(x)
    if x.dtype is torch.bool:
        return x & ~_band(x.shape[-2], x.shape[-1], k - 1, False).to(x.device)
    return torch.triu(x, k)


def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    if k == 0:
        return torch.eye(N, M, dtype=_torch_dtype(dtype))
    return _band(N, M, k, True).to(_torch_dtype(dtype))


def identity(n, dtype=None):
    return torch.eye(n, dtype=_torch_dtype(dtype))


# --- creation --------------------------------------------------------------------------------
def empty(shape, dtype=None):
    return torch.zeros(_sizes("empty", shape), dtype=_torch_dtype(dtype))


def empty_like(x, dtype=None):
    return torch.zeros_like(_to_tensor(x), dtype=dtype and _torch_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    x = _to_tensor(x)
    tdt = _torch_dtype(dtype) if dtype else x.dtype
    if isinstance(fill_value, (bool, int, float)):
        return torch.full_like(x, fill_value, dtype=tdt)
    return _tensor(fill_value, tdt, x.device).expand(x.shape).clone()


def _wide(v, device=None):
    if isinstance(v, (bool, int, float)):
        return torch.tensor(float(v), dtype=_F64, device=device)
    return _tensor(v, _F64, device)


def _samples(start, stop, num, endpoint, axis):
    """NumPy's linspace in float64: (samples with the sample axis at `axis`, step)."""
    device = _device_of(start, stop)
    s, e = torch.broadcast_tensors(_wide(start, device), _wide(stop, device))
    div = num - 1 if endpoint else num
    delta = e - s
    t = torch.arange(num, dtype=_F64, device=device).reshape((num,) + (1,) * s.ndim)
    if div > 0:
        step = delta / div
        y = t * step + s
        if endpoint and num > 1:
            y = torch.cat([y[:-1], e.unsqueeze(0)], 0)
    else:
        step = torch.full_like(delta, math.nan)
        y = t * delta + s
    return torch.movedim(y, 0, axis), step


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    tdt = _TORCH_DTYPE[d]
    if not retstep and isinstance(start, (int, float)) and isinstance(stop, (int, float)) \
            and dtypes.is_float(d) and endpoint:
        return torch.linspace(float(start), float(stop), num, dtype=_F64).to(tdt)
    y, step = _samples(start, stop, num, endpoint, axis)
    y = (torch.floor(y) if dtypes.is_int(d) else y).to(tdt)
    return (y, step.to(tdt)) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    y, _ = _samples(start, stop, num, endpoint, axis)
    return torch.pow(torch.as_tensor(float(base), dtype=_F64), y).to(_TORCH_DTYPE[d])


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    d = _defs.linspace_dtype(start, stop, dtype)
    device = _device_of(start, stop)
    s, e = torch.broadcast_tensors(_wide(start, device), _wide(stop, device))
    sign = torch.sign(s)
    y, _ = _samples(torch.log10(torch.abs(s)), torch.log10(torch.abs(e)), num, endpoint, 0)
    y = sign * torch.pow(torch.tensor(10.0, dtype=_F64, device=device), y)
    if num > 0:
        parts = [s.unsqueeze(0), y[1:]]
        if endpoint and num > 1:
            parts = [s.unsqueeze(0), y[1:-1], e.unsqueeze(0)]
        y = torch.cat(parts, 0)
    return torch.movedim(y, 0, axis).to(_TORCH_DTYPE[d])


def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}.")
    return list(torch.meshgrid(*[_to_tensor(t).reshape(-1) for t in x], indexing=indexing))


def array(x, dtype=None):
    return convert_to_tensor(x, dtype)


# --- products --------------------------------------------------------------------------------
def einsum(subscripts, *operands, **kwargs):
    ops = _common(operands)
    d = _TORCH_DTYPE[_defs.einsum_result_dtype(*[_name(o) for o in ops])]
    return torch.einsum(subscripts, *[o if o.dtype is d else o.to(d) for o in ops])


def tensordot(x1, x2, axes=2):
    a, b = _binary(x1, x2, contract=True)
    a1, a2 = _defs.tensordot_axes("tensordot", a.ndim, b.ndim, axes)
    return torch.tensordot(a, b, dims=(a1, a2))


def dot(x1, x2):
    a, b = _binary(x1, x2)
    if not a.ndim or not b.ndim:
        return a * b
    a, b = _binary(a, b, contract=True)
    _defs.dot.rule(a, b)
    if b.ndim <= 2 or a.ndim == 1 and b.ndim == 2:
        return torch.matmul(a, b)
    return torch.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2]))


def inner(x1, x2):
    a, b = _binary(x1, x2)
    if not a.ndim or not b.ndim:
        return a * b
    a, b = _binary(a, b, contract=True)
    return torch.inner(a, b)


def outer(x1, x2):
    a, b = _binary(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


def vdot(x1, x2):
    a, b = _binary(x1, x2, contract=True)
    a, b = a.reshape(-1), b.reshape(-1)
    if a.dtype.is_floating_point or a.dtype.is_complex:
        return torch.vdot(a, b)
    return torch.sum(a * b, dtype=a.dtype)   # torch.sum would widen integers to int64


def kron(x1, x2):
    a, b = _binary(x1, x2)
    return torch.kron(a, b)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = _binary(x1, x2)
    ia, ib, ic, _ = _defs.cross_shapes("cross", tuple(a.shape), tuple(b.shape), axisa, axisb,
                                       axisc, axis)
    a, b = torch.movedim(a, ia, -1), torch.movedim(b, ib, -1)
    if a.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a, b = torch.broadcast_tensors(a, b)
    return torch.movedim(torch.linalg.cross(a, b, dim=-1), -1, ic)


# --- dynamic slices and scatters -------------------------------------------------------------
def _start_values(start_indices, xshape, block, device):
    """Clamped start of each dimension: Python ints, or 0-d long tensors."""
    if isinstance(start_indices, (list, tuple)):
        items = list(start_indices)
    else:
        s = _index(start_indices, device).reshape(-1)
        items = [s[i] for i in range(len(xshape))]
    out = []
    for s, d, b in zip(items, xshape, block):
        if isinstance(s, Tensor):
            out.append(torch.clamp(s.reshape(()).long(), 0, d - b))
        else:
            out.append(builtins.min(builtins.max(builtins.int(s), 0), d - b))
    return out


def slice_tensor(inputs, start_indices, shape):
    x = _to_tensor(inputs)
    block = _sizes("slice", shape)
    for a, (s, b) in enumerate(zip(_start_values(start_indices, x.shape, block, x.device),
                                   block)):
        x = torch.narrow(x, a, s, b)
    return x


def slice_update(inputs, start_indices, updates):
    x = _to_tensor(inputs)
    u = _tensor(updates, x.dtype, x.device)
    starts = _start_values(start_indices, x.shape, u.shape, x.device)
    if builtins.all(isinstance(s, builtins.int) for s in starts):
        key = tuple(builtins.slice(s, s + b) for s, b in zip(starts, u.shape))
        out = x.clone()
        out[key] = u
        return out
    # Tensor starts: scatter the block through an index grid (no host sync).
    grids = torch.meshgrid(*[torch.arange(b, device=x.device) + s
                             for s, b in zip(starts, u.shape)], indexing="ij")
    return x.index_put(tuple(grids), u)


def _scatter_key(indices, device):
    i = _index(indices, device)
    return tuple(i[:, k] for k in range(i.shape[1]))


def scatter(indices, values, shape):
    v = _to_tensor(values)
    out = torch.zeros(_sizes("scatter", shape), dtype=v.dtype, device=v.device)
    return out.index_put(_scatter_key(indices, v.device), v, accumulate=True)


_REDUCE = {"max": "amax", "min": "amin", "mul": "prod"}


def scatter_update(inputs, indices, updates, reduction=None):
    x = _to_tensor(inputs)
    u = _tensor(updates, x.dtype, x.device)
    key = _scatter_key(indices, x.device)
    if reduction is None:
        return x.index_put(key, u)
    if reduction == "add":
        return x.index_put(key, u, accumulate=True)
    k = len(key)
    lead = tuple(x.shape[:k])
    flat = x.reshape((math.prod(lead), -1))
    lin = torch.zeros_like(key[0])
    for i, d in zip(key, lead):
        lin = lin * d + i
    u2 = u.reshape((u.shape[0], -1))
    out = flat.scatter_reduce(0, lin.unsqueeze(1).expand(-1, u2.shape[1]), u2,
                              _REDUCE[reduction], include_self=True)
    return out.reshape(x.shape)


# --- misc ------------------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    choices = _common(list(choicelist) + [default])
    out = choices[-1]
    for c, v in reversed(list(zip(condlist, choices[:-1]))):
        c = _tensor(c, torch.bool, v.device) if not isinstance(c, Tensor) else c.bool()
        out = torch.where(c, v, out)
    return out


def unravel_index(indices, shape):
    i = _to_tensor(indices)
    tdt = _TORCH_DTYPE[_defs.unravel_dtype(_name(i))]
    return tuple(c.to(tdt) for c in torch.unravel_index(i.long(), _defs.int_tuple(
        "unravel_index", shape)))


def vander(x, N=None, increasing=False):
    x = _to_tensor(x)
    n = x.shape[0] if N is None else N
    if n == 0:
        return x.new_zeros((x.shape[0], 0))
    # A cumulative product (torch.vander's backward fails on its in-place update).
    cols = torch.cat([torch.ones_like(x)[:, None], x[:, None].expand(-1, n - 1)], 1)
    out = torch.cumprod(cols, 1, dtype=x.dtype)
    return out if increasing else torch.flip(out, (1,))


def _window(fn, m, **kw):
    return fn(m, periodic=False, dtype=_F64, **kw).to(_torch_dtype(config.floatx()))


def bartlett(x):
    return _window(torch.bartlett_window, x)


def blackman(x):
    return _window(torch.blackman_window, x)


def hamming(x):
    return _window(torch.hamming_window, x)


def hanning(x):
    return _window(torch.hann_window, x)


def kaiser(x, beta):
    return _window(torch.kaiser_window, x, beta=float(beta))


def view(x, dtype=None):
    x = _to_tensor(x)
    if dtype is None:
        return x
    dst = dtypes.standardize_dtype(dtype)
    _defs.view_shape("view", tuple(x.shape), _name(x), dst)
    return x.contiguous().view(_TORCH_DTYPE[dst])


def view_as_real(x):
    return torch.view_as_real(_to_tensor(x).resolve_conj())


def view_as_complex(x):
    return torch.view_as_complex(_to_tensor(x).contiguous())


def extract_sequences(x, sequence_length, sequence_stride):
    x = _to_tensor(x)
    _defs.num_sequences("extract_sequences", x.shape[-1], sequence_length, sequence_stride)
    return x.unfold(-1, sequence_length, sequence_stride)



def fold_leading(x, n):
    x = _to_tensor(x)
    return x.reshape((math.prod(x.shape[:n]),) + tuple(x.shape[n:]))


def unfold_leading(x, like, n):
    x = _to_tensor(x)
    return x.reshape(tuple(_to_tensor(like).shape[:n]) + tuple(x.shape[1:]))

__all__ = list(_defs.IMPL_NAMES)
