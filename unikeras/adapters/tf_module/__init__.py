"""TensorFlow adapter: tf op table, runtime, `to_tf` (layers as tf.Modules) and
`export_saved_model` (SavedModels that serve without unikeras).

Importing the adapter imports TensorFlow, without its start-up banner (see `tf_logging`)."""
from unikeras.adapters.tf_module.autograph import keep_unikeras_unconverted
from unikeras.adapters.tf_module.tf_logging import import_tensorflow

import_tensorflow()
keep_unikeras_unconverted()


def to_tf(layer, input_shape=None):
    """Materialize a unikeras layer or model as a `tf.Module` (see `module.to_tf`)."""
    from unikeras.adapters.tf_module.module import to_tf as _to_tf
    return _to_tf(layer, input_shape)


def export_saved_model(model_or_module, path, input_signature=None):
    """Write a unikeras model (or its `to_tf` module) as a SavedModel that serves without
    unikeras, batch dimension free (see `saved_model.export_saved_model`)."""
    from unikeras.adapters.tf_module.saved_model import export_saved_model as _export
    return _export(model_or_module, path, input_signature)
