"""`functional(model)`: a unikeras layer or model as a pure jax function of a pytree.

    variables, apply = functional(model)
    outputs, new_state = apply(variables, x, training=True)

`variables` is `{"params": {path: array}, "state": {path: array}}`, keyed by canonical
weight paths (`lstm/lstm_cell/kernel`, as in safetensors files): `params` holds the
trainable weights, `state` everything else a call reads or may change (BatchNormalization
moving statistics, seed-generator states of Dropout and other random ops, a stateful RNN's
states). `apply` reads nothing stored and changes nothing: it returns the outputs and the
new state (same keys; a random op's seed state has advanced, so feeding `new_state` back
draws fresh masks, and replacing a seed state chooses the randomness). It works under
`jax.jit`, `jax.grad` (differentiate with respect to `variables["params"]`), `jax.vmap`
and with optax. The variable order is resolved once here, so a jitted step holds no graph
traversal: a call maps plain dicts to a flat list of values, and once jitted a step is
only the compiled computation plus jax's flattening of those dicts.
"""
import jax
import numpy as np

from unikeras.adapters import hosting
from unikeras.common.ops import dispatch

BACKEND = "jax"


def as_jax(variable):
    """The variable's value as a jax array (copied from another backend's storage);
    deferred state (a seed generator's) is allocated on jax, not on the default backend."""
    with dispatch.backend_scope(BACKEND):
        value = variable.value
    if isinstance(value, jax.Array):
        return value
    table = dispatch.get_table(variable.backend)
    return jax.numpy.asarray(np.asarray(table.convert_to_numpy(value)))


class _Apply:
    """The pure call of one layer; `slots` says where each hosted variable's value lives."""

    def __init__(self, layer, hosted):
        self.layer, self.hosted = layer, hosted
        self.slots = [("params" if h.kind == hosting.PARAM else "state", "/".join(h.path))
                      for h in hosted]

    def __call__(self, variables, *args, training=False, **kwargs):
        """`(outputs, new_state)` of the layer called on `args` with `variables`."""
        try:
            values = [variables[group][key] for group, key in self.slots]
        except (KeyError, TypeError) as e:
            raise ValueError(f"functional({self.layer.name!r}): `variables` must be "
                             f"{{'params': {{path: array}}, 'state': {{path: array}}}} with every "
                             f"path of the layer; missing {e}.") from None
        if self.layer._call_has_training:
            kwargs["training"] = training
        outputs, updates = hosting.run_hosted(self.layer, self.hosted, values, BACKEND, args,
                                              kwargs)
        new_state = dict(variables["state"])
        for i, new in updates:
            new_state[self.slots[i][1]] = new
        return outputs, new_state


def functional(layer, input_shape=None):
    """`(variables, apply)` for `layer` (a unikeras Layer or Model); see module docstring.
    An unbuilt layer is built from `input_shape` (batch dim included). `variables` is a
    copy of the current values: training it leaves the layer unchanged (load the result
    back with `layer.set_weights` or `unikeras.adapters.flax.assign_variables`)."""
    hosting.ensure_built(layer, BACKEND, input_shape)
    if not layer.built:
        raise ValueError(f"functional: layer '{layer.name}' is not built; pass input_shape "
                         "(batch dim included, e.g. (None, 784)).")
    hosted = hosting.hosted_variables(layer) if layer.variables else []
    apply = _Apply(layer, hosted)
    variables = {"params": {}, "state": {}}
    for (group, key), h in zip(apply.slots, hosted):
        variables[group][key] = as_jax(h.variable)
    return variables, apply


def assign_variables(layer, variables):
    """Store `variables` (as `functional(layer)` made them, e.g. after training) into the
    layer's own variables."""
    for h in hosting.hosted_variables(layer):
        group = "params" if h.kind == hosting.PARAM else "state"
        h.variable.assign(jax.device_get(variables[group]["/".join(h.path)]))
