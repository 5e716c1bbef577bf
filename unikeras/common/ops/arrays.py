"""Op definitions: the arrays family (shape manipulation, creation, indexing, products).

Each `@op` body is the op's symbolic rule (output shape and dtype from the input specs,
None dims kept); on real tensors the call dispatches to the backend table function of the
same name (see unikeras/common/ops/op.py). The plain helpers at the top (`split_sizes`,
`pad_pairs`, `einsum_output`, `rearrange_plan`, ...) are the static shape arithmetic that
the rules and the backend implementations share, so that every backend agrees.
"""
import builtins
import operator
import re

from unikeras import config
from unikeras.common import dtypes
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import (
    broadcast_shapes, canonical_axis, dtype_of, spec)
from unikeras.common.symbolic import KerasTensor



# --- shared static shape arithmetic ----------------------------------------------------------
def int_tuple(name, value, what="shape"):
    """`value` (int or sequence of ints) as a tuple of Python ints; ValueError otherwise."""
    if isinstance(value, (list, tuple)):
        try:
            return tuple(operator.index(v) for v in value)
        except TypeError:
            pass
    else:
        try:
            return (operator.index(value),)
        except TypeError:
            pass
    raise ValueError(f"{name}: {what} must be an int or a sequence of ints, got {value!r}.")


def split_sizes(name, size, indices_or_sections, even):
    """Sizes of the pieces of a dimension of `size` (None: unknown, then None sizes).

    `indices_or_sections` is a number of sections (`even`: it must divide `size`, as
    np.split; else the first pieces get one more, as np.array_split) or split points."""
    if isinstance(indices_or_sections, (list, tuple)):
        points = [operator.index(i) for i in indices_or_sections]
        if size is None:
            if builtins.any(p < 0 for p in points):
                return [None] * (len(points) + 1)
            bounds = [0] + points
            return [builtins.max(0, b - a) for a, b in zip(bounds, bounds[1:])] + [None]
        bounds = [builtins.min(builtins.max(p + size if p < 0 else p, 0), size) for p in points]
        bounds = [0] + bounds + [size]
        return [builtins.max(0, b - a) for a, b in zip(bounds, bounds[1:])]
    try:
        n = operator.index(indices_or_sections)
    except TypeError:
        raise ValueError(f"{name}: indices_or_sections must be an int or a list of ints, got "
                         f"{indices_or_sections!r}.") from None
    if n <= 0:
        raise ValueError(f"{name}: the number of sections must be positive, got {n}.")
    if size is None:
        return [None] * n
    if even and size % n:
        raise ValueError(f"{name}: a dimension of size {size} cannot be split evenly into {n} "
                         "sections (use array_split).")
    q, r = divmod(size, n)
    return [q + 1] * r + [q] * (n - r)


def pad_pairs(name, pad_width, ndim):
    """NumPy's `pad_width` spellings as one (before, after) pair of ints per dimension."""
    try:
        if isinstance(pad_width, (list, tuple)) and pad_width and isinstance(
                pad_width[0], (list, tuple)):
            pairs = [tuple(operator.index(v) for v in p) for p in pad_width]
        else:
            flat = int_tuple(name, pad_width, "pad_width")
            pairs = [flat]
    except (TypeError, ValueError):
        raise ValueError(f"{name}: bad pad_width {pad_width!r}.") from None
    pairs = [p * 2 if len(p) == 1 else p for p in pairs]
    if builtins.any(len(p) != 2 for p in pairs):
        raise ValueError(f"{name}: pad_width entries must be (before, after) pairs, got "
                         f"{pad_width!r}.")
    if len(pairs) == 1:
        pairs = pairs * ndim
    if len(pairs) != ndim:
        raise ValueError(f"{name}: pad_width {pad_width!r} does not match a tensor of rank "
                         f"{ndim}.")
    if builtins.any(v < 0 for p in pairs for v in p):
        raise ValueError(f"{name}: pad_width must be non-negative, got {pad_width!r}.")
    return [tuple(p) for p in pairs]


def axis_list(name, axis, ndim):
    """Canonical, distinct axes (a single int or a sequence) in the given order."""
    axes = (axis,) if not isinstance(axis, (list, tuple)) else tuple(axis)
    out = [canonical_axis(name, operator.index(a), ndim) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis}.")
    return out


def moveaxis_perm(name, ndim, source, destination):
    src = axis_list(name, source, ndim)
    dst = axis_list(name, destination, ndim)
    if len(src) != len(dst):
        raise ValueError(f"{name}: source {source} and destination {destination} differ in "
                         "length.")
    rest = [i for i in range(ndim) if i not in src]
    perm = [None] * ndim
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    return [p if p is not None else next(it) for p in perm]


