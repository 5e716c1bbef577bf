"""Backend implementations of the control op family: the plain-Python-loop reference."""
import builtins

import numpy as np

from unikeras.common.ops.control import flatten, map_leaves, pack_as, seq_of

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.control import __all__  # noqa: E402,F401


def _arr(x):
    return x if isinstance(x, np.ndarray) else np.asarray(x)


def _tensor(x):
    """`x` as convert_to_tensor makes it (Python int -> int32, float -> floatx)."""
    from unikeras.adapters.numpy_ref.ops import convert_to_tensor
    return convert_to_tensor(x)


def cond(pred, true_fn, false_fn):
    return true_fn() if bool(np.asarray(pred)) else false_fn()


def switch(index, branches, *operands):
    i = builtins.min(builtins.max(int(np.asarray(index)), 0), len(branches) - 1)
    return branches[i](*operands)


def _call(fn, loop_vars, is_seq):
    return fn(*loop_vars) if is_seq else fn(loop_vars)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (list, tuple))
    loop_vars = map_leaves(_tensor, loop_vars)   # Python numbers become arrays, as on jax and tf
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and \
            bool(np.asarray(_call(cond, loop_vars, is_seq))):
        out = _call(body, loop_vars, is_seq)
        if is_seq:
            out = seq_of(out, len(loop_vars))
            loop_vars = type(loop_vars)(out) if type(loop_vars) in (list, tuple) else type(loop_vars)(*out)
        else:
            loop_vars = out
        steps += 1
    return loop_vars


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(np.asarray(lower)), int(np.asarray(upper))):
        val = body_fun(np.asarray(i, "int32"), val)
    return val


def _stack(ys_per_step, y_example):
    if not ys_per_step:
        return map_leaves(lambda t: np.zeros((0,) + np.shape(t), _arr(t).dtype), y_example)
    flat = [flatten(y) for y in ys_per_step]
    return pack_as(ys_per_step[0], [np.stack([_arr(f[j]) for f in flat])
                                    for j in range(len(flat[0]))])


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    leaves = [_arr(x) for x in flatten(xs)]
    n = leaves[0].shape[0] if leaves else int(length)
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        x = None if xs is None else pack_as(xs, [leaf[i] for leaf in leaves])
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if n == 0:
        x = None if xs is None else pack_as(xs, [np.zeros(l.shape[1:], l.dtype) for l in leaves])
        _, y = f(init, x)
        return init, _stack([], y)
    return carry, _stack(ys, None)


def associative_scan(f, elems, reverse=False, axis=0):
    leaves = [np.moveaxis(_arr(x), axis, 0) for x in flatten(elems)]
    if reverse:
        leaves = [l[::-1] for l in leaves]
    n = leaves[0].shape[0]
    outs = []
    acc = None
    for i in range(n):
        cur = pack_as(elems, [l[i] for l in leaves])
        acc = cur if acc is None else f(acc, cur)
        outs.append([_arr(a) for a in flatten(acc)])
    if not n:   # an empty axis scans to an empty result
        return elems
    stacked = [np.stack([o[j] for o in outs]) for j in range(len(leaves))]
    if reverse:
        stacked = [s[::-1] for s in stacked]
    return pack_as(elems, [np.moveaxis(s, 0, axis) for s in stacked])


def map(f, xs):
    leaves = [_arr(x) for x in flatten(xs)]
    ys = [f(pack_as(xs, [l[i] for l in leaves])) for i in range(leaves[0].shape[0])]
    if not ys:
        return _stack([], f(pack_as(xs, [np.zeros(l.shape[1:], l.dtype) for l in leaves])))
    return _stack(ys, None)


def vectorized_map(function, elements):
    return map(function, elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    return np.vectorize(pyfunc, excluded=excluded, signature=signature)


def custom_gradient(f):
    def forward(*args):
        return f(*args)[0]
    return forward
