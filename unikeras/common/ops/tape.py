"""Tapes: the backend calls of one eager layer call, recorded once and replayed.

A host (a torch module's `forward`) calls the same layer many times on inputs of the same
structure, and everything around the math (Layer.__call__, masks, scopes, the model's graph
walk, op dispatch) repeats the same work each time. A tape records, for one input signature,
the sequence of backend functions the ops dispatched to and where each of their arguments
came from (an input, a variable value, an earlier result, or a constant); replaying it runs
only those calls, as one generated Python function with a line per call (so a replay adds
one frame, not a loop over steps and argument templates). This is the "do the structure
work once" half of a lean eager hot path.

Recording gives up (the host keeps the ordinary path for that signature) whenever a replay
could differ from a fresh call: a tensor argument that no recorded step produced (the layer
computed outside `unikeras.ops`), a callable or seed-generator argument (control flow,
random ops, which draw new seeds), an op that hands data to Python (`convert_to_numpy`), an
output or state update that is not a recorded result, or a side effect that a replay would
skip (`Layer.add_loss` calls `refuse`).
"""
import keyword
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
        self.n_sources = self.n_slots = len(sources)

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


class _Step:
    """One recorded backend call: argument templates and the slots its results fill."""
    __slots__ = ("fn", "args", "kwargs", "structure", "out_slots")

    def __init__(self, fn, args, kwargs, structure, out_slots):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.structure, self.out_slots = structure, out_slots


class _Source:
    """Writes a tape as the source of one Python function: each step one line calling its
    backend function on local variables (the slots), constants held in the function's
    globals. A replay then costs one Python call per step and nothing else."""

    def __init__(self):
        self.names = {}

    def constant(self, value):
        name = f"c{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, t):
        """The source of an argument template."""
        if type(t) is _Slot:
            return f"s{t.index}"
        if type(t) is _Nested:
            items = "".join(self.expression(i) + ", " for i in t.items)
            return f"({items})" if t.kind is tuple else f"[{items}]"
        return self.constant(t)

    def leaves(self, structure, target):
        """Expressions reading each leaf of a result of `structure` held in `target`."""
        if structure is None:
            return [target]
        return [leaf for i, part in enumerate(structure[1])
                for leaf in self.leaves(part, f"{target}[{i}]")]

    def pack(self, structure, slots):
        """The source building an output of `structure` from the slots `slots` (in order)."""
        if structure is None:
            return f"s{next(slots)}"
        kind, parts = structure
        items = "".join(self.pack(p, slots) + ", " for p in parts)
        return f"({items})" if kind is tuple else f"[{items}]"


def _compile(steps, n_sources, output_structure, output_slots, updates):
    """The replay function `replay(sources) -> (outputs, [(hosted index, value)])`."""
    src = _Source()
    lines = [f"    {''.join(f's{i}, ' for i in range(n_sources))}= sources"] if n_sources else []
    for step in steps:
        call = ", ".join([src.expression(a) for a in step.args]
                         + [f"{k}={src.expression(v)}" if k.isidentifier() and not keyword.iskeyword(k)
                            else f"**{{{k!r}: {src.expression(v)}}}"
                            for k, v in step.kwargs.items()])
        fn = src.constant(step.fn)
        if step.structure is None:
            lines.append(f"    s{step.out_slots[0]} = {fn}({call})")
            continue
        lines.append(f"    out = {fn}({call})")
        for slot, leaf in zip(step.out_slots, src.leaves(step.structure, "out")):
            if slot is not None:
                lines.append(f"    s{slot} = {leaf}")
    outputs = src.pack(output_structure, iter(output_slots))
    changed = "".join(f"({i}, s{slot}), " for i, slot in updates)
    lines.append(f"    return {outputs}, [{changed}]")
    code = "def replay(sources):\n" + "\n".join(lines) + "\n"
    namespace = dict(src.names)
    exec(compile(code, "<unikeras tape>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["replay"], code


class Tape:
    """A recorded call: replays its steps on new sources (inputs, then variable values)."""

    def __init__(self, steps, n_sources, output_structure, output_slots, updates):
        self.steps = steps
        self.updates = updates  # (hosted index, slot)
        self.replay, self.source = _compile(steps, n_sources, output_structure, output_slots,
                                            updates)


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
    tape = Tape(rec.steps, rec.n_sources, structure, output_slots, update_slots)
    return outputs, updates, tape, None
