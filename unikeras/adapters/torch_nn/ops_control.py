"""Backend implementations of the control op family for torch: eager Python control flow
(torch runs eagerly), torch.func.vmap, torch.autograd.Function for custom gradients."""
import builtins

import torch

from unikeras.common.ops.control import (
    flatten, seq_of, generic_vectorize, map_leaves, pack_as, parallel_associative_scan)

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.control import __all__  # noqa: E402,F401


def _t(x):
    from unikeras.adapters.torch_nn.ops import convert_to_tensor
    return convert_to_tensor(x)


def _truth(x):
    return bool(x.item()) if isinstance(x, torch.Tensor) else bool(x)


def cond(pred, true_fn, false_fn):
    return true_fn() if _truth(pred) else false_fn()


def switch(index, branches, *operands):
    i = int(index.item()) if isinstance(index, torch.Tensor) else int(index)
    return branches[builtins.min(builtins.max(i, 0), len(branches) - 1)](*operands)


def _restore(loop_vars, out):
    if type(loop_vars) in (list, tuple):
        return type(loop_vars)(out)
    return type(loop_vars)(*out)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (list, tuple))
    loop_vars = map_leaves(_t, loop_vars)   # Python numbers become tensors, as on jax and tf
    steps = 0
    while maximum_iterations is None or steps < maximum_iterations:
        if not _truth(cond(*loop_vars) if is_seq else cond(loop_vars)):
            break
        out = body(*loop_vars) if is_seq else body(loop_vars)
        loop_vars = _restore(loop_vars, seq_of(out, len(loop_vars))) if is_seq else out
        steps += 1
    return loop_vars


def fori_loop(lower, upper, body_fun, init_val):
    lo = int(lower.item()) if isinstance(lower, torch.Tensor) else int(lower)
    hi = int(upper.item()) if isinstance(upper, torch.Tensor) else int(upper)
    val = init_val
    for i in range(lo, hi):
        val = body_fun(torch.tensor(i, dtype=torch.int32), val)
    return val


def _stack(ys):
    flat = [flatten(y) for y in ys]
    return pack_as(ys[0], [torch.stack([_t(f[j]) for f in flat]) for j in range(len(flat[0]))])


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    leaves = [_t(x) for x in flatten(xs)]
    n = leaves[0].shape[0] if leaves else int(length)
    if n == 0:
        zero = None if xs is None else pack_as(xs, [l.new_zeros(l.shape[1:]) for l in leaves])
        _, y = f(init, zero)
        return init, map_leaves(lambda t: _t(t).new_zeros((0,) + tuple(_t(t).shape)), y)
    carry, ys = init, []
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        carry, y = f(carry, None if xs is None else pack_as(xs, [l[i] for l in leaves]))
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, _stack(ys)


def _interleave(a, b):
    na, nb = a.shape[0], b.shape[0]
    if na > nb:
        b = torch.cat([b, a[na - 1:]], 0)
    out = torch.stack([a, b], 1).flatten(0, 1)
    return out[:na + nb] if na > nb else out


def associative_scan(f, elems, reverse=False, axis=0):
    leaves = [torch.movedim(_t(x), axis, 0) for x in flatten(elems)]
    if reverse:
        leaves = [torch.flip(l, [0]) for l in leaves]

    def combine(a, b):
        out = f(pack_as(elems, [torch.movedim(x, 0, axis) for x in a]),
                pack_as(elems, [torch.movedim(x, 0, axis) for x in b]))
        return [torch.movedim(_t(o), axis, 0) for o in flatten(out)]

    out = parallel_associative_scan(combine, leaves, lambda x, a, b, s: x[a:b:s],
                                    lambda a, b: torch.cat([a, b], 0), _interleave)
    if reverse:
        out = [torch.flip(o, [0]) for o in out]
    return pack_as(elems, [torch.movedim(o, 0, axis) for o in out])


def map(f, xs):
    leaves = [_t(x) for x in flatten(xs)]
    n = leaves[0].shape[0]
    if n == 0:
        y = f(pack_as(xs, [l.new_zeros(l.shape[1:]) for l in leaves]))
        return map_leaves(lambda t: _t(t).new_zeros((0,) + tuple(_t(t).shape)), y)
    return _stack([f(pack_as(xs, [l[i] for l in leaves])) for i in range(n)])


def vectorized_map(function, elements):
    return torch.vmap(function)(elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    return generic_vectorize(pyfunc, excluded, signature, vectorized_map,
                             lambda x, s: torch.broadcast_to(_t(x), s),
                             lambda x, s: torch.reshape(x, s))


def custom_gradient(f):
    class _Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            out, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            ctx.tensor_args = [isinstance(a, torch.Tensor) for a in args]
            return out

        @staticmethod
        def backward(ctx, *upstream):
            grads = ctx.grad_fn(*upstream)
            grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
            grads += [None] * (len(ctx.tensor_args) - len(grads))
            return tuple(g if is_t else None for g, is_t in zip(grads, ctx.tensor_args))

    def g(*args):
        return _Fn.apply(*args)

    return g
