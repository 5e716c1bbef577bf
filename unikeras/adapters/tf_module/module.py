"""`to_tf`: a unikeras layer or model as a genuine `tf.Module`.

Weights become `tf.Variable`s (trainable or not; seed states and layer states, such as a
stateful RNN's, non-trainable) on a child `tf.Module` per sublayer, named by their
canonical path. `__call__` reads them through the
module being called and runs the layer's math with tf ops, so it works under
`tf.function` (also `jit_compile=True`), `tf.GradientTape` and `tf.saved_model`.
"""
import numpy as np
import tensorflow as tf

from unikeras.adapters import hosting
from unikeras.adapters.tf_module import ops as _tf_ops  # noqa: F401  (installs the AutoGraph rule)

BACKEND = "tensorflow"


def _as_variable(hosted):
    v = hosted.variable
    value = v.value
    if isinstance(value, tf.Variable):
        return value
    from unikeras.common.ops import dispatch
    array = np.asarray(dispatch.get_table(v.backend).convert_to_numpy(value))
    return tf.Variable(array, trainable=hosted.kind == hosting.PARAM, name="/".join(hosted.path))


class TFLayer(tf.Module):
    """Native tf.Module hosting a unikeras layer's variables; see module docstring.
    Calls run in inference mode unless `training=True` is passed, as in Keras."""

    def __init__(self, layer, input_shape=None):
        super().__init__(name=layer.name)
        hosting.ensure_built(layer, BACKEND, input_shape)
        if not layer.built:
            raise ValueError(f"to_tf: layer '{layer.name}' is not built; pass input_shape "
                             "(batch dim included, e.g. (None, 784)).")
        self._uk_layer = layer
        self._uk_hosted = tuple(hosting.hosted_variables(layer))
        holders = {(): self}
        for path in hosting.module_paths(self._uk_hosted):
            with holders[path[:-1]].name_scope:
                child = tf.Module(name=path[-1])
            setattr(holders[path[:-1]], path[-1], child)
            holders[path] = child
        for h in self._uk_hosted:
            setattr(holders[h.path[:-1]], h.path[-1], _as_variable(h))

    @property
    def layer(self):
        return self._uk_layer

    def _tf_variables(self):
        out = []
        for h in self._uk_hosted:
            obj = self
            for part in h.path:
                obj = getattr(obj, part)
            out.append(obj)
        return out

    def __call__(self, *args, **kwargs):
        if self._uk_layer._call_has_training or "training" in kwargs:
            kwargs.setdefault("training", False)
        tf_vars = self._tf_variables()
        outputs, updates = hosting.run_hosted(self._uk_layer, self._uk_hosted, tf_vars, BACKEND,
                                              args, kwargs)
        for i, new in updates:
            tf_vars[i].assign(new)
        return outputs

    @property
    def losses(self):
        """The layer's losses: those its last call added, then weight penalties computed
        from this module's variables (so `tf.GradientTape` sees them)."""
        return hosting.hosted_losses(self._uk_layer, self._uk_hosted, self._tf_variables(),
                                     BACKEND)

    def get_weights(self):
        """Current weights as NumPy arrays in the layer's `get_weights()` order."""
        by_variable = {h.variable: v for h, v in zip(self._uk_hosted, self._tf_variables())}
        return [by_variable[v].numpy() for v in self._uk_layer.weights]


def to_tf(layer, input_shape=None):
    """Materialize `layer` (a unikeras Layer or Model) as a `tf.Module`; an unbuilt layer is
    built from `input_shape` (batch dim included). Weights already in tf are shared."""
    return TFLayer(layer, input_shape)
