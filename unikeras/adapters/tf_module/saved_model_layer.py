"""`TFSMLayer`: a TensorFlow SavedModel endpoint as a unikeras layer (tensorflow backend).

The layer calls the reloaded function as it is, and adopts the `tf.Variable`s it captures
as its own weights (trainable where the SavedModel says so): `get_weights`/`set_weights`
read and write the very variables the function computes with.
"""
import os

import tensorflow as tf

from unikeras.common.layers.layer import Layer
from unikeras.common.ops import dispatch
from unikeras.common.symbolic import KerasTensor
from unikeras.common.variables import Variable

BACKEND = "tensorflow"


def _endpoint(loaded, name, filepath, layer_name):
    """The function named `name`: a signature, else a saved function of the reloaded object."""
    if name in loaded.signatures:
        return loaded.signatures[name]
    fn = getattr(loaded, name, None)
    if not isinstance(fn, tf.types.experimental.PolymorphicFunction):
        available = set(loaded.signatures) | {
            a for a in dir(loaded) if not a.startswith("_")
            and isinstance(getattr(loaded, a), tf.types.experimental.PolymorphicFunction)}
        raise ValueError(f"TFSMLayer '{layer_name}': the SavedModel at '{filepath}' has no "
                         f"endpoint {name!r}; available: {sorted(available)}.")
    return fn


def _concrete_functions(fn):
    if isinstance(fn, tf.types.experimental.ConcreteFunction):
        return [fn]
    return list(fn.concrete_functions)


def _distinct(name, taken):
    """`name`, or `name_1`, `name_2`, ... when taken (a SavedModel has many a 'kernel')."""
    candidate, i = name, 0
    while candidate in taken:
        i += 1
        candidate = f"{name}_{i}"
    return candidate


class TFSMLayer(Layer):
    """Reload the SavedModel at `filepath` as a layer whose call is its `call_endpoint` (a
    signature such as 'serving_default', or a saved function such as 'serve', which
    `export_saved_model` and Keras's `model.export` write); `call_training_endpoint`, if
    given, serves calls with `training=True`. TensorFlow backend only."""

    def __init__(self, filepath, call_endpoint="serve", call_training_endpoint=None,
                 trainable=True, name=None, dtype=None):
        super().__init__(trainable=trainable, name=name, dtype=dtype)
        backend = dispatch.current_backend()
        if backend != BACKEND:
            raise ValueError(f"TFSMLayer '{self.name}': a SavedModel runs on the tensorflow "
                             f"backend only; the current backend is {backend!r}. Select it "
                             "(unikeras.config.set_backend('tensorflow') or backend_scope).")
        self.filepath = os.fspath(filepath)
        if not tf.saved_model.contains_saved_model(self.filepath):
            raise ValueError(f"TFSMLayer '{self.name}': no SavedModel at '{self.filepath}'.")
        self.call_endpoint = call_endpoint
        self.call_training_endpoint = call_training_endpoint
        loaded = tf.saved_model.load(self.filepath)
        self._set_untracked(_reloaded=loaded)
        self._call_fn = _endpoint(loaded, call_endpoint, self.filepath, self.name)
        self._training_fn = (None if call_training_endpoint is None else
                             _endpoint(loaded, call_training_endpoint, self.filepath, self.name))
        self._adopt_variables([self._call_fn, self._training_fn])
        self.built = True

    def _adopt_variables(self, endpoints):
        seen, names = set(), set()
        for fn in endpoints:
            for concrete in _concrete_functions(fn) if fn is not None else ():
                for v in concrete.variables:
                    if id(v) not in seen:
                        seen.add(id(v))
                        name = _distinct(v.name.split(":")[0], names)
                        names.add(name)
                        adopted = Variable.from_storage(v, BACKEND, v.dtype.name, v.trainable, name)
                        adopted.path = f"{self.name}/{name}"
                        self._own_variables.append(adopted)

    def _function(self, training):
        return self._training_fn if training and self._training_fn is not None else self._call_fn

    def call(self, inputs, training=False):
        fn = self._function(training)
        if isinstance(fn, tf.types.experimental.ConcreteFunction):  # a signature: a tensor per arg
            if isinstance(inputs, dict):
                return fn(**inputs)
            return fn(*inputs) if isinstance(inputs, (list, tuple)) else fn(inputs)
        return fn(inputs)

    def compute_output_spec(self, inputs, training=False):
        concrete = _concrete_functions(self._function(training))[0]
        return tf.nest.map_structure(
            lambda s: KerasTensor(s.shape.as_list(), s.dtype.name), concrete.structured_outputs)

    def get_config(self):
        config = super().get_config()
        config.update(filepath=self.filepath, call_endpoint=self.call_endpoint,
                      call_training_endpoint=self.call_training_endpoint)
        return config
