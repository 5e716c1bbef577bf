"""Control-flow ops (core namespace): cond, switch, loops, scans, maps, custom gradients.

These take Python callables, so they are not table functions with a generic symbolic
rule: each public function finds the backend from its *tensor* arguments only (the
callables play no part), then calls that backend's native construct (`jax.lax.cond`,
`tf.while_loop`, a Python loop for torch and NumPy, ...). On KerasTensors the rule runs:
it calls the user functions on KerasTensors to find the output specs.
"""
import builtins
import functools
import inspect

from unikeras.common import dtypes
from unikeras.common.ops import dispatch
from unikeras.common.ops.dispatch import SYMBOLIC
from unikeras.common.ops.shapes import spec
from unikeras.common.symbolic import KerasTensor

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "associative_scan", "map",
           "vectorized_map", "vectorize", "custom_gradient"]


# --- nested structures (lists, tuples, dicts; None is an empty structure) -------------------
def flatten(structure):
    """Leaves of `structure` (dicts by sorted key, as jax does); None has no leaves."""
    if structure is None:
        return []
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    return [structure]


def pack_as(structure, flat):
    """Inverse of `flatten`: `structure` with its leaves replaced by `flat`, in order."""
    it = iter(flat)

    def build(s):
        if s is None:
            return None
        if isinstance(s, (list, tuple)):
            items = [build(i) for i in s]
            if type(s) in (list, tuple):
                return type(s)(items)
            return type(s)(*items)  # namedtuple
        if isinstance(s, dict):
            built = {k: build(s[k]) for k in sorted(s)}
            return type(s)((k, built[k]) for k in s)
        return next(it)

    return build(structure)


def seq_of(out, n):
    """A while_loop body's result for a sequence of `n` loop vars: as a list (one bare
    value is accepted for a single loop var)."""
    if isinstance(out, (list, tuple)):
        if len(out) != n:
            raise ValueError(f"while_loop: body returned {len(out)} values for {n} loop vars.")
        return list(out)
    if n == 1:
        return [out]
    raise ValueError(f"while_loop: body returned one value for {n} loop vars.")


def map_leaves(fn, structure):
    return pack_as(structure, [fn(x) for x in flatten(structure)])


# --- dispatch on the tensor arguments -------------------------------------------------------
def _unwrap(x):
    return x.value if type(x) in dispatch._unwrap_types else x


def _control_op(*tensor_params):
    """Dispatch `rule`'s op on the backend of the tensors in `tensor_params` (nested
    structures allowed); Variables there are read first. The body is the symbolic rule."""
    def deco(rule):
        name = rule.__name__
        params = list(inspect.signature(rule).parameters.values())
        index = {p.name: i for i, p in enumerate(params)}
        var_positional = {p.name for p in params if p.kind is p.VAR_POSITIONAL}
        impls = {}

        @functools.wraps(rule)
        def call(*args, **kwargs):
            args = list(args)
            leaves = []
            for p in tensor_params:
                i = index[p]
                if p in var_positional:
                    args[i:] = [map_leaves(_unwrap, a) for a in args[i:]]
                    leaves += flatten(args[i:])
                elif i < len(args):
                    args[i] = map_leaves(_unwrap, args[i])
                    leaves += flatten(args[i])
                elif p in kwargs:
                    kwargs[p] = map_leaves(_unwrap, kwargs[p])
                    leaves += flatten(kwargs[p])
            backend = dispatch.resolve_backend(leaves, None)
            if backend == SYMBOLIC:
                from unikeras.common.symbolic import Node
                out = rule(*args, **kwargs)
                Node(call, tuple(args), kwargs, out)
                return out
            fn = impls.get(backend)
            if fn is None:
                fn = getattr(dispatch.get_table(backend), name, None)
                if fn is None:
                    from unikeras.common.ops.op import _missing
                    fn = _missing(name, backend)
                impls[backend] = fn
            if dispatch.current_backend() == backend:
                return fn(*args, **kwargs)
            # Tensor-free ops inside the user's functions (zeros, ...) run on this backend.
            with dispatch.backend_scope(backend):
                return fn(*args, **kwargs)

        call.rule = rule
        call.impl_name = name
        return call
    return deco