def tensordot_axes(name, r1, r2, axes):
    """(axes of x1, axes of x2) contracted by `tensordot`, canonical."""
    if isinstance(axes, (list, tuple)):
        if len(axes) != 2:
            raise ValueError(f"{name}: axes must be an int or a pair of axis lists, got "
                             f"{axes!r}.")
        a1, a2 = (list(a) if isinstance(a, (list, tuple)) else [a] for a in axes)
    else:
        try:
            n = operator.index(axes)
        except TypeError:
            raise ValueError(f"{name}: axes must be an int or a pair of axis lists, got "
                             f"{axes!r}.") from None
        if n < 0 or n > builtins.min(r1, r2):
            raise ValueError(f"{name}: cannot contract {n} axes of tensors of ranks {r1} and "
                             f"{r2}.")
        a1, a2 = list(range(r1 - n, r1)), list(range(n))
    if len(a1) != len(a2):
        raise ValueError(f"{name}: axes {axes!r} contract different numbers of dimensions.")
    return (axis_list(name, a1, r1) if a1 else []), (axis_list(name, a2, r2) if a2 else [])


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_output(name, subscripts, shapes):
    """Output shape of an einsum (explicit '->' or implicit mode, '...' allowed)."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{name}: subscripts {subscripts!r} name {len(terms)} operands, got "
                         f"{len(shapes)}.")
    sizes, counts = {}, {}
    ell = None
    for term, shape in zip(terms, shapes):
        letters = term.replace("...", "")
        if builtins.any(c not in _EINSUM_LETTERS for c in letters):
            raise ValueError(f"{name}: bad subscripts {subscripts!r}.")
        if "..." in term:
            n_ell = len(shape) - len(letters)
            if n_ell < 0:
                raise ValueError(f"{name}: operand of shape {shape} has fewer dimensions than "
                                 f"subscripts {term!r}.")
            i = term.index("...")
            ell_dims = shape[i:i + n_ell]
            ell = ell_dims if ell is None else broadcast_shapes(name, ell, ell_dims)
            dims = shape[:i] + shape[i + n_ell:]
        else:
            if len(letters) != len(shape):
                raise ValueError(f"{name}: subscripts {term!r} do not match an operand of "
                                 f"shape {shape}.")
            dims = shape
        for c, d in zip(letters, dims):
            counts[c] = counts.get(c, 0) + 1
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = d if prev is None or d is not None else prev
            elif d is not None and d != 1 and d != prev:
                raise ValueError(f"{name}: dimension {c!r} has sizes {prev} and {d}.")
    if out is None:
        out = ("..." if ell is not None else "") + "".join(
            sorted(c for c, n in counts.items() if n == 1))
    result = []
    for part in re.split(r"(\.\.\.)", out):
        if part == "...":
            result.extend(ell or ())
            continue
        for c in part:
            if c not in sizes:
                raise ValueError(f"{name}: output subscript {c!r} is not in the inputs.")
            result.append(sizes[c])
    return tuple(result)


def _parse_side(name, side):
    """Axis groups of one side of a rearrange pattern: 'b (h w) c' -> [[b], [h, w], [c]]."""
    groups = []
    tokens = re.findall(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S", side)
    current = None
    for t in tokens:
        if t == "(":
            if current is not None:
                raise ValueError(f"{name}: nested parentheses in {side!r}.")
            current = []
        elif t == ")":
            if current is None:
                raise ValueError(f"{name}: unbalanced parentheses in {side!r}.")
            groups.append(current)
            current = None
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t):
            (current if current is not None else groups).append(t if current is not None
                                                                   else [t])
        else:
            raise ValueError(f"{name}: unsupported token {t!r} in pattern side {side!r}.")
    if current is not None:
        raise ValueError(f"{name}: unbalanced parentheses in {side!r}.")
    return groups


def rearrange_plan(pattern, shape, axes_lengths):
    """(decomposed shape, permutation, output shape) that `rearrange` applies with a reshape,
    a transpose and a reshape; sizes may be None (unknown) where they stay unknown."""
    name = "rearrange"
    if pattern.count("->") != 1:
        raise ValueError(f"{name}: pattern {pattern!r} must contain one '->'.")
    left, right = (_parse_side(name, s) for s in pattern.split("->"))
    lnames = [n for g in left for n in g]
    rnames = [n for g in right for n in g]
    if len(set(lnames)) != len(lnames) or len(set(rnames)) != len(rnames):
        raise ValueError(f"{name}: repeated axis name in {pattern!r}.")
    if set(lnames) != set(rnames):
        raise ValueError(f"{name}: both sides of {pattern!r} must name the same axes.")
    if len(left) != len(shape):
        raise ValueError(f"{name}: pattern {pattern!r} expects rank {len(left)}, got a tensor "
                         f"of shape {shape}.")
    unknown = set(axes_lengths) - set(lnames)
    if unknown:
        raise ValueError(f"{name}: axes_lengths {sorted(unknown)} are not in {pattern!r}.")
    sizes = {}
    for group, d in zip(left, shape):
        known = [axes_lengths.get(n) for n in group]
        missing = [n for n, k in zip(group, known) if k is None]
        if len(group) == 1:
            sizes[group[0]] = known[0] if known[0] is not None else d
            if known[0] is not None and d is not None and known[0] != d:
                raise ValueError(f"{name}: axis {group[0]!r} has length {d}, not {known[0]}.")
            continue
        prod = 1
        for k in known:
            prod *= k if k is not None else 1
        if len(missing) > 1:
            raise ValueError(f"{name}: cannot infer the lengths of {missing} in {pattern!r}; "
                             "pass them as keyword arguments.")
        if missing:
            if d is not None and (prod == 0 or d % prod):
                raise ValueError(f"{name}: dimension {d} is not divisible by {prod}.")
            sizes[missing[0]] = None if d is None else d // prod
        elif d is not None and prod != d:
            raise ValueError(f"{name}: axes {group} of lengths {known} do not make {d}.")
        for n, k in zip(group, known):
            if k is not None:
                sizes[n] = k
    decomposed = tuple(sizes[n] for n in lnames)
    perm = [lnames.index(n) for n in rnames]
    out = []
    for group in right:
        total = 1
        for n in group:
            total = None if total is None or sizes[n] is None else total * sizes[n]
        out.append(total)
    return decomposed, perm, tuple(out)


def einsum_result_dtype(*dts):
    d = dtypes.result_type(*dts)
    return "int32" if d in ("bool", "int8", "uint8") else d


def linspace_dtype(start, stop, dtype):
    if dtype is not None:
        return dtypes.standardize_dtype(dtype)
    return dtypes.result_type(dtype_of(start), dtype_of(stop), float)


def trace_dtype(dtype):
    if dtype in ("bool", "int8", "int16"):
        return "int32"
    if dtype in ("uint8", "uint16"):
        return "uint32"
    return dtype


_COMPLEX_OF = {"float32": "complex64", "float64": "complex128"}
_REAL_OF = {"complex64": "float32", "complex128": "float64"}


def _itemsize(dtype):
    if dtype == "bool":
        return 1
    return int(re.search(r"\d+", dtype).group()) // 8


def _x(x, dtype=None):
    shape, d = spec(x)
    return KerasTensor(shape, dtype or d)


def _common_dtype(xs):
    return dtypes.result_type(*[dtype_of(x) for x in xs])


def _join(name, shapes, axis):
    """Shape of a concatenation of `shapes` along canonical `axis`."""
    out = list(shapes[0])
    for s in shapes[1:]:
        if len(s) != len(out):
            raise ValueError(f"{name}: ranks differ: {shapes}.")
        for i, d in enumerate(s):
            if i == axis:
                out[i] = None if out[i] is None or d is None else out[i] + d
            elif out[i] is not None and d is not None and out[i] != d:
                raise ValueError(f"{name}: shapes {shapes} differ off axis {axis}.")
            elif out[i] is None:
                out[i] = d
    return tuple(out)


# --- joining and splitting -------------------------------------------------------------------
@op
def stack(x, axis=0):
    """Join same-shape tensors along a new axis `axis` (dtypes promoted)."""
    xs = list(x)
    if not xs:
        raise ValueError("stack: needs at least one tensor.")
    shapes = [spec(t)[0] for t in xs]
    shape = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(shape) or builtins.any(
                a is not None and b is not None and a != b for a, b in zip(s, shape)):
            raise ValueError(f"stack: all tensors must have the same shape, got {shapes}.")
        shape = tuple(a if a is not None else b for a, b in zip(shape, s))
    a = canonical_axis("stack", axis, len(shape) + 1)
    return KerasTensor(shape[:a] + (len(xs),) + shape[a:], _common_dtype(xs))


@op
def unstack(x, num=None, axis=0):
    """Split along `axis` into a list of tensors with that axis removed."""
    shape, dtype = spec(x)
    a = canonical_axis("unstack", axis, len(shape))
    n = shape[a] if num is None else num
    if n is None:
        raise ValueError(f"unstack: the size of axis {axis} of shape {shape} is unknown; pass "
                         "num.")
    if shape[a] is not None and n != shape[a]:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of shape {shape}.")
    return [KerasTensor(shape[:a] + shape[a + 1:], dtype) for _ in range(n)]


def _split_rule(name, x, indices_or_sections, axis, even):
    shape, dtype = spec(x)
    if not shape:
        raise ValueError(f"{name}: cannot split a scalar.")
    a = canonical_axis(name, axis, len(shape))
    sizes = split_sizes(name, shape[a], indices_or_sections, even)
    return [KerasTensor(shape[:a] + (s,) + shape[a + 1:], dtype) for s in sizes]


@op
def split(x, indices_or_sections, axis=0):
    """Split into equal sections (an int that must divide the axis) or at indices."""
    return _split_rule("split", x, indices_or_sections, axis, True)


@op
def array_split(x, indices_or_sections, axis=0):
    """Split into `indices_or_sections` nearly equal pieces (the first ones one longer)."""
    return _split_rule("array_split", x, indices_or_sections, axis, False)


@op
def hsplit(x, indices_or_sections):
    """Split along axis 1 (axis 0 for vectors)."""
    return _split_rule("hsplit", x, indices_or_sections, 1 if len(spec(x)[0]) > 1 else 0, True)


@op
def vsplit(x, indices_or_sections):
    """Split along axis 0 (needs rank >= 2)."""
    if len(spec(x)[0]) < 2:
        raise ValueError("vsplit: needs a tensor of rank >= 2.")
    return _split_rule("vsplit", x, indices_or_sections, 0, True)


@op
def dsplit(x, indices_or_sections):
    """Split along axis 2 (needs rank >= 3)."""
    if len(spec(x)[0]) < 3:
        raise ValueError("dsplit: needs a tensor of rank >= 3.")
    return _split_rule("dsplit", x, indices_or_sections, 2, True)


def _atleast(shape, n):
    if n == 2:
        return {0: (1, 1), 1: (1,) + shape}.get(len(shape), shape)
    return {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}.get(len(shape), shape)


@op
def hstack(xs):
    """Concatenate along axis 1 (axis 0 for vectors)."""
    shapes = [spec(x)[0] for x in xs]
    shapes = [s if s else (1,) for s in shapes]
    axis = 0 if len(shapes[0]) == 1 else 1
    return KerasTensor(_join("hstack", shapes, axis), _common_dtype(xs))


@op
def vstack(xs):
    """Concatenate along axis 0 after making every input at least 2-D."""
    shapes = [_atleast(spec(x)[0], 2) for x in xs]
    return KerasTensor(_join("vstack", shapes, 0), _common_dtype(xs))


@op
def dstack(xs):
    """Concatenate along axis 2 after making every input at least 3-D."""
    shapes = [_atleast(spec(x)[0], 3) for x in xs]
    return KerasTensor(_join("dstack", shapes, 2), _common_dtype(xs))


@op
def append(x1, x2, axis=None):
    """Concatenate `x2` after `x1` along `axis` (both flattened when None)."""
    s1, s2 = spec(x1)[0], spec(x2)[0]
    dtype = dtypes.result_type(dtype_of(x1), dtype_of(x2))
    if axis is None:
        n = [_numel(s) for s in (s1, s2)]
        return KerasTensor((None if None in n else n[0] + n[1],), dtype)
    if len(s1) != len(s2):
        raise ValueError(f"append: ranks differ: {s1} and {s2}.")
    return KerasTensor(_join("append", [s1, s2], canonical_axis("append", axis, len(s1))), dtype)


def _numel(shape):
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= d
    return n


# --- repetition, padding, reordering ---------------------------------------------------------
@op
def tile(x, repeats):
    """Repeat the whole tensor `repeats` times along each axis (NumPy's tile)."""
    shape, dtype = spec(x)
    reps = int_tuple("tile", repeats, "repeats")
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats must be non-negative, got {repeats!r}.")
    n = builtins.max(len(shape), len(reps))
    shape = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    return KerasTensor(tuple(None if d is None else d * r for d, r in zip(shape, reps)), dtype)


@op
def repeat(x, repeats, axis=None):
    """Repeat each element `repeats` times (an int or one count per element) along `axis`
    (of the flattened tensor when None)."""
    shape, dtype = spec(x)
    if axis is None:
        shape, a = (_numel(shape),), 0
    else:
        a = canonical_axis("repeat", axis, len(shape))
    reps = int_tuple("repeat", repeats, "repeats")
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeats must be non-negative, got {repeats!r}.")
    d = shape[a]
    if len(reps) == 1:
        n = None if d is None else d * reps[0]
    elif d is not None and len(reps) != d:
        raise ValueError(f"repeat: {len(reps)} repeats for an axis of size {d}.")
    else:
        n = builtins.sum(reps)
    return KerasTensor(shape[:a] + (n,) + shape[a + 1:], dtype)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


@op
def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad with `constant_values` (mode "constant") or by "edge", "reflect", "symmetric" or
    "wrap" copies of the border, NumPy's pad_width spellings."""
    shape, dtype = spec(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of {_PAD_MODES}.")
    if mode != "constant" and constant_values is not None:
        raise ValueError("pad: constant_values is only for mode='constant'.")
    pairs = pad_pairs("pad", pad_width, len(shape))
    if mode == "reflect":
        for d, (b, a) in zip(shape, pairs):
            if d is not None and (b or a) and builtins.max(b, a) >= d:
                raise ValueError(f"pad: reflect padding of {(b, a)} needs a dimension larger "
                                 f"than the padding, got {d}.")
    return KerasTensor(tuple(None if d is None else d + b + a for d, (b, a) in zip(shape, pairs)),
                       dtype)


@op
def flip(x, axis=None):
    """Reverse the order of elements along `axis` (all axes when None)."""
    shape, _ = spec(x)
    if axis is not None:
        axis_list("flip", axis, len(shape))
    return _x(x)


@op
def fliplr(x):
    """Reverse along axis 1 (needs rank >= 2)."""
    if len(spec(x)[0]) < 2:
        raise ValueError("fliplr: needs a tensor of rank >= 2.")
    return _x(x)


@op
def flipud(x):
    """Reverse along axis 0 (needs rank >= 1)."""
    if len(spec(x)[0]) < 1:
        raise ValueError("flipud: needs a tensor of rank >= 1.")
    return _x(x)


@op
def roll(x, shift, axis=None):
    """Shift elements cyclically by `shift` along `axis` (of the flattened tensor when None)."""
    shape, _ = spec(x)
    if axis is not None:
        axes = (axis,) if not isinstance(axis, (list, tuple)) else axis
        for a in axes:
            canonical_axis("roll", a, len(shape))
        shifts = int_tuple("roll", shift, "shift")
        if len(shifts) != 1 and len(shifts) != len(axes):
            raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes.")
    return _x(x)


@op
def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees `k` times in the plane of `axes` (from the first axis towards
    the second)."""
    shape, dtype = spec(array)
    if len(shape) < 2:
        raise ValueError(f"rot90: needs a tensor of rank >= 2, got shape {shape}.")
    a0, a1 = axis_list("rot90", axes, len(shape))
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must be two distinct axes, got {axes}.")
    if operator.index(k) % 2:
        shape = list(shape)
        shape[a0], shape[a1] = shape[a1], shape[a0]
    return KerasTensor(tuple(shape), dtype)


# --- gathering -------------------------------------------------------------------------------
def _check_int(name, dtype, what="indices"):
    if not dtypes.is_int(dtype):
        raise ValueError(f"{name}: {what} must be integers, got dtype {dtype}.")


@op
def take(x, indices, axis=None):
    """Elements of `x` at integer `indices` along `axis` (of the flattened tensor when None);
    negative indices count from the end."""
    shape, dtype = spec(x)
    ishape, idtype = spec(indices)
    _check_int("take", idtype)
    if axis is None:
        return KerasTensor(ishape, dtype)
    a = canonical_axis("take", axis, len(shape))
    return KerasTensor(shape[:a] + ishape + shape[a + 1:], dtype)


def take_along_axis_shapes(name, xshape, ishape, axis):
    """(broadcast x shape, broadcast indices shape, canonical axis) of take_along_axis."""
    if len(xshape) != len(ishape):
        raise ValueError(f"{name}: x of shape {xshape} and indices of shape {ishape} must have "
                         "the same rank.")
    a = canonical_axis(name, axis, len(xshape))
    rest = broadcast_shapes(name, xshape[:a] + xshape[a + 1:], ishape[:a] + ishape[a + 1:])
    return (rest[:a] + (xshape[a],) + rest[a:], rest[:a] + (ishape[a],) + rest[a:], a)


@op
def take_along_axis(x, indices, axis=None):
    """`x` gathered at `indices` along `axis` (other dims broadcast; flattened when None)."""
    shape, dtype = spec(x)
    ishape, idtype = spec(indices)
    _check_int("take_along_axis", idtype)
    if axis is None:
        if len(ishape) != 1:
            raise ValueError("take_along_axis: with axis=None, indices must be 1-D.")
        return KerasTensor(ishape, dtype)
    return KerasTensor(take_along_axis_shapes("take_along_axis", shape, ishape, axis)[1], dtype)


@op
def broadcast_to(x, shape):
    """`x` broadcast (NumPy rules) to `shape`."""
    xs, dtype = spec(x)
    target = int_tuple("broadcast_to", shape)
    if len(xs) > len(target) or broadcast_shapes("broadcast_to", xs, target) != target:
        raise ValueError(f"broadcast_to: cannot broadcast shape {xs} to {target}.")
    return KerasTensor(target, dtype)


@op
def moveaxis(x, source, destination):
    """Move axes `source` to positions `destination`, keeping the others in order."""
    shape, dtype = spec(x)
    perm = moveaxis_perm("moveaxis", len(shape), source, destination)
    return KerasTensor(tuple(shape[p] for p in perm), dtype)


@op
def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    shape, dtype = spec(x)
    a = canonical_axis("swapaxes", axis1, len(shape))
    b = canonical_axis("swapaxes", axis2, len(shape))
    shape = list(shape)
    shape[a], shape[b] = shape[b], shape[a]
    return KerasTensor(tuple(shape), dtype)


@op
def ravel(x):
    """The elements as a 1-D tensor (row-major)."""
    shape, dtype = spec(x)
    return KerasTensor((_numel(shape),), dtype)


@op
def size(x):
    """Number of elements, as an int32 scalar tensor."""
    spec(x)
    return KerasTensor((), "int32")


@op
def ndim(x):
    """Rank of `x` (a Python int: ranks are static)."""
    return len(spec(x)[0])


@op
def dtype(x):
    """Canonical dtype name of `x` (e.g. "float32")."""
    return spec(x)[1]


# --- diagonals and triangles -----------------------------------------------------------------
def _diag_len(n, m, k):
    if n is None or m is None:
        return None
    return builtins.max(0, builtins.min(n + builtins.min(k, 0), m - builtins.max(k, 0)))


@op
def diag(x, k=0):
    """Diagonal `k` of a matrix, or a square matrix with vector `x` on diagonal `k`."""
    shape, dtype = spec(x)
    k = operator.index(k)
    if len(shape) == 1:
        n = None if shape[0] is None else shape[0] + builtins.abs(k)
        return KerasTensor((n, n), dtype)
    if len(shape) == 2:
        return KerasTensor((_diag_len(shape[0], shape[1], k),), dtype)
    raise ValueError(f"diag: needs a tensor of rank 1 or 2, got shape {shape}.")


@op
def diagflat(x, k=0):
    """Square matrix with the flattened `x` on diagonal `k`."""
    shape, dtype = spec(x)
    n = _numel(shape)
    n = None if n is None else n + builtins.abs(operator.index(k))
    return KerasTensor((n, n), dtype)


def _diagonal_shape(name, shape, offset, axis1, axis2):
    if len(shape) < 2:
        raise ValueError(f"{name}: needs a tensor of rank >= 2, got shape {shape}.")
    a = canonical_axis(name, axis1, len(shape))
    b = canonical_axis(name, axis2, len(shape))
    if a == b:
        raise ValueError(f"{name}: axis1 and axis2 must differ, got {axis1} and {axis2}.")
    rest = tuple(d for i, d in enumerate(shape) if i not in (a, b))
    return rest, _diag_len(shape[a], shape[b], operator.index(offset))


@op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """Diagonal `offset` of the 2-D slices over `axis1` and `axis2`, as the last axis."""
    shape, dtype = spec(x)
    rest, n = _diagonal_shape("diagonal", shape, offset, axis1, axis2)
    return KerasTensor(rest + (n,), dtype)


@op
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of diagonal `offset` over `axis1` and `axis2` (small ints sum as int32/uint32)."""
    shape, dtype = spec(x)
    rest, _ = _diagonal_shape("trace", shape, offset, axis1, axis2)
    return KerasTensor(rest, trace_dtype(dtype))


@op
def tri(N, M=None, k=0, dtype=None):
    """N x M matrix with ones at and below diagonal `k` (floatx by default)."""
    M = N if M is None else M
    return KerasTensor((operator.index(N), operator.index(M)), dtype or config.floatx())


@op
def tril(x, k=0):
    """Zero the elements above diagonal `k` of the last two axes."""
    if len(spec(x)[0]) < 2:
        raise ValueError("tril: needs a tensor of rank >= 2.")
    return _x(x)


@op
def triu(x, k=0):
    """Zero the elements below diagonal `k` of the last two axes."""
    if len(spec(x)[0]) < 2:
        raise ValueError("triu: needs a tensor of rank >= 2.")
    return _x(x)


@op
def eye(N, M=None, k=0, dtype=None):
    """N x M matrix with ones on diagonal `k` (floatx by default)."""
    M = N if M is None else M
    return KerasTensor((operator.index(N), operator.index(M)), dtype or config.floatx())


@op
def identity(n, dtype=None):
    """The n x n identity matrix (floatx by default)."""
    n = operator.index(n)
    return KerasTensor((n, n), dtype or config.floatx())


# --- creation --------------------------------------------------------------------------------
@op
def empty(shape, dtype=None):
    """Tensor of `shape` whose values are not to be relied on (zeros here)."""
    return KerasTensor(int_tuple("empty", shape), dtype or config.floatx())


@op
def empty_like(x, dtype=None):
    """Tensor shaped like `x` whose values are not to be relied on (zeros here)."""
    return _x(x, dtype and dtypes.standardize_dtype(dtype))


@op
def full_like(x, fill_value, dtype=None):
    """Tensor shaped like `x` filled with `fill_value` (dtype of `x` unless given)."""
    return _x(x, dtype and dtypes.standardize_dtype(dtype))


def _space_shape(name, start, stop, num, axis):
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"{name}: num must be non-negative, got {num}.")
    shape = broadcast_shapes(name, spec(start)[0], spec(stop)[0])
    a = canonical_axis(name, axis, len(shape) + 1)
    return shape[:a] + (num,) + shape[a:]


@op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (array bounds broadcast; the
    samples axis is `axis`). With `retstep`, also the spacing."""
    out = KerasTensor(_space_shape("linspace", start, stop, num, axis),
                      linspace_dtype(start, stop, dtype))
    if retstep:
        return out, KerasTensor(broadcast_shapes("linspace", spec(start)[0], spec(stop)[0]),
                                out.dtype)
    return out


@op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`base ** linspace(start, stop, num)`."""
    return KerasTensor(_space_shape("logspace", start, stop, num, axis),
                       linspace_dtype(start, stop, dtype))


@op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values from `start` to `stop` evenly spaced on a log scale."""
    return KerasTensor(_space_shape("geomspace", start, stop, num, axis),
                       linspace_dtype(start, stop, dtype))


@op
def meshgrid(*x, indexing="xy"):
    """Coordinate grids of 1-D tensors `x` ("xy": first two axes swapped, as NumPy)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}.")
    specs = [spec(t) for t in x]
    sizes = [_numel(s) for s, _ in specs]
    if indexing == "xy" and len(sizes) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    return [KerasTensor(tuple(sizes), d) for _, d in specs]


