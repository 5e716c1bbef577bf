"""Backend implementations of the control op family for OpenVINO: graph conditionals (`If`)
and loops (`Loop`) whose bodies are built by calling the user's functions on the body's
Parameter Outputs (our ops build the body graph, like a tracer).

A body may use any value of the enclosing graph (closures): the edges from it into the body
become invariant inputs of the If/Loop node (a body Parameter bound to the outer value).
A Loop body keeps only the nodes that depend on its own Parameters (the others run once,
outside); an If branch keeps every node its function made, so that only the branch taken
runs. Python values that decide the structure (a Python bool predicate, a Python switch
index) are evaluated in Python.
"""
import builtins

import numpy as np
import openvino as ov
from unikeras.adapters.openvino import opset as ovo

from unikeras.adapters.openvino.ops import (
    _cast, _constant, _i64, _is_graph, _shape, as_output, convert_to_tensor, dtype_name,
    get_item)
from unikeras.common.ops.control import (
    flatten, generic_vectorize, map_leaves, pack_as, parallel_associative_scan, seq_of)

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "associative_scan", "map",
           "vectorized_map", "vectorize", "custom_gradient"]


# --- tracing bodies --------------------------------------------------------------------------
def _out(x):
    # Python scalars take their unikeras dtype (int -> int32, float -> floatx), as elsewhere
    return as_output(x) if _is_graph(x) else convert_to_tensor(x)


def _mark():
    """An instance id that every node created from now on exceeds (ids are a counter)."""
    return ovo.constant(np.int8(0)).get_instance_id()


def _param(element_type, partial_shape):
    return ovo.parameter(partial_shape, element_type)


def _close(params, outputs, start, keep_new=False):
    """Make the graph from `params` to `outputs` (Outputs) a self-contained body.

    Nodes that depend on no body Parameter stay outside, unless `keep_new` keeps every
    node made since `start` inside (nodes made before `start` are always outside); each
    edge from an outside node into the body is cut and fed by a new body Parameter.
    Returns (result nodes, the new Parameters, the outer Outputs they stand for)."""
    param_ids = {p.get_instance_id() for p in params}
    depends = {}

    def dep(node):
        # iterative DFS: bodies may be deep chains
        key = node.get_instance_id()
        if key in depends:
            return depends[key]
        stack = [node]
        while stack:
            n = stack[-1]
            k = n.get_instance_id()
            if k in depends:
                stack.pop()
                continue
            if k < start or n.get_type_name() == "Constant":
                depends[k] = k in param_ids
                stack.pop()
                continue
            if k in param_ids or keep_new:
                depends[k] = True
                stack.pop()
                continue
            pending = [v.get_node() for v in n.input_values()
                       if v.get_node().get_instance_id() not in depends]
            if pending:
                stack.extend(pending)
                continue
            depends[k] = builtins.any(depends[v.get_node().get_instance_id()]
                                      for v in n.input_values())
            stack.pop()
        return depends[key]

    new_params, outer, cut = [], [], {}

    def stand_in(src):
        """A body-side Output standing for the outer Output `src`."""
        node = src.get_node()
        if node.get_type_name() == "Constant":
            return src  # constants may be shared: compile_model clones the graph
        key = (node.get_instance_id(), src.get_index())
        if key not in cut:
            p = _param(src.get_element_type(), src.get_partial_shape())
            new_params.append(p)
            outer.append(src)
            cut[key] = p.output(0)
        return cut[key]

    seen = set()
    stack = [o.get_node() for o in outputs if dep(o.get_node())]
    while stack:
        n = stack.pop()
        k = n.get_instance_id()
        if k in seen or k in param_ids:
            continue
        seen.add(k)
        for i, v in enumerate(n.input_values()):
            if dep(v.get_node()):
                stack.append(v.get_node())
            else:
                n.input(i).replace_source_output(stand_in(v))
    results = [ovo.result(o if dep(o.get_node()) else stand_in(o)) for o in outputs]
    return results, new_params, outer


