"""Tapes: the backend calls of one eager layer call, recorded once and replayed.

A host (a torch module's `forward`) calls the same layer many times on inputs of the same
structure, and everything around the math (Layer.__call__, masks, scopes, the model's graph
walk, op dispatch) repeats the same work each time. A tape records, for one input signature,
the sequence of backend functions the ops dispatched to and where each of their arguments
came from (an input, a variable value, an earlier result, or a constant); replaying it runs
only those calls. This is the "do the structure work once" half of a lean eager hot path.

Recording gives up (the host keeps the ordinary path for that signature) whenever a replay
could differ from a fresh call: a tensor argument that no recorded step produced (the layer
computed outside `unikeras.ops`), a callable or seed-generator argument (control flow,
random ops, which draw new seeds), an op that hands data to Python (`convert_to_numpy`), an
output or state update that is not a recorded result, or a side effect that a replay would
skip (`Layer.add_loss` calls `refuse`).
"""
import types

from unikeras.common.ops import dispatch

recorder = None  # the active Recorder; `op.call` hands every op call to it while recording

_ESCAPING_OPS = frozenset({"convert_to_numpy"})
_PLAIN_LEAVES = (int, bool, str, type(None))


def refuse(reason):
    """Stop the active recording, if any: the call does something a replay would skip
    (e.g. `Layer.add_loss`, whose losses a replay would not record again)."""
    global recorder
    if recorder is not None:
        recorder.refusal = reason
        recorder = None


class Refused(Exception):
    """A call that a tape cannot reproduce (see module docstring)."""


class _Slot:
    """An argument taken from slot `index` (an input, a variable value or a result)."""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class _Nested:
    """A list or tuple argument holding slots."""
    __slots__ = ("kind", "items")

    def __init__(self, kind, items):
        self.kind, self.items = kind, items


def _is_tensor(x):
    kind = dispatch.backend_of_type(type(x))
    return kind is not None and kind not in (dispatch.WEAK, dispatch.SYMBOLIC, "variable")


def _is_code(x):
    if isinstance(x, (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                      types.LambdaType)):
        return True
    return hasattr(x, "state") and hasattr(x, "next")  # a SeedGenerator


class Recorder:
    """Collects the steps of one call; `known` maps tensor ids to slots."""

    def __init__(self, sources):
        self.steps = []
        self.known = {}
        self.alive = []  # keeps recorded tensors alive so that their ids stay unique
        self.refusal = None
        for i, tensor in enumerate(sources):
            self._register(tensor, i)
        self.n_slots = len(sources)

    def _register(self, tensor, index):
        self.known.setdefault(id(tensor), index)
        self.alive.append(tensor)

    def template(self, value):
        if _is_tensor(value):
            slot = self.known.get(id(value))
            if slot is None:
                raise Refused(f"a {type(value).__name__} argument that no op produced")
            return _Slot(slot)
        if type(value) in (list, tuple):
            items = [self.template(v) for v in value]
            return (_Nested(type(value), items)
                    if any(isinstance(i, (_Slot, _Nested)) for i in items) else value)
        if isinstance(value, dict) or _is_code(value):
            raise Refused(f"an argument of type {type(value).__name__}")
        return value

    def call(self, public, impl_name, args, kwargs):
        """Run one call of op `public` for real and record it (or stop recording and run it
        plainly)."""
        global recorder
        if dispatch.has_variables(args, kwargs):
            args, kwargs = dispatch.unwrap_variables(args, kwargs)
        backend = dispatch.resolve_backend(args, kwargs)
        fn = getattr(dispatch.get_table(backend), impl_name, None)
        try:
            if fn is None or impl_name in _ESCAPING_OPS:
                raise Refused(f"op {impl_name!r}")
            arg_t = [self.template(a) for a in args]
            kw_t = {k: self.template(v) for k, v in kwargs.items()}
        except Refused as e:
            self.refusal = str(e)
            recorder = None
            return public(*args, **kwargs)
        recorder = None
        try:
            out = fn(*args, **kwargs)
        finally:
            recorder = self
        leaves, structure = _flatten(out)
        out_slots = []
        for leaf in leaves:
            if _is_tensor(leaf):
                self._register(leaf, self.n_slots)
                out_slots.append(self.n_slots)
                self.n_slots += 1
            elif isinstance(leaf, _PLAIN_LEAVES):
                out_slots.append(None)
            else:
                self.refusal = f"op {impl_name!r} returned a {type(leaf).__name__}"
                recorder = None
                return out
        if any(s is not None for s in out_slots):
            # Steps without tensor results (shape queries) are left out: the signature fixes
            # their values, which later steps recorded as constants.
            self.steps.append(_Step(fn, arg_t, kw_t, structure, out_slots))
        return out

    def slot_of(self, tensor):
        slot = self.known.get(id(tensor))
        if slot is None:
            raise Refused(f"a result ({type(tensor).__name__}) that no op produced")
        return slot