@op
def array(x, dtype=None):
    """A tensor with the value of `x` (as `convert_to_tensor`)."""
    shape, in_dtype = spec(x)
    return KerasTensor(shape, dtypes.standardize_dtype(dtype) if dtype else in_dtype)


# --- products --------------------------------------------------------------------------------
@op
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over `operands` (explicit '->' or implicit output, '...' allowed).
    bool/int8/uint8 operands give int32, as matmul."""
    shape = einsum_output("einsum", subscripts, [spec(o)[0] for o in operands])
    return KerasTensor(shape, einsum_result_dtype(*[dtype_of(o) for o in operands]))


@op
def tensordot(x1, x2, axes=2):
    """Sum of products over `axes` (an int: last axes of x1 with first of x2; or two axis
    lists)."""
    s1, d1 = spec(x1)
    s2, d2 = spec(x2)
    a1, a2 = tensordot_axes("tensordot", len(s1), len(s2), axes)
    for i, j in zip(a1, a2):
        if s1[i] is not None and s2[j] is not None and s1[i] != s2[j]:
            raise ValueError(f"tensordot: contracted dimensions differ: shapes {s1} and {s2}, "
                             f"axes {axes!r}.")
    out = tuple(d for i, d in enumerate(s1) if i not in a1) + tuple(
        d for i, d in enumerate(s2) if i not in a2)
    return KerasTensor(out, einsum_result_dtype(dtype_of(x1), dtype_of(x2)))


@op
def dot(x1, x2):
    """NumPy's dot: scalars multiply, vectors give their inner product, otherwise the sum
    over the last axis of x1 and the second-to-last of x2."""
    s1, d1 = spec(x1)
    s2, d2 = spec(x2)
    if not s1 or not s2:
        return KerasTensor(broadcast_shapes("dot", s1, s2),
                           dtypes.result_type(dtype_of(x1), dtype_of(x2)))
    j = 0 if len(s2) == 1 else len(s2) - 2
    if s1[-1] is not None and s2[j] is not None and s1[-1] != s2[j]:
        raise ValueError(f"dot: shapes {s1} and {s2} are not aligned.")
    out = s1[:-1] + s2[:j] + s2[j + 1:]
    return KerasTensor(out, einsum_result_dtype(dtype_of(x1), dtype_of(x2)))


@op
def inner(x1, x2):
    """Sum of products over the last axes (scalars multiply)."""
    s1, _ = spec(x1)
    s2, _ = spec(x2)
    if not s1 or not s2:
        return KerasTensor(broadcast_shapes("inner", s1, s2),
                           dtypes.result_type(dtype_of(x1), dtype_of(x2)))
    if s1[-1] is not None and s2[-1] is not None and s1[-1] != s2[-1]:
        raise ValueError(f"inner: last dimensions differ: shapes {s1} and {s2}.")
    return KerasTensor(s1[:-1] + s2[:-1], einsum_result_dtype(dtype_of(x1), dtype_of(x2)))


@op
def outer(x1, x2):
    """Outer product of the flattened inputs."""
    s1, _ = spec(x1)
    s2, _ = spec(x2)
    return KerasTensor((_numel(s1), _numel(s2)), dtypes.result_type(dtype_of(x1), dtype_of(x2)))


@op
def vdot(x1, x2):
    """Dot product of the flattened inputs (the first conjugated)."""
    n1, n2 = _numel(spec(x1)[0]), _numel(spec(x2)[0])
    if n1 is not None and n2 is not None and n1 != n2:
        raise ValueError(f"vdot: inputs have {n1} and {n2} elements.")
    return KerasTensor((), einsum_result_dtype(dtype_of(x1), dtype_of(x2)))


@op
def kron(x1, x2):
    """Kronecker product: blocks of x2 scaled by each element of x1."""
    s1, _ = spec(x1)
    s2, _ = spec(x2)
    n = builtins.max(len(s1), len(s2))
    s1 = (1,) * (n - len(s1)) + s1
    s2 = (1,) * (n - len(s2)) + s2
    out = tuple(None if a is None or b is None else a * b for a, b in zip(s1, s2))
    return KerasTensor(out, dtypes.result_type(dtype_of(x1), dtype_of(x2)))


def cross_shapes(name, s1, s2, axisa, axisb, axisc, axis):
    """(canonical axisa, axisb, axisc, output shape) of a cross product."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if not s1 or not s2:
        raise ValueError(f"{name}: inputs must be vectors, got shapes {s1} and {s2}.")
    a = canonical_axis(name, axisa, len(s1))
    b = canonical_axis(name, axisb, len(s2))
    n1, n2 = s1[a], s2[b]
    if n1 not in (2, 3) or n2 not in (2, 3) or n1 != n2:
        raise ValueError(f"{name}: vectors must both have 2 or both 3 components, got "
                         f"{n1} and {n2}.")
    r1 = s1[:a] + s1[a + 1:]
    r2 = s2[:b] + s2[b + 1:]
    rest = broadcast_shapes(name, r1, r2)
    if n1 == 2:
        return a, b, None, rest
    c = canonical_axis(name, axisc, len(rest) + 1)
    return a, b, c, rest[:c] + (3,) + rest[c:]