def _graph_leaves(name, structure):
    """Leaves of `structure` as Outputs (Python scalars and arrays become constants)."""
    leaves = flatten(structure)
    for x in leaves:
        if not (_is_graph(x) or isinstance(x, (bool, int, float, np.ndarray, np.generic))):
            raise TypeError(f"{name}: expected tensors, got {type(x).__name__}.")
    return [_out(x) for x in leaves]


def _same_structure(name, what, a, b):
    sa, sb = pack_as(a, ["*"] * len(flatten(a))), pack_as(b, ["*"] * len(flatten(b)))
    if sa != sb:
        raise ValueError(f"{name}: {what} must keep the structure {sa}, got {sb}.")


def _relaxed(name, p_shape, r_shape):
    """The partial shape covering both (dims that differ become dynamic)."""
    if p_shape.rank.is_dynamic or r_shape.rank.is_dynamic or len(p_shape) != len(r_shape):
        raise ValueError(f"{name}: a loop variable changed rank in the body: {p_shape} -> "
                         f"{r_shape}.")
    keep = [a.is_dynamic or (b.is_static and a.get_length() == b.get_length())
            for a, b in zip(p_shape, r_shape)]
    if builtins.all(keep):
        return p_shape, False
    return ov.PartialShape([a if k else ov.Dimension() for a, k in zip(p_shape, keep)]), True


def _scalar_bool(x, name="cond"):
    o = _out(x)
    shape = _shape(o)
    if builtins.any(d is not None and d != 1 for d in shape):
        raise ValueError(f"{name}: the predicate must be a scalar (one element), got shape {shape}.")
    if dtype_name(o) != "bool":
        o = ovo.not_equal(o, _constant(0, dtype_name(o))).output(0)
    if _shape(o) != ():
        o = ovo.reshape(o, _i64([]), False).output(0)
    return o


def _static_value(x):
    """The Python value of `x` when it is known while building (Python/NumPy or Constant)."""
    if _is_graph(x):
        node = _out(x).get_node()
        if node.get_type_name() == "Constant" and hasattr(node, "get_data"):
            return np.asarray(node.get_data())
        return None
    return np.asarray(x)


# --- cond / switch ---------------------------------------------------------------------------
def _if(name, pred, true_fn, false_fn):
    """An If node over `pred` (a boolean scalar Output); the branches are traced."""
    branches = []
    for fn in (true_fn, false_fn):
        start = _mark()
        out = fn()
        leaves = _graph_leaves(name, out)
        results, params, outer = _close([], leaves, start, keep_new=True)
        branches.append((out, leaves, results, params, outer))
    (t_out, t_leaves, t_res, t_par, t_outer), (f_out, f_leaves, f_res, f_par, f_outer) = branches
    _same_structure(name, "both branches", t_out, f_out)
    for a, b in zip(t_leaves, f_leaves):
        if a.get_element_type() != b.get_element_type():
            raise ValueError(f"{name}: the branches return different dtypes: {dtype_name(a)} and "
                             f"{dtype_name(b)}.")
        if a.get_partial_shape().rank.get_length() != b.get_partial_shape().rank.get_length():
            raise ValueError(f"{name}: the branches return different ranks: "
                             f"{a.get_partial_shape()} and {b.get_partial_shape()}.")
    node = ovo.if_op(pred)
    # Each outer value becomes one input of the If node, feeding a Parameter of each body
    # (an unused one in a branch that does not read it).
    inputs = {}
    for side, (outer, params) in enumerate(((t_outer, t_par), (f_outer, f_par))):
        for v, p in zip(outer, params):
            key = (v.get_node().get_instance_id(), v.get_index())
            inputs.setdefault(key, [v, None, None])[1 + side] = p
    for entry in inputs.values():
        for side in (1, 2):
            if entry[side] is None:
                entry[side] = _param(entry[0].get_element_type(), entry[0].get_partial_shape())
    node.set_then_body(ov.Model(t_res, [e[1] for e in inputs.values()], f"{name}_then"))
    node.set_else_body(ov.Model(f_res, [e[2] for e in inputs.values()], f"{name}_else"))
    for v, tp, fp in inputs.values():
        node.set_input(v, tp, fp)
    outs = [node.set_output(a, b) for a, b in zip(t_res, f_res)]
    return pack_as(t_out, outs)