# --- symbolic helpers -----------------------------------------------------------------------
def _as_spec(x):
    """A KerasTensor with the shape and dtype of `x` (tensor, KerasTensor or scalar)."""
    if isinstance(x, KerasTensor):
        return KerasTensor(x.shape, x.dtype)
    if isinstance(x, (bool, int, float)):
        return KerasTensor((), dtypes.result_type(x))
    return KerasTensor(*spec(x))


def _structure(s):
    return pack_as(s, [0] * len(flatten(s)))


def _merge_specs(name, a, b):
    """One spec for two branch outputs: same structure and dtypes; differing dims -> None."""
    fa, fb = flatten(a), flatten(b)
    if _structure(a) != _structure(b):
        raise ValueError(f"{name}: the branches return different structures: {a} and {b}.")
    out = []
    for x, y in zip(fa, fb):
        sx, sy = _as_spec(x), _as_spec(y)
        if sx.dtype != sy.dtype:
            raise ValueError(f"{name}: the branches return different dtypes: {sx.dtype} and "
                             f"{sy.dtype}.")
        if len(sx.shape) != len(sy.shape):
            raise ValueError(f"{name}: the branches return different ranks: {sx.shape} and "
                             f"{sy.shape}.")
        out.append(KerasTensor(tuple(d if d == e else None for d, e in zip(sx.shape, sy.shape)),
                               sx.dtype))
    return pack_as(a, out)


def _leading(name, xs):
    dims = {x.shape[0] if getattr(x, "shape", ()) else "scalar" for x in
            (_as_spec(leaf) for leaf in flatten(xs))}
    if "scalar" in dims:
        raise ValueError(f"{name}: every leaf of xs needs a leading axis to scan over.")
    known = {d for d in dims if d is not None}
    if len(known) > 1:
        raise ValueError(f"{name}: the leaves of xs have different leading sizes {sorted(known)}.")
    return known.pop() if known else None


def _slice_spec(x):
    s = _as_spec(x)
    return KerasTensor(s.shape[1:], s.dtype)


def _stacked(y, n):
    s = _as_spec(y)
    return KerasTensor((n,) + s.shape, s.dtype)