@op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (z component only for 2-vectors) along the given axes."""
    s1, _ = spec(x1)
    s2, _ = spec(x2)
    out = cross_shapes("cross", s1, s2, axisa, axisb, axisc, axis)[3]
    return KerasTensor(out, dtypes.result_type(dtype_of(x1), dtype_of(x2)))


# --- dynamic slices and scatters -------------------------------------------------------------
def _slice_rule(inputs, start_indices, shape):
    """`inputs[start : start + shape]` with tensor or static starts (clamped into range)."""
    xs, dtype = spec(inputs)
    size = int_tuple("slice", shape)
    if len(size) != len(xs):
        raise ValueError(f"slice: shape {size} does not match a tensor of rank {len(xs)}.")
    if not isinstance(start_indices, (list, tuple)):
        ss = spec(start_indices)[0]
        if ss != (len(xs),) and ss != (None,):
            raise ValueError(f"slice: start_indices of shape {ss} for a tensor of rank "
                             f"{len(xs)}.")
    elif len(start_indices) != len(xs):
        raise ValueError(f"slice: {len(start_indices)} start indices for a tensor of rank "
                         f"{len(xs)}.")
    for d, s in zip(xs, size):
        if s < 0 or (d is not None and s > d):
            raise ValueError(f"slice: slice shape {size} does not fit a tensor of shape {xs}.")
    return KerasTensor(size, dtype)


@op(impl="slice_tensor")
def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name for the op
    """A block of `shape` starting at `start_indices` (ints or an int tensor); starts are
    clamped so that the block fits, as XLA's dynamic_slice does."""
    return _slice_rule(inputs, start_indices, shape)