def cond(pred, true_fn, false_fn):
    value = _static_value(pred)
    if value is not None:
        return true_fn() if bool(value) else false_fn()
    return _if("cond", _scalar_bool(pred), true_fn, false_fn)


def switch(index, branches, *operands):
    if not branches:
        raise ValueError("switch: `branches` must hold at least one function.")
    last = len(branches) - 1
    value = _static_value(index)
    if value is not None:
        i = builtins.min(builtins.max(int(value), 0), last)
        return branches[i](*operands)
    idx = _cast(_out(index), "int32")
    if _shape(idx) != ():
        idx = ovo.reshape(idx, _i64([]), False).output(0)

    def pick(k):  # branches[k] when index <= k (clamped below), else the later ones
        if k == last:
            return branches[k](*operands)
        return _if("switch", ovo.less_equal(idx, _constant(k, "int32")).output(0),
                   lambda: branches[k](*operands), lambda: pick(k + 1))

    return pick(0)


# --- loops -----------------------------------------------------------------------------------
def _loop(name, trip_count, init_cond, carry, step, sliced=(), reverse=False, current_iter=False):
    """A Loop node.

    carry: Outputs of the merged loop variables. sliced: Outputs sliced along axis 0 (one
    slice per iteration, reversed when `reverse`). `step(carry_vals, slice_vals, iteration)`
    returns (new carry Outputs, per-step Outputs to concatenate along axis 0 (each with a
    leading 1), the continue condition Output or None). Returns (final carry Outputs,
    concatenated Outputs). Carry shapes that the body changes are relaxed to dynamic dims
    and the body traced again.
    """
    shapes = [c.get_partial_shape() for c in carry]
    while True:  # each pass makes at least one more dimension dynamic, or is the last
        start = _mark()
        c_params = [_param(c.get_element_type(), s) for c, s in zip(carry, shapes)]
        s_params = []
        for x in sliced:
            ps = x.get_partial_shape()
            s_params.append(_param(x.get_element_type(), ov.PartialShape([1] + list(ps)[1:])))
        it_param = _param(ov.Type.i64, ov.PartialShape([])) if current_iter else None
        new_carry, per_step, keep_going = step(
            [p.output(0) for p in c_params], [p.output(0) for p in s_params],
            it_param.output(0) if current_iter else None)
        new_carry = [_out(v) for v in new_carry]
        for c, v in zip(carry, new_carry):
            if v.get_element_type() != c.get_element_type():
                raise ValueError(f"{name}: a loop variable changed dtype from {dtype_name(c)} to "
                                 f"{dtype_name(v)} in the body.")
        relaxed = [_relaxed(name, s, v.get_partial_shape()) for s, v in zip(shapes, new_carry)]
        if builtins.any(changed for _, changed in relaxed):
            shapes = [s for s, _ in relaxed]
            continue
        break
    keep_going = _constant(True, "bool") if keep_going is None else _scalar_bool(keep_going, name)
    own = c_params + s_params + ([it_param] if current_iter else [])
    outputs = [keep_going] + new_carry + [_out(y) for y in per_step]
    results, inv_params, outer = _close(own, outputs, start)
    body = ov.Model(results, own + inv_params, f"{name}_body")
    node = ovo.loop(trip_count, init_cond)
    node.set_function(body)
    it_index = len(c_params) + len(s_params) if current_iter else -1
    node.set_special_body_ports([it_index, 0])
    c_results = results[1:1 + len(new_carry)]
    y_results = results[1 + len(new_carry):]
    for p, c, r in zip(c_params, carry, c_results):
        node.set_merged_input(p, c, r.output(0))
    for p, x in zip(s_params, sliced):
        if reverse:
            node.set_sliced_input(p, x, -1, -1, 1, 0, 0)
        else:
            node.set_sliced_input(p, x, 0, 1, 1, -1, 0)
    for p, v in zip(inv_params, outer):
        node.set_invariant_input(p, v)
    finals = [node.get_iter_value(r.output(0), -1) for r in c_results]
    stacked = [node.get_concatenated_slices(r.output(0), 0, 1, 1, -1, 0) for r in y_results]
    return finals, stacked