# --- ops ------------------------------------------------------------------------------------
@_control_op("pred")
def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`, as a graph conditional where the backend
    traces (both branches must return the same structure, shapes and dtypes)."""
    return _merge_specs("cond", true_fn(), false_fn())


@_control_op("index", "operands")
def switch(index, branches, *operands):
    """`branches[index](*operands)`; `index` is clamped into `[0, len(branches) - 1]`."""
    if not branches:
        raise ValueError("switch: `branches` must hold at least one function.")
    outs = [b(*operands) for b in branches]
    out = outs[0]
    for o in outs[1:]:
        out = _merge_specs("switch", out, o)
    return out


@_control_op("loop_vars")
def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds (and fewer than
    `maximum_iterations` steps ran). A tuple/list of loop vars is unpacked into positional
    arguments; a single one is passed as is. Returns the final loop vars. On jax an
    unbounded loop (no `maximum_iterations`) is not reverse-mode differentiable (a
    lax.while_loop); a bounded one is (it runs as a scan that skips finished steps)."""
    return map_leaves(_as_spec, loop_vars)


@_control_op("lower", "upper", "init_val")
def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for `i` in `range(lower, upper)`; returns the final `val`."""
    return map_leaves(_as_spec, init_val)


@_control_op("init", "xs")
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """`carry, y = f(carry, x)` over the leading axis of `xs` (or `length` steps when xs is
    None); returns `(final carry, ys stacked along a new leading axis)`, as `jax.lax.scan`."""
    if xs is None and length is None:
        raise ValueError("scan: pass `xs` or `length`.")
    n = _leading("scan", xs) if xs is not None else None
    if n is None:
        n = length
    elif length is not None and length != n:
        raise ValueError(f"scan: length={length} differs from the leading size {n} of xs.")
    x = None if xs is None else map_leaves(_slice_spec, xs)
    carry_spec = map_leaves(_as_spec, init)
    new_carry, y = f(carry_spec, x)
    _merge_specs("scan", carry_spec, new_carry)
    return carry_spec, map_leaves(lambda t: _stacked(t, n), y)


@_control_op("elems")
def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of the associative `f` along `axis` of every leaf of `elems`, in
    O(log n) parallel steps: out[i] = f(...f(f(e[0], e[1]), e[2])..., e[i])."""
    specs = map_leaves(_as_spec, elems)
    leaves = flatten(specs)
    if not leaves:
        raise ValueError("associative_scan: `elems` has no tensors.")
    rank = len(leaves[0].shape)
    if not -rank <= axis < builtins.max(rank, 1) or rank == 0:
        raise ValueError(f"associative_scan: axis {axis} is out of bounds for rank {rank}.")
    out = f(specs, specs)
    return map_leaves(lambda t: KerasTensor(_as_spec(t).shape, _as_spec(t).dtype), out)


@_control_op("xs")
def map(f, xs):
    """`f` applied to each slice of `xs` along its leading axis, results stacked."""
    n = _leading("map", xs)
    y = f(map_leaves(_slice_spec, xs))
    return map_leaves(lambda t: _stacked(t, n), y)


@_control_op("elements")
def vectorized_map(function, elements):
    """`function` over the leading axis of `elements`, vectorized (vmap) where the backend
    can; same result as `map`."""
    n = _leading("vectorized_map", elements)
    y = function(map_leaves(_slice_spec, elements))
    return map_leaves(lambda t: _stacked(t, n), y)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` made to broadcast like a NumPy ufunc (or generalized ufunc with
    `signature`, e.g. "(n),(n)->()"), vectorized with each backend's vmap."""
    excluded = set(excluded or ())

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        tensors = [a for i, a in enumerate(args) if i not in excluded]
        tensors += [v for k, v in kwargs.items() if k not in excluded]
        leaves = flatten([map_leaves(_unwrap, t) for t in tensors])
        args = [a if i in excluded else map_leaves(_unwrap, a) for i, a in enumerate(args)]
        backend = dispatch.resolve_backend(leaves, None)
        if backend == SYMBOLIC:
            raise ValueError("vectorize: calling a vectorized function on KerasTensors is not "
                             "supported; call it inside a layer's call().")
        impl = getattr(dispatch.get_table(backend), "vectorize", None)
        if impl is None:
            from unikeras.common.ops.op import _missing
            impl = _missing("vectorize", backend)
        with dispatch.backend_scope(backend):
            return impl(pyfunc, excluded=excluded, signature=signature)(*args, **kwargs)

    return wrapped


vectorize.impl_name = "vectorize"


def custom_gradient(f):
    """Decorator: `f(*args)` returns `(output, grad_fn)`; the gradient of the output with
    respect to `args` is `grad_fn(upstream)` (one gradient or a tuple, one per argument)
    instead of the derivative of `f`'s computation."""
    impls = {}

    @functools.wraps(f)
    def wrapped(*args):
        args = tuple(map_leaves(_unwrap, a) for a in args)
        backend = dispatch.resolve_backend(flatten(list(args)), None)
        if backend == SYMBOLIC:
            return f(*args)[0]
        fn = impls.get(backend)
        if fn is None:
            make = getattr(dispatch.get_table(backend), "custom_gradient", None)
            if make is None:
                from unikeras.common.ops.op import _missing
                return _missing("custom_gradient", backend)()
            fn = impls[backend] = make(f)
        with dispatch.backend_scope(backend):
            return fn(*args)

    return wrapped