@op
def slice_update(inputs, start_indices, updates):
    """`inputs` with the block starting at `start_indices` replaced by `updates` (starts
    clamped so the block fits)."""
    xs, dtype = spec(inputs)
    us, _ = spec(updates)
    if len(us) != len(xs):
        raise ValueError(f"slice_update: updates of shape {us} for inputs of shape {xs}.")
    for d, u in zip(xs, us):
        if d is not None and u is not None and u > d:
            raise ValueError(f"slice_update: updates of shape {us} do not fit inputs of shape "
                             f"{xs}.")
    if isinstance(start_indices, (list, tuple)) and len(start_indices) != len(xs):
        raise ValueError(f"slice_update: {len(start_indices)} start indices for a tensor of "
                         f"rank {len(xs)}.")
    return KerasTensor(xs, dtype)


def scatter_shapes(name, xshape, ishape, ushape):
    if len(ishape) != 2 or (ishape[1] is not None and ishape[1] > len(xshape)):
        raise ValueError(f"{name}: indices must have shape (num_updates, k) with k <= "
                         f"{len(xshape)}, got {ishape}.")
    k = ishape[1]
    if k is not None:
        expect = (ishape[0],) + tuple(xshape[k:])
        if len(ushape) != len(expect) or builtins.any(
                a is not None and b is not None and a != b for a, b in zip(ushape, expect)):
            raise ValueError(f"{name}: updates must have shape {expect}, got {ushape}.")


