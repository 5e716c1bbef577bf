"""`to_flax`: a unikeras layer or model as a genuine `flax.nnx.Module`.

Trainable weights become `nnx.Param`s, non-trainable weights `nnx.BatchStat`s, seed
states `SeedState` variables, layer states (a stateful RNN's) `LayerState` variables, on
a child module per sublayer, so nnx state paths are the canonical weight paths
(`dense_1`, `kernel`). `__call__` reads them through the module
being called, so `nnx.jit` / `nnx.grad` (which call a copy holding tracers) see them.
"""
import numpy as np
from flax import nnx

from unikeras.adapters import hosting
from unikeras.adapters.flax.functional import BACKEND, as_jax


class SeedState(nnx.Variable):
    """State of a unikeras SeedGenerator (random ops in Dropout and friends)."""


class LayerState(nnx.Variable):
    """State a unikeras layer carries between calls (`Layer.add_state`: a stateful RNN's
    states); no weight, so neither `nnx.Param` nor `nnx.BatchStat`."""


_KINDS = {hosting.PARAM: nnx.Param, hosting.STAT: nnx.BatchStat, hosting.SEED: SeedState,
          hosting.STATE: LayerState}


class _Holder(nnx.Module):
    """Plain container for one sublayer's variables."""


class _Static:
    """The layer and its variable placement; static (hashed by identity) for nnx."""

    def __init__(self, layer):
        self.layer = layer
        self.hosted = hosting.hosted_variables(layer) if layer.built and layer.variables else []


class NnxModule(nnx.Module):
    """Native nnx module hosting a unikeras layer's variables; see module docstring.
    (`unikeras.layers.FlaxLayer` is the reverse: an nnx module inside a unikeras model.)

    Like `nnx.Dropout`, it runs in training mode unless `deterministic` is True (set by
    `.eval()`) or `training=` is passed to the call."""

    def __init__(self, layer, input_shape=None):
        hosting.ensure_built(layer, BACKEND, input_shape)
        if not layer.built:
            raise ValueError(f"to_flax: layer '{layer.name}' is not built; pass input_shape "
                             "(batch dim included, e.g. (None, 784)).")
        self._static = _Static(layer)
        self.deterministic = False
        holders = {(): self}
        for path in hosting.module_paths(self._static.hosted):
            child = _Holder()
            setattr(holders[path[:-1]], path[-1], child)
            holders[path] = child
        for h in self._static.hosted:
            setattr(holders[h.path[:-1]], h.path[-1], _KINDS[h.kind](as_jax(h.variable)))

    @property
    def layer(self):
        return self._static.layer

    def _nnx_variables(self):
        out = []
        for h in self._static.hosted:
            obj = self
            for part in h.path:
                obj = getattr(obj, part)
            out.append(obj)
        return out

    def __call__(self, *args, **kwargs):
        layer = self._static.layer
        if layer._call_has_training or "training" in kwargs:
            kwargs.setdefault("training", not self.deterministic)
        nnx_vars = self._nnx_variables()
        values = [v.get_value() for v in nnx_vars]
        outputs, updates = hosting.run_hosted(layer, self._static.hosted, values, BACKEND, args, kwargs)
        for i, new in updates:
            nnx_vars[i].set_value(new)
        return outputs

    @property
    def losses(self):
        """The layer's losses: those its last call added, then weight penalties computed
        from this module's current values (traced under `nnx.grad`, so they differentiate)."""
        values = [v.get_value() for v in self._nnx_variables()]
        return hosting.hosted_losses(self._static.layer, self._static.hosted, values, BACKEND)

    def get_weights(self):
        """Current weights as NumPy arrays in the layer's `get_weights()` order."""
        by_variable = {h.variable: v for h, v in zip(self._static.hosted, self._nnx_variables())}
        return [np.asarray(by_variable[v].get_value()) for v in self._static.layer.weights]


def to_flax(layer, input_shape=None):
    """Materialize `layer` (a unikeras Layer or Model) as a `flax.nnx.Module`; an unbuilt
    layer is built from `input_shape` (batch dim included). Weights are copied in."""
    return NnxModule(layer, input_shape)
