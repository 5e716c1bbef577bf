"""TensorFlow adapter: tf op table, runtime, and `to_tf` (layers as tf.Modules).

Importing the adapter imports TensorFlow, without its start-up banner (see `tf_logging`)."""
from unikeras.adapters.tf_module.tf_logging import import_tensorflow

import_tensorflow()


def to_tf(layer, input_shape=None):
    """Materialize a unikeras layer or model as a `tf.Module` (see `module.to_tf`)."""
    from unikeras.adapters.tf_module.module import to_tf as _to_tf
    return _to_tf(layer, input_shape)