@op
def scatter(indices, values, shape):
    """Zeros of `shape` with `values` added at `indices` ((N, k) integer rows; duplicates
    sum)."""
    target = int_tuple("scatter", shape)
    ishape, idtype = spec(indices)
    _check_int("scatter", idtype)
    vshape, vdtype = spec(values)
    scatter_shapes("scatter", target, ishape, vshape)
    return KerasTensor(target, vdtype)


_REDUCTIONS = (None, "add", "max", "min", "mul")


@op
def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written at `indices` ((N, k) integer rows); `reduction`
    "add", "max", "min" or "mul" combines instead of replacing."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"scatter_update: reduction must be one of {_REDUCTIONS}, got "
                         f"{reduction!r}.")
    xs, dtype = spec(inputs)
    ishape, idtype = spec(indices)
    _check_int("scatter_update", idtype)
    scatter_shapes("scatter_update", xs, ishape, spec(updates)[0])
    return KerasTensor(xs, dtype)


# --- misc ------------------------------------------------------------------------------------
@op
def select(condlist, choicelist, default=0):
    """For each element, the value of the first choice whose condition holds, else
    `default`."""
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError(f"select: needs as many conditions as choices (at least one), got "
                         f"{len(condlist)} and {len(choicelist)}.")
    shape = broadcast_shapes("select", *[spec(c)[0] for c in list(condlist) + list(choicelist)],
                             spec(default)[0])
    return KerasTensor(shape, dtypes.result_type(*[dtype_of(c) for c in choicelist],
                                                 dtype_of(default)))


