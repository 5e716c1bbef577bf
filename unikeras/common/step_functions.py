"""Turn a model's `train_step` / `test_step` / `predict_step` into the function each loop
calls once per execution (one batch, or `steps_per_execution` batches).

- Eager (torch, NumPy, or `run_eagerly=True`): the step method runs as written on the
  variables themselves; torch updates them in place.
- Compiled (jax, tensorflow): the step runs as a pure function of the values of the state
  variables inside a StatelessScope, compiled by the backend's runtime (`jax.jit` with the
  state donated, `tf.function`); the runtime writes the new values back. Several steps per
  execution run as one `ops.scan` over stacked batches inside the compiled function.
"""
import warnings

from unikeras.common import tree
from unikeras.common.variables import StatelessScope, runtime

EAGER_BACKENDS = ("torch", "numpy")


def runs_eagerly(backend, run_eagerly):
    """Whether the steps on `backend` run as Python code on every batch (not compiled)."""
    return run_eagerly or backend in EAGER_BACKENDS


def state_variables(model, kind):
    """The variables a step of `kind` reads and may update."""
    if kind == "predict":
        return list(model.variables)
    state = model.trainable_variables + model.non_trainable_variables
    if kind == "train":
        state += list(model.optimizer.variables)
    seen, out = set(), []
    for v in state + model.metrics_variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def make_step_function(model, kind, backend, run_eagerly, steps_per_execution,
                       jit_compile="auto"):
    """`run(batches) -> logs_or_outputs` for a list of (at most steps_per_execution) batches
    already converted to `backend` tensors; the result is the last step's return value.
    `jit_compile` (True, False or "auto") asks tensorflow for XLA; jax always compiles."""
    method = getattr(model, f"{kind}_step")
    if runs_eagerly(backend, run_eagerly):
        def run_eager(batches):
            out = None
            for batch in batches:
                out = method(batch)
            return out
        return run_eager

    rt = runtime(backend)
    state = state_variables(model, kind)

    def one(values, batch):
        with StatelessScope(dict(zip(state, values))) as scope:
            out = method(batch)
        return [scope.values[v] for v in state], out

    if backend == "tensorflow" and jit_compile == "auto":
        return _xla_or_graph(model, kind, steps_per_execution)
    options = {"jit_compile": bool(jit_compile)} if backend == "tensorflow" else {}
    single = rt.compile_step(one, state, **options)
    if steps_per_execution == 1:
        return lambda batches: _run_singly(single, batches)

    def many(values, stacked):
        from unikeras.common.ops import control

        def body(carry, batch):
            new_values, out = one(list(carry), batch)
            return new_values, out
        new_values, outs = control.scan(body, list(values), stacked)
        return new_values, tree.map_structure(lambda o: o[-1], outs)

    multi = rt.compile_step(many, state, **options)

    def run_compiled(batches):
        if len(batches) > 1 and _same_shapes(batches):
            return multi(_stack(batches))
        return _run_singly(single, batches)
    return run_compiled


def prefers_xla(model):
    """Recurrent layers run as loops of small ops, which tf's graph executor pays for op by
    op and XLA fuses; convolutions run faster on tf's own (oneDNN) kernels than on XLA's CPU
    backend. So "auto" asks for XLA when the model has a recurrent layer."""
    from unikeras.common.layers.rnn import RNN
    return any(isinstance(layer, RNN) for layer in [model] + model._flat_layers())


def _xla_or_graph(model, kind, steps_per_execution):
    """tensorflow with jit_compile="auto": XLA where `prefers_xla`, falling back to a plain
    tf.function if XLA cannot compile the step (the first call fails before it runs)."""
    graph = make_step_function(model, kind, "tensorflow", False, steps_per_execution, False)
    if not prefers_xla(model):
        return graph
    xla = make_step_function(model, kind, "tensorflow", False, steps_per_execution, True)
    chosen = []

    def run(batches):
        if chosen:
            return chosen[0](batches)
        try:
            out = xla(batches)
        except Exception as e:  # XLA's own "cannot compile" errors have no common type
            warnings.warn(f"Model '{model.name}': XLA could not compile the {kind} step "
                          f"({type(e).__name__}); using a plain tf.function.", RuntimeWarning)
            chosen.append(graph)
            return graph(batches)
        chosen.append(xla)
        return out
    return run


def _run_singly(step, batches):
    out = None
    for batch in batches:
        out = step(batch)
    return out


def _same_shapes(batches):
    first = [None if a is None else tuple(a.shape) for a in tree.flatten(batches[0])]
    return all([None if a is None else tuple(a.shape) for a in tree.flatten(b)] == first
               for b in batches[1:])


def _stack(batches):
    from unikeras.common.ops import numpy as onp
    flat = [tree.flatten(b) for b in batches]
    stacked = [None if parts[0] is None else onp.stack(list(parts)) for parts in zip(*flat)]
    return tree.pack_sequence_as(batches[0], stacked)