custom_gradient.impl_name = "custom_gradient"


# --- helpers the backends without a native primitive build on -------------------------------
def parallel_associative_scan(combine, leaves, take, cat, interleave):
    """Inclusive scan along axis 0 of the flat list `leaves` in O(log n) steps of the
    associative `combine(a_leaves, b_leaves) -> leaves` (the odd/even recursion of
    Blelloch's algorithm). `take(x, start, stop, step)`, `cat(a, b)` and `interleave(a, b)`
    (a[0], b[0], a[1], ...; len(a) is len(b) or len(b) + 1) are the backend's slicing."""
    n = leaves[0].shape[0]
    if n is None:
        raise ValueError("associative_scan: the scanned axis must have a static size.")
    if n < 2:
        return leaves
    reduced = combine([take(e, 0, n - 1, 2) for e in leaves], [take(e, 1, n, 2) for e in leaves])
    odd = parallel_associative_scan(combine, reduced, take, cat, interleave)
    m = odd[0].shape[0]
    if n % 2 == 0:
        even = combine([take(o, 0, m - 1, 1) for o in odd], [take(e, 2, n, 2) for e in leaves])
    else:
        even = combine(odd, [take(e, 2, n, 2) for e in leaves])
    even = [cat(take(e, 0, 1, 1), r) for e, r in zip(leaves, even)]
    return [interleave(a, b) for a, b in zip(even, odd)]


def parse_signature(signature):
    """'(m,n),(n)->(m)' -> ([('m', 'n'), ('n',)], [('m',)])."""
    import re
    try:
        ins, outs = signature.replace(" ", "").split("->")
        parse = lambda side: [tuple(d for d in g.split(",") if d) for g in re.findall(r"\(([^)]*)\)", side)]  # noqa: E731
        return parse(ins), parse(outs)
    except ValueError:
        raise ValueError(f"vectorize: invalid signature {signature!r}.") from None


def generic_vectorize(pyfunc, excluded, signature, vmap, broadcast_to, reshape):
    """`pyfunc` vectorized with the backend's `vmap` over the broadcast loop dimensions
    (all but the core dimensions named in `signature`), flattened into one axis."""
    excluded = set(excluded or ())
    in_core, out_core = parse_signature(signature) if signature else (None, None)

    def wrapped(*args, **kwargs):   # keyword arguments are passed through, not vectorized
        pos = [i for i in range(len(args)) if i not in excluded]
        core = in_core or [()] * len(pos)
        if len(core) != len(pos):
            raise ValueError(f"vectorize: signature {signature!r} names {len(core)} inputs, "
                             f"got {len(pos)}.")
        shapes = [tuple(args[i].shape) for i in pos]
        sizes = {}
        for s, c in zip(shapes, core):
            if len(s) < len(c):
                raise ValueError(f"vectorize: input of shape {s} has fewer dimensions than its "
                                 f"core dimensions {c}.")
            for name, d in zip(c, s[len(s) - len(c):]):
                if sizes.setdefault(name, d) != d:
                    raise ValueError(f"vectorize: core dimension {name!r} has sizes "
                                     f"{sizes[name]} and {d}.")
        from unikeras.common.ops.shapes import broadcast_shapes
        batch = broadcast_shapes("vectorize", *[s[:len(s) - len(c)] for s, c in zip(shapes, core)])

        def call(flat):
            full = list(args)
            for i, v in zip(pos, flat):
                full[i] = v
            return pyfunc(*full, **kwargs)

        if not batch:
            return call([args[i] for i in pos])
        flat = []
        for i, s, c in zip(pos, shapes, core):
            core_shape = s[len(s) - len(c):]
            flat.append(reshape(broadcast_to(args[i], batch + core_shape), (-1,) + core_shape))
        out = vmap(lambda xs: call(list(xs)), tuple(flat))
        return map_leaves(lambda y: reshape(y, batch + tuple(y.shape[1:])), out)

    return wrapped