def unravel_dtype(dtype):
    return dtype if dtypes.is_int(dtype) else "int32"


@op
def unravel_index(indices, shape):
    """Tuple of coordinate tensors (one per dimension of `shape`) of flat `indices`."""
    ishape, idtype = spec(indices)
    dims = int_tuple("unravel_index", shape)
    return tuple(KerasTensor(ishape, unravel_dtype(idtype)) for _ in dims)


@op
def vander(x, N=None, increasing=False):
    """Vandermonde matrix of vector `x`: columns are powers of x (decreasing by default)."""
    shape, dtype = spec(x)
    if len(shape) != 1:
        raise ValueError(f"vander: x must be 1-D, got shape {shape}.")
    n = shape[0] if N is None else operator.index(N)
    return KerasTensor((shape[0], n), dtype)


def _window(name, x):
    m = operator.index(x)
    return KerasTensor((builtins.max(m, 0),), config.floatx())


@op
def bartlett(x):
    """Bartlett (triangular) window of length `x`."""
    return _window("bartlett", x)


@op
def blackman(x):
    """Blackman window of length `x`."""
    return _window("blackman", x)


@op
def hamming(x):
    """Hamming window of length `x`."""
    return _window("hamming", x)


@op
def hanning(x):
    """Hann window of length `x`."""
    return _window("hanning", x)


@op
def kaiser(x, beta):
    """Kaiser window of length `x` and shape parameter `beta`."""
    return _window("kaiser", x)