def _trip_count(x):
    o = _cast(_out(x), "int64")
    return o if _shape(o) == () else ovo.reshape(o, _i64([]), False).output(0)


def _restore(loop_vars, vs):
    if type(loop_vars) in (list, tuple):
        return type(loop_vars)(vs)
    return type(loop_vars)(*vs)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_seq = isinstance(loop_vars, (list, tuple))
    init = _graph_leaves("while_loop", loop_vars)
    loop_vars = pack_as(loop_vars, init)

    def call(fn, vs):
        return fn(*vs) if is_seq else fn(vs)

    def step(c, _s, _i):
        vs = pack_as(loop_vars, c)
        out = call(body, vs)
        if is_seq:
            out = _restore(loop_vars, seq_of(out, len(loop_vars)))
        _same_structure("while_loop", "the body", loop_vars, out)
        new = _graph_leaves("while_loop", out)
        return new, [], call(cond, pack_as(loop_vars, new))

    first = _scalar_bool(call(cond, loop_vars), "while_loop")
    if maximum_iterations is None:
        trip = _constant(-1, "int64")
    elif _is_graph(maximum_iterations):
        trip = _trip_count(maximum_iterations)
    else:
        trip = _constant(int(maximum_iterations), "int64")
    finals, _ = _loop("while_loop", trip, first, init, step)
    return pack_as(loop_vars, finals)


def fori_loop(lower, upper, body_fun, init_val):
    init = _graph_leaves("fori_loop", init_val)
    init_val = pack_as(init_val, init)
    lo, hi = _static_value(lower), _static_value(upper)
    if lo is not None and hi is not None:
        lo, hi = int(lo), int(hi)
        if hi <= lo:
            return init_val
        trip = _constant(hi - lo, "int64")
        first_i = _constant(lo, "int32")
    else:
        first_i = _cast(_out(lower), "int32")
        trip = ovo.maximum(ovo.subtract(_trip_count(upper), _trip_count(lower)),
                           _constant(0, "int64")).output(0)
    first_i = first_i if _shape(first_i) == () else ovo.reshape(first_i, _i64([]), False).output(0)

    def step(c, _s, _i):
        i, val = c[0], pack_as(init_val, c[1:])
        out = body_fun(i, val)
        _same_structure("fori_loop", "body_fun", init_val, out)
        return [ovo.add(i, _constant(1, "int32")).output(0)] + \
            _graph_leaves("fori_loop", out), [], None

    finals, _ = _loop("fori_loop", trip, _constant(True, "bool"), [first_i] + init, step)
    return pack_as(init_val, finals[1:])


def _flip0(o):
    return get_item(o, slice(None, None, -1))


def _stack_shape(n, y):
    """int64 shape [n, *shape(y)] as an Output."""
    return ovo.concat([_i64([n]) if isinstance(n, int) else ovo.reshape(n, _i64([1]), False),
                       ovo.shape_of(y, "i64")], 0).output(0)


