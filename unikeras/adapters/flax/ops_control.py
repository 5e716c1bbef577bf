"""Backend implementations of the control op family: jax.lax control flow, jax.vmap,
jax.custom_gradient (all traceable under jax.jit)."""
import jax
import jax.numpy as jnp
from jax import lax

from unikeras.common.ops.control import flatten, map_leaves, pack_as, seq_of

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.control import __all__  # noqa: E402,F401


def _arrays(structure):
    """Leaves that are Python scalars or NumPy arrays as jax arrays (loop carries must be)."""
    from unikeras.adapters.flax.ops import convert_to_tensor
    return map_leaves(convert_to_tensor, structure)


def cond(pred, true_fn, false_fn):
    return lax.cond(pred, true_fn, false_fn)


def switch(index, branches, *operands):
    return lax.switch(index, list(branches), *operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (list, tuple))
    loop_vars = _arrays(loop_vars)
    state = tuple(loop_vars) if is_seq else (loop_vars,)

    def restore(vs):
        return (type(loop_vars)(vs) if type(loop_vars) in (list, tuple) else pack_as(loop_vars, flatten(vs))) \
            if is_seq else vs[0]

    def call(fn, vs):
        return fn(*vs) if is_seq else fn(vs[0])

    def as_state(out):
        return tuple(seq_of(out, len(state))) if is_seq else (out,)

    if maximum_iterations is None:
        out = lax.while_loop(lambda s: call(cond, s), lambda s: as_state(call(body, s)), state)
        return restore(out)
    # A bounded loop is a scan whose steps after the stop are skipped: unlike
    # lax.while_loop it is reverse-mode differentiable.
    def step(carry, _):
        s, stopped = carry
        stop = jnp.logical_or(stopped, jnp.logical_not(call(cond, s)))
        s = lax.cond(stop, lambda s: s, lambda s: as_state(call(body, s)), s)
        return (s, stop), None

    (out, _), _ = lax.scan(step, (state, jnp.asarray(False)), None, length=int(maximum_iterations))
    return restore(out)


def fori_loop(lower, upper, body_fun, init_val):
    return lax.fori_loop(lower, upper, body_fun, _arrays(init_val))


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    return lax.scan(f, _arrays(init), xs, length=length, reverse=reverse, unroll=unroll)


def associative_scan(f, elems, reverse=False, axis=0):
    return lax.associative_scan(f, elems, reverse=reverse, axis=axis)


def map(f, xs):
    return lax.map(f, xs)


def vectorized_map(function, elements):
    return jax.vmap(function)(elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    return jnp.vectorize(pyfunc, excluded=excluded or frozenset(), signature=signature)


def custom_gradient(f):
    def g(*args):
        out, grad_fn = f(*args)

        def vjp(upstream):
            grads = grad_fn(*upstream) if isinstance(out, tuple) else grad_fn(upstream)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        return out, vjp

    return jax.custom_gradient(g)