def view_shape(name, shape, src, dst):
    s, t = _itemsize(src), _itemsize(dst)
    if s == t:
        return shape
    if not shape:
        raise ValueError(f"{name}: cannot view a scalar of {src} as {dst}.")
    last = shape[-1]
    if last is None:
        return shape[:-1] + (None,)
    if (last * s) % t:
        raise ValueError(f"{name}: the last dimension ({last} x {s} bytes) is not a multiple "
                         f"of the {t} bytes of {dst}.")
    return shape[:-1] + (last * s // t,)


@op
def view(x, dtype=None):
    """The same bytes reinterpreted as `dtype` (the last axis rescaled when sizes differ)."""
    shape, src = spec(x)
    dst = dtypes.standardize_dtype(dtype) if dtype is not None else src
    return KerasTensor(view_shape("view", shape, src, dst), dst)


@op
def view_as_real(x):
    """A complex tensor as real values with a trailing axis of 2 (real, imaginary)."""
    shape, d = spec(x)
    if d not in _REAL_OF:
        raise ValueError(f"view_as_real: needs a complex tensor, got {d}.")
    return KerasTensor(shape + (2,), _REAL_OF[d])


@op
def view_as_complex(x):
    """A real tensor whose last axis of 2 holds (real, imaginary) as complex values."""
    shape, d = spec(x)
    if d not in _COMPLEX_OF or not shape or shape[-1] not in (2, None):
        raise ValueError(f"view_as_complex: needs a float32/float64 tensor with a last axis "
                         f"of 2, got {shape} {d}.")
    return KerasTensor(shape[:-1], _COMPLEX_OF[d])


def rearrange(tensor, pattern, **axes_lengths):
    """einops-style rearrangement, e.g. 'b h w c -> b c h w', 'b h w c -> b (h w) c' or
    'b (h p) w c -> b h w (p c)' with p=2.

    Written once for every backend (and the symbolic path) as a reshape, a transpose and a
    reshape: the plan comes from the static shape."""
    from unikeras.common.ops import core, numpy as np_ops
    shape = tuple(core.shape(tensor))
    decomposed, perm, out = rearrange_plan(pattern, shape, axes_lengths)
    x = tensor
    if decomposed != shape:
        x = np_ops.reshape(x, _reshape_target("rearrange", decomposed))
    if perm != list(range(len(perm))):
        x = np_ops.transpose(x, perm)
    if tuple(decomposed[p] for p in perm) != out:
        x = np_ops.reshape(x, _reshape_target("rearrange", out))
    return x


rearrange.impl_name = None  # composed of other ops: no backend table entry


def _reshape_target(name, shape):
    if builtins.sum(1 for d in shape if d is None) > 1:
        raise ValueError(f"{name}: the target shape {shape} has more than one unknown "
                         "dimension; pass the axis lengths as keyword arguments.")
    return tuple(-1 if d is None else d for d in shape)


def num_sequences(name, n, sequence_length, sequence_stride):
    if sequence_length <= 0 or sequence_stride <= 0:
        raise ValueError(f"{name}: sequence_length and sequence_stride must be positive, got "
                         f"{sequence_length} and {sequence_stride}.")
    if n is None:
        return None
    if n < sequence_length:
        raise ValueError(f"{name}: the last axis ({n}) is shorter than sequence_length "
                         f"{sequence_length}.")
    return 1 + (n - sequence_length) // sequence_stride


@op
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` every `sequence_stride` along the last axis:
    (..., N) -> (..., num_sequences, sequence_length)."""
    shape, dtype = spec(x)
    if not shape:
        raise ValueError("extract_sequences: needs a tensor of rank >= 1.")
    n = num_sequences("extract_sequences", shape[-1], operator.index(sequence_length),
                      operator.index(sequence_stride))
    return KerasTensor(shape[:-1] + (n, sequence_length), dtype)


# --- internal ops (layers use them; not part of `unikeras.ops`) ------------------------------
def _leading_rank(name, shape, n):
    n = operator.index(n)
    if not 1 <= n <= len(shape):
        raise ValueError(f"{name}: n must be in [1, rank], got n={n} for shape {shape}.")
    return n


@op
def fold_leading(x, n):
    """`x` of shape (d0, ..., d(n-1), rest...) reshaped to (d0 * ... * d(n-1), rest...), every
    size read when the op runs (a graph keeps unknown sizes dynamic); `unfold_leading` undoes
    it."""
    shape, dtype = spec(x)
    n = _leading_rank("fold_leading", shape, n)
    return KerasTensor((_numel(shape[:n]),) + tuple(shape[n:]), dtype)


@op
def unfold_leading(x, like, n):
    """`x` of shape (d0 * ... * d(n-1), rest...) reshaped to `like.shape[:n] + x.shape[1:]`,
    the leading sizes read from `like` when the op runs.

    Undoes a fold of `like`'s first `n` axes into one (TimeDistributed folds batch and time
    around its inner layer) without static sizes, so a graph keeps those axes dynamic."""
    shape, dtype = spec(x)
    like_shape, _ = spec(like)
    n = _leading_rank("unfold_leading", like_shape, n)
    if not shape:
        raise ValueError("unfold_leading: x must have rank >= 1, got a scalar.")
    return KerasTensor(tuple(like_shape[:n]) + tuple(shape[1:]), dtype)


# Every backend implements these (they are in IMPL_NAMES); `unikeras.ops` does not export them.
INTERNAL_OPS = ("fold_leading", "unfold_leading")
OPS = ("stack unstack split array_split hsplit vsplit dsplit hstack vstack dstack append tile "
       "repeat pad flip fliplr flipud roll rot90 take take_along_axis broadcast_to moveaxis "
       "swapaxes ravel size ndim dtype diag diagflat diagonal trace tri tril triu eye identity "
       "empty empty_like full_like linspace logspace geomspace meshgrid array einsum tensordot "
       "dot inner outer vdot kron cross slice slice_update scatter scatter_update select "
       "unravel_index vander bartlett blackman hamming hanning kaiser view view_as_real "
       "view_as_complex extract_sequences").split()
# Names of the backend table functions of these ops (what each backend module exports).
IMPL_NAMES = tuple(globals()[n].impl_name for n in OPS + list(INTERNAL_OPS))
__all__ = list(OPS) + ["rearrange"]
