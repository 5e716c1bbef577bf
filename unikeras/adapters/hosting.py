"""What every framework adapter shares: where each variable of a layer tree lives in the
native module, and how a call runs the layer on the values the host supplies."""
from unikeras.common.ops import dispatch, tape
from unikeras.common.variables import StatelessScope

# Kinds: trainable weights, non-trainable weights (moving statistics), seed-generator
# states, and layer states (`Layer.add_state`: carried between calls, no weights).
PARAM, STAT, SEED, STATE = "param", "stat", "seed", "state"


class HostedVariable:
    """One variable's place in a native module: `path` is the attribute chain from the
    root module (sublayer names, then the variable's attribute name)."""

    __slots__ = ("variable", "path", "kind")

    def __init__(self, variable, path, kind):
        self.variable, self.path, self.kind = variable, path, kind

    @property
    def dotted(self):
        return ".".join(self.path)


def hosted_variables(layer):
    """Every variable of `layer`'s tree with its attribute path and kind, each once."""
    trainable = {id(v) for v in layer.trainable_variables}
    seen, out = set(), []

    def visit(obj, prefix):
        names = set()
        for v in obj._own_variables:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(HostedVariable(v, prefix + (v.name,), PARAM if id(v) in trainable else STAT))
                names.add(v.name)
        for i, gen in enumerate(obj._seed_generators):
            if id(gen.state) not in seen:
                seen.add(id(gen.state))
                name = gen.state.name if i == 0 else f"{gen.state.name}_{i}"
                names.add(name)
                out.append(HostedVariable(gen.state, prefix + (name,), SEED))
        for v in obj._own_states:
            if id(v) not in seen:
                seen.add(id(v))
                name = _unused_name(v.name, names)
                names.add(name)
                out.append(HostedVariable(v, prefix + (name,), STATE))
        for sub in obj._layers:
            visit(sub, prefix + (sub.name,))
    visit(layer, ())
    return out


def _unused_name(name, taken):
    """`name`, or `name_1`, `name_2`, ... when taken (a layer's states may share a name)."""
    candidate, i = name, 0
    while candidate in taken:
        i += 1
        candidate = f"{name}_{i}"
    return candidate


def module_paths(hosted):
    """The distinct sub-module paths (tuples of names) the variables live under, parents first."""
    paths = {}
    for h in hosted:
        for i in range(1, len(h.path)):
            paths.setdefault(h.path[:i])
    return sorted(paths, key=len)


class ByIdentity:
    """The values a StatelessScope holds, found by comparing variables with `is` along two
    aligned lists instead of hashing them: what a tracing compiler (torch.compile's dynamo,
    torch.export) can follow, since it cannot trace a Variable's C-level hash. Lookups are
    linear, which costs nothing once traced; eager calls keep the dict."""

    __slots__ = ("keys", "items")

    def __init__(self, keys, items):
        self.keys, self.items = list(keys), list(items)

    def _index(self, key):
        for i, k in enumerate(self.keys):
            if k is key:
                return i
        return -1

    def get(self, key, default=None):
        i = self._index(key)
        return default if i < 0 else self.items[i]

    def __getitem__(self, key):
        i = self._index(key)
        if i < 0:
            raise KeyError(key)
        return self.items[i]

    def __setitem__(self, key, value):
        i = self._index(key)
        if i < 0:
            self.keys.append(key)
            self.items.append(value)
        else:
            self.items[i] = value


def run_hosted(layer, hosted, values, backend, args, kwargs, tracing=False):
    """Call `layer` with `values` (aligned with `hosted`) standing in for its variables;
    `tracing` (under a tracing compiler) keys them by identity (`ByIdentity`).

    Returns (outputs, updates) where updates lists (index, new value) for every non-trainable
    variable the call assigned (moving statistics, seed states, layer states)."""
    scope = StatelessScope()
    scope.tracing = tracing
    variables = [h.variable for h in hosted]
    scope.values = (ByIdentity(variables, values) if tracing
                    else dict(zip(variables, values)))
    with dispatch.backend_scope(backend), scope:
        outputs = layer(*args, **kwargs)
    new = scope.values
    updates = [(i, new[h.variable]) for i, h in enumerate(hosted)
               if h.kind != PARAM and new[h.variable] is not values[i]]
    return outputs, updates