def _empty_like_stacked(y):
    return ovo.broadcast(_constant(0, dtype_name(y)), _stack_shape(0, y)).output(0)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    # `unroll` is a scheduling hint (jax): the OpenVINO plugin schedules the Loop itself.
    carry0 = _graph_leaves("scan", init)
    init = pack_as(init, carry0)
    leaves = _graph_leaves("scan", xs) if xs is not None else []
    if xs is not None:
        xs = pack_as(xs, leaves)
        for x in leaves:
            if not _shape(x):
                raise ValueError("scan: every leaf of xs needs a leading axis to scan over.")
        known = {_shape(x)[0] for x in leaves} - {None}
        if len(known) > 1:
            raise ValueError(f"scan: the leaves of xs have different leading sizes {sorted(known)}.")
        n = known.pop() if known else None
        if n is not None and length is not None and int(length) != n:
            raise ValueError(f"scan: length={length} differs from the leading size {n} of xs.")
    elif length is None:
        raise ValueError("scan: pass `xs` or `length`.")
    else:
        n = int(length)

    def zero_slices():
        return None if xs is None else pack_as(xs, [
            ovo.broadcast(_constant(0, dtype_name(x)),
                          get_item(ovo.shape_of(x, "i64").output(0), slice(1, None))).output(0)
            for x in leaves])

    if n == 0:  # no step runs: f on zeros gives the structure and shapes of ys
        _, y = f(init, zero_slices())
        return init, map_leaves(lambda t: _empty_like_stacked(_out(t)), y)

    y_struct = []

    def step(c, s, _i):
        x = None if xs is None else pack_as(xs, [
            ovo.squeeze(p, _i64([0])).output(0) for p in s])
        new_carry, y = f(pack_as(init, c), x)
        _same_structure("scan", "the carry", init, new_carry)
        y_struct[:] = [y]
        ys = [ovo.unsqueeze(v, _i64([0])).output(0) for v in _graph_leaves("scan", y)]
        return _graph_leaves("scan", new_carry), ys, None

    trip = _constant(n, "int64") if n is not None else \
        ovo.gather(ovo.shape_of(leaves[0], "i64"), _i64(0), _i64(0)).output(0)
    finals, stacked = _loop("scan", trip, _constant(True, "bool"), carry0, step, leaves, reverse)
    if reverse:
        stacked = [_flip0(s) for s in stacked]
    if n is None:
        # OpenVINO's CPU Loop leaves concatenated outputs undefined after zero iterations:
        # with an empty sequence, ys are built from f's output shapes instead.
        def empty():
            _, y = f(init, zero_slices())
            return [_empty_like_stacked(v) for v in _graph_leaves("scan", y)]
        stacked = _if("scan", ovo.greater(trip, _constant(0, "int64")).output(0),
                      lambda: list(stacked), empty)
    return pack_as(init, finals), pack_as(y_struct[0], stacked)


def map(f, xs):
    return scan(lambda c, x: (c, f(x)), (), xs)[1]


def vectorized_map(function, elements):
    # OpenVINO has no vmap: a Loop over the leading axis (one compiled body).
    return map(function, elements)


# --- associative scan ------------------------------------------------------------------------
class _Along0:
    """An Output with a static length along axis 0, for `parallel_associative_scan`."""
    __slots__ = ("o", "shape")

    def __init__(self, o, n):
        self.o, self.shape = o, (n,)


def _take(x, start, stop, step):
    n = len(range(start, builtins.min(stop, x.shape[0]), step))
    return _Along0(get_item(x.o, slice(start, stop, step)), n)


def _cat(a, b):
    return _Along0(ovo.concat([a.o, b.o], 0).output(0), a.shape[0] + b.shape[0])


def _interleave(a, b):
    na, nb = a.shape[0], b.shape[0]
    ao, bo = a.o, b.o
    if na > nb:
        bo = ovo.concat([bo, get_item(ao, slice(na - 1, None))], 0).output(0)
    pair = ovo.concat([ovo.unsqueeze(ao, _i64([1])), ovo.unsqueeze(bo, _i64([1]))], 1).output(0)
    rest = get_item(ovo.shape_of(ao, "i64").output(0), slice(1, None))
    target = ovo.concat([_i64([2 * na]), rest], 0)  # static length: keeps the shape static
    out = ovo.reshape(pair, target, False).output(0)
    if na > nb:
        out = get_item(out, slice(0, na + nb))
    return _Along0(out, na + nb)


