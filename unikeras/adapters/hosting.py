"""What every framework adapter shares: where each variable of a layer tree lives in the
native module, and how a call runs the layer on the values the host supplies."""
from unikeras.common.ops import dispatch
from unikeras.common.variables import StatelessScope

PARAM, STAT, SEED = "param", "stat", "seed"


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
                out.append(HostedVariable(gen.state, prefix + (name,), SEED))
        for sub in obj._layers:
            visit(sub, prefix + (sub.name,))
    visit(layer, ())
    return out


def module_paths(hosted):
    """The distinct sub-module paths (tuples of names) the variables live under, parents first."""
    paths = {}
    for h in hosted:
        for i in range(1, len(h.path)):
            paths.setdefault(h.path[:i])
    return sorted(paths, key=len)


def run_hosted(layer, hosted, values, backend, args, kwargs):
    """Call `layer` with `values` (aligned with `hosted`) standing in for its variables.

    Returns (outputs, updates) where updates lists (index, new value) for every non-trainable
    variable the call assigned (moving statistics, seed states)."""
    mapping = {h.variable: v for h, v in zip(hosted, values)}
    with dispatch.backend_scope(backend), StatelessScope(mapping) as scope:
        outputs = layer(*args, **kwargs)
    new = scope.values
    updates = [(i, new[h.variable]) for i, h in enumerate(hosted)
               if h.kind != PARAM and new[h.variable] is not values[i]]
    return outputs, updates


def ensure_built(layer, backend, input_shape):
    """Build `layer` on `backend` by a symbolic call on inputs of `input_shape` (Keras
    convention: batch dim included, None for unknown)."""
    if (layer.built and layer.variables) or input_shape is None:
        return
    from unikeras.common.symbolic import KerasTensor
    with dispatch.backend_scope(backend):
        layer(KerasTensor(tuple(input_shape)))