def hosted_losses(layer, hosted, values, backend):
    """`layer.losses` as the host sees it: the losses its last call added, then the weight
    penalties computed from `values` (the host's current weights, aligned with `hosted`), so
    they follow training in the host and differentiate there."""
    with dispatch.backend_scope(backend), StatelessScope(zip([h.variable for h in hosted], values)):
        return layer.losses


def ensure_built(layer, backend, input_shape):
    """Build `layer` on `backend` by a symbolic call on inputs of `input_shape` (Keras
    convention: batch dim included, None for unknown)."""
    if (layer.built and layer.variables) or input_shape is None:
        return
    from unikeras.common.symbolic import KerasTensor
    with dispatch.backend_scope(backend):
        layer(KerasTensor(tuple(input_shape)))


_TRAINING = frozenset({"training"})

# Layers whose call runs user code that a tape cannot see (see unikeras/common/ops/tape.py).
UNTAPED_LAYERS = frozenset({"Lambda", "TorchModuleWrapper", "FlaxLayer", "JaxLayer", "TFSMLayer"})


def tapeable(layer):
    """True when every layer of the tree is one of unikeras's own (their calls use only
    `unikeras.ops`); a user-written layer or model keeps the ordinary path."""
    for sub in [layer] + layer._flat_layers():
        cls = type(sub)
        if not cls.__module__.startswith("unikeras.") or cls.__name__ in UNTAPED_LAYERS:
            return False
    return True


def _signature(value, tensors):
    """A hashable description of one call argument; its tensors are appended to `tensors`."""
    if dispatch.backend_of_type(type(value)) not in (None, dispatch.WEAK):
        tensors.append(value)
        return (type(value), tuple(value.shape), value.dtype, getattr(value, "device", None))
    if type(value) in (list, tuple):
        return (type(value),) + tuple(_signature(v, tensors) for v in value)
    if isinstance(value, dict):
        return (dict,) + tuple((k, _signature(v, tensors)) for k, v in value.items())
    return (type(value), value)  # Python scalars, None, strings: part of the signature


class TapedCalls:
    """`run_hosted` for one host, replaying a recorded tape per input signature (see
    unikeras/common/ops/tape.py): the layer tree, scopes and dispatch run on the first call
    of each signature only. Signatures a tape cannot reproduce keep the ordinary path."""

    def __init__(self, layer, hosted, backend):
        self.layer, self.hosted, self.backend = layer, hosted, backend
        self.enabled = tapeable(layer)
        self.layers = [layer] + layer._flat_layers()
        self.tapes = {}
        self.refusals = {}  # signature -> why it runs untaped (for tests and debugging)

    def __call__(self, values, args, kwargs):
        if not self.enabled:
            return run_hosted(self.layer, self.hosted, values, self.backend, args, kwargs)
        trainable = tuple([sub.trainable for sub in self.layers])
        if (len(args) == 1 and dispatch.backend_of_type(type(args[0])) == self.backend
                and kwargs.keys() <= _TRAINING):
            x = args[0]  # the common call: one tensor (and `training`)
            inputs = [x]
            key = (x.shape, x.dtype, getattr(x, "device", None), kwargs.get("training"), trainable)
        else:
            inputs = []
            try:
                key = (_signature(args, inputs), _signature(kwargs, inputs), trainable)
                hash(key)
            except TypeError:
                return run_hosted(self.layer, self.hosted, values, self.backend, args, kwargs)
        recorded = self.tapes.get(key)
        if recorded is not None:
            return recorded.replay(inputs + list(values))
        if key in self.refusals:
            return run_hosted(self.layer, self.hosted, values, self.backend, args, kwargs)
        outputs, updates, recorded, refusal = tape.record(
            lambda: run_hosted(self.layer, self.hosted, values, self.backend, args, kwargs),
            inputs + list(values))
        if recorded is None:
            self.refusals[key] = refusal
        else:
            self.tapes[key] = recorded
        return outputs, updates