def associative_scan(f, elems, reverse=False, axis=0):
    leaves = _graph_leaves("associative_scan", elems)
    if not leaves:
        raise ValueError("associative_scan: `elems` has no tensors.")
    elems = pack_as(elems, leaves)
    rank = len(_shape(leaves[0]))
    if rank == 0 or not -rank <= axis < rank:
        raise ValueError(f"associative_scan: axis {axis} is out of bounds for rank {rank}.")
    axis %= rank
    sizes = {_shape(x)[axis] if len(_shape(x)) > axis else "bad" for x in leaves}
    if "bad" in sizes:
        raise ValueError("associative_scan: every leaf of elems needs the scanned axis.")
    known = sizes - {None}
    if len(known) > 1:
        raise ValueError(f"associative_scan: the leaves have different sizes {sorted(known)} "
                         f"along axis {axis}.")
    perm = [axis] + [i for i in range(rank) if i != axis]
    inverse = [perm.index(i) for i in range(rank)]

    def move(o, p):
        return o if axis == 0 else ovo.transpose(o, _i64(p)).output(0)

    if known:  # static length: Blelloch's O(log n) parallel scan
        n = known.pop()
        seq = [move(x, perm) for x in leaves]
        if reverse:
            seq = [_flip0(x) for x in seq]

        def combine(a, b):
            out = f(pack_as(elems, [move(x.o, inverse) for x in a]),
                    pack_as(elems, [move(x.o, inverse) for x in b]))
            outs = _graph_leaves("associative_scan", out)
            if len(outs) != len(a):
                raise ValueError("associative_scan: f must return the structure of elems.")
            return [_Along0(move(o, perm), x.shape[0]) for o, x in zip(outs, a)]

        out = parallel_associative_scan(combine, [_Along0(x, n) for x in seq], _take, _cat,
                                        _interleave)
        out = [x.o for x in out]
        if reverse:
            out = [_flip0(x) for x in out]
        return pack_as(elems, [move(x, inverse) for x in out])

    # Dynamic length: a sequential Loop, acc = f(acc, e[i]), over slices kept with size 1.
    seq = [move(x, perm) for x in leaves]

    def step(c, s, it):
        prev = [move(v, inverse) for v in c]
        cur = [move(v, inverse) for v in s]
        out = _graph_leaves("associative_scan", f(pack_as(elems, prev), pack_as(elems, cur)))
        if len(out) != len(cur):
            raise ValueError("associative_scan: f must return the structure of elems.")
        first = ovo.equal(it, _constant(0, "int64")).output(0)
        acc = [ovo.select(first, x, move(o, perm)).output(0) for x, o in zip(s, out)]
        return acc, acc, None

    first_slices = [get_item(x, slice(0, 1)) for x in seq]  # the carry's shape (unused value)
    trip = ovo.gather(ovo.shape_of(seq[0], "i64"), _i64(0), _i64(0)).output(0)
    _, stacked = _loop("associative_scan", trip, _constant(True, "bool"), first_slices, step,
                       seq, reverse, current_iter=True)
    if reverse:
        stacked = [_flip0(s) for s in stacked]
    # Zero iterations leave the Loop's concatenated outputs undefined: an empty axis is the
    # (empty) input itself.
    stacked = _if("associative_scan", ovo.greater(trip, _constant(0, "int64")).output(0),
                  lambda: list(stacked),
                  lambda: [_cast(x, dtype_name(s)) for x, s in zip(seq, stacked)])
    return pack_as(elems, [move(x, inverse) for x in stacked])


# --- vectorize / custom_gradient -------------------------------------------------------------
def vectorize(pyfunc, *, excluded=None, signature=None):
    def broadcast_to(x, shape):
        return ovo.broadcast(_out(x), _i64(list(shape))).output(0)

    def reshape(x, shape):
        return ovo.reshape(_out(x), _i64(list(shape)), False).output(0)

    inner = generic_vectorize(pyfunc, excluded, signature, vectorized_map, broadcast_to, reshape)
    excluded = set(excluded or ())

    def wrapped(*args, **kwargs):
        args = list(args)
        for i, a in enumerate(args):
            if i in excluded:
                continue
            args[i] = _out(a)
            if None in _shape(args[i]):   # the loop dimensions are flattened statically
                raise ValueError("vectorize: the OpenVINO backend needs static shapes, got "
                                 f"{args[i].get_partial_shape()}.")
        return inner(*args, **kwargs)

    return wrapped


def custom_gradient(f):
    def forward(*args):   # inference graphs have no gradients: the forward value
        return f(*args)[0]
    return forward
