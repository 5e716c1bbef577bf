"""Backend implementations of the control op family: tf.cond, tf.switch_case,
tf.while_loop (with TensorArrays for scans), tf.vectorized_map, tf.custom_gradient; all
traceable inside tf.function."""
import tensorflow as tf

from unikeras.common.ops.control import (
    flatten, seq_of, generic_vectorize, map_leaves, pack_as, parallel_associative_scan)

# Every op of the family is implemented here: export the family's list.
from unikeras.common.ops.control import __all__  # noqa: E402,F401


def _t(x):
    from unikeras.adapters.tf_module.ops import convert_to_tensor
    return convert_to_tensor(x)


def _tensors(structure):
    return map_leaves(_t, structure)


def _bool(pred):
    pred = _t(pred)
    return pred if pred.dtype == tf.bool else tf.not_equal(pred, tf.zeros((), pred.dtype))


def cond(pred, true_fn, false_fn):
    if isinstance(pred, (bool, int)):
        return true_fn() if pred else false_fn()
    return tf.cond(_bool(pred), true_fn, false_fn)


def switch(index, branches, *operands):
    index = tf.clip_by_value(tf.cast(_t(index), tf.int32), 0, len(branches) - 1)
    return tf.switch_case(index, [lambda b=b: b(*operands) for b in branches])


def _restore(loop_vars, vs):
    if type(loop_vars) in (list, tuple):
        return type(loop_vars)(vs)
    return type(loop_vars)(*vs)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (list, tuple))
    loop_vars = _tensors(loop_vars)
    state = tuple(loop_vars) if is_seq else (loop_vars,)

    def c(*s):
        return _bool(cond(*s) if is_seq else cond(s[0]))

    def b(*s):
        out = body(*s) if is_seq else body(s[0])
        return _tensors(tuple(seq_of(out, len(s))) if is_seq else (out,))

    out = tf.while_loop(c, b, state, maximum_iterations=maximum_iterations)
    return _restore(loop_vars, out) if is_seq else out[0]


def fori_loop(lower, upper, body_fun, init_val):
    init_val = _tensors(init_val)
    lower = tf.cast(_t(lower), tf.int32)
    upper = tf.cast(_t(upper), tf.int32)
    _, out = tf.while_loop(
        lambda i, v: i < upper,
        lambda i, v: (i + 1, _tensors(body_fun(i, v))),
        (lower, init_val))
    return out


def _length(leaves, length):
    if not leaves:
        return tf.constant(int(length), tf.int32)
    n = leaves[0].shape[0]
    return tf.constant(n, tf.int32) if n is not None else tf.shape(leaves[0])[0]


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    init = _tensors(init)
    leaves = [_t(x) for x in flatten(xs)]
    n = _length(leaves, length)
    static_n = leaves[0].shape[0] if leaves else int(length)

    def x_at(i):
        return None if xs is None else pack_as(xs, [tf.gather(l, i) for l in leaves])

    if static_n == 0:  # no step runs: trace f once on zeros for the structure of ys
        zero = None if xs is None else pack_as(xs, [tf.zeros(tf.shape(l)[1:], l.dtype) for l in leaves])
        _, y = f(init, zero)
        return init, map_leaves(lambda t: tf.zeros((0,) + tuple(_t(t).shape), _t(t).dtype), y)
    # The first step runs outside the loop: it gives the structure and dtypes of ys.
    first = n - 1 if reverse else tf.constant(0, tf.int32)
    carry, y0 = f(init, x_at(first))
    carry = _tensors(carry)
    y_flat = [_t(y) for y in flatten(y0)]
    arrays = [tf.TensorArray(y.dtype, size=n, element_shape=y.shape).write(first, y)
              for y in y_flat]

    def body(step, carry, arrays):
        i = n - 1 - step if reverse else step
        carry, y = f(carry, x_at(i))
        arrays = [a.write(i, _t(v)) for a, v in zip(arrays, flatten(y))]
        return step + 1, _tensors(carry), arrays

    # `unroll` is a jax scheduling hint: tf.while_loop schedules its iterations itself. A
    # static bound lets XLA (jit_compile) differentiate the loop.
    _, carry, arrays = tf.while_loop(
        lambda step, c, a: step < n, body, (tf.constant(1, tf.int32), carry, arrays),
        maximum_iterations=static_n if isinstance(static_n, int) else None)
    return carry, pack_as(y0, [a.stack() for a in arrays])


def _take(x, start, stop, step):
    return x[start:stop:step]


def _interleave(a, b):
    na, nb = a.shape[0], b.shape[0]
    if na > nb:
        b = tf.concat([b, a[na - 1:]], 0)
    out = tf.reshape(tf.stack([a, b], 1), tf.concat([[-1], tf.shape(a)[1:]], 0))
    return out[:na + nb] if na > nb else out


def associative_scan(f, elems, reverse=False, axis=0):
    leaves = [_t(x) for x in flatten(elems)]
    rank = leaves[0].shape.rank
    axis = axis % rank
    perm = [axis] + [i for i in range(rank) if i != axis]
    inverse = [perm.index(i) for i in range(rank)]
    leaves = [tf.transpose(l, perm) if axis else l for l in leaves]
    if reverse:
        leaves = [tf.reverse(l, [0]) for l in leaves]

    def combine(a, b):
        # f sees slices in the caller's layout (scanned axis back in place)
        back = (lambda t: tf.transpose(t, inverse)) if axis else (lambda t: t)
        fwd = (lambda t: tf.transpose(_t(t), perm)) if axis else _t
        out = f(pack_as(elems, [back(x) for x in a]), pack_as(elems, [back(x) for x in b]))
        return [fwd(o) for o in flatten(out)]

    out = parallel_associative_scan(combine, leaves, _take, lambda a, b: tf.concat([a, b], 0),
                                    _interleave)
    if reverse:
        out = [tf.reverse(o, [0]) for o in out]
    return pack_as(elems, [tf.transpose(o, inverse) if axis else o for o in out])


def map(f, xs):
    return scan(lambda c, x: (c, f(x)), (), xs)[1]


def vectorized_map(function, elements):
    return tf.vectorized_map(function, elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    def reshape(x, shape):
        return tf.reshape(x, shape)
    return generic_vectorize(pyfunc, excluded, signature, vectorized_map,
                             lambda x, s: tf.broadcast_to(_t(x), s), reshape)


def custom_gradient(f):
    @tf.custom_gradient
    def g(*args):
        out, grad_fn = f(*args)

        def grad(*upstream, variables=None):
            grads = grad_fn(*upstream)
            grads = list(grads) if isinstance(grads, (tuple, list)) else grads
            if variables is not None:  # variables read inside f get no gradient from it
                return grads, [None] * len(variables)
            return grads
        return out, grad

    return g