def _flatten(out):
    if type(out) in (list, tuple):
        leaves, parts = [], []
        for item in out:
            sub, structure = _flatten(item)
            leaves.extend(sub)
            parts.append(structure)
        return leaves, (type(out), parts)
    return [out], None


def _pack(structure, leaves, it):
    if structure is None:
        return leaves[next(it)]
    kind, parts = structure
    return kind(_pack(p, leaves, it) for p in parts)


def _resolve(t, slots):
    if type(t) is _Slot:
        return slots[t.index]
    if type(t) is _Nested:
        return t.kind(_resolve(i, slots) for i in t.items)
    return t


class _Step:
    """One recorded backend call: argument templates and the slots its results fill."""
    __slots__ = ("fn", "args", "kwargs", "dynamic_kwargs", "structure", "out_slots", "single")

    def __init__(self, fn, args, kwargs, structure, out_slots):
        self.fn, self.args = fn, args
        self.kwargs = {k: v for k, v in kwargs.items() if type(v) not in (_Slot, _Nested)}
        self.dynamic_kwargs = [(k, v) for k, v in kwargs.items() if type(v) in (_Slot, _Nested)]
        self.structure, self.out_slots = structure, out_slots
        self.single = out_slots[0] if structure is None else None


class Tape:
    """A recorded call: replays its steps on new sources (inputs, then variable values)."""

    def __init__(self, steps, n_slots, output_structure, output_slots, updates):
        self.steps, self.n_slots = steps, n_slots
        self.output_structure, self.output_slots = output_structure, output_slots
        self.updates = updates  # (hosted index, slot)

    def replay(self, sources):
        slots = list(sources)
        slots.extend([None] * (self.n_slots - len(slots)))
        for step in self.steps:
            args = [slots[a.index] if type(a) is _Slot else _resolve(a, slots) for a in step.args]
            kwargs = step.kwargs
            if step.dynamic_kwargs:
                kwargs = dict(kwargs, **{k: _resolve(v, slots) for k, v in step.dynamic_kwargs})
            out = step.fn(*args, **kwargs)
            if step.single is not None:
                slots[step.single] = out
                continue
            leaves, _ = _flatten(out)
            for s, leaf in zip(step.out_slots, leaves):
                if s is not None:
                    slots[s] = leaf
        outputs = [slots[s] for s in self.output_slots]
        return (_pack(self.output_structure, outputs, iter(range(len(outputs)))),
                [(i, slots[s]) for i, s in self.updates])


def record(run, sources):
    """Run `run()` (which returns (outputs, updates)) while recording the op calls whose
    tensors come from `sources`. Returns (outputs, updates, tape or None, refusal)."""
    global recorder
    rec = Recorder(sources)
    recorder = rec
    try:
        outputs, updates = run()
    finally:
        recorder = None
    if rec.refusal is not None:
        return outputs, updates, None, rec.refusal
    try:
        leaves, structure = _flatten(outputs)
        output_slots = [rec.slot_of(leaf) for leaf in leaves]
        update_slots = [(i, rec.slot_of(new)) for i, new in updates]
    except Refused as e:
        return outputs, updates, None, str(e)
    tape = Tape(rec.steps, rec.n_slots, structure, output_slots, update_slots)
    return outputs, updates, tape, None
