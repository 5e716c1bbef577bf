"""`export_saved_model`: a unikeras model as a TensorFlow SavedModel that serves without
unikeras.

The artifact holds the `to_tf` module's variables and one inference function traced for
inputs whose batch dimension is free. It is reachable as the `serve` endpoint (what
`TFSMLayer` calls by default, as for a Keras `model.export`) and as the `serving_default`
signature (what TF Serving and `loaded.signatures` use).
"""
import os

import tensorflow as tf

from unikeras.adapters.tf_module.module import TFLayer, to_tf
from unikeras.common import tree
from unikeras.common.saving.atomic import replace_directory, staging_directory


class ServingModule(tf.Module):
    """The exported root: the model's `to_tf` module and its `serve` function, which calls
    it in inference mode and names the outputs `output_0`, `output_1`, ..."""

    def __init__(self, module, input_signature):
        super().__init__(name=f"{module.name}_serving")
        self.model = module
        self.serve = tf.function(self._serve, input_signature=input_signature)

    def _serve(self, *inputs):
        outputs = self.model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)
        return {f"output_{i}": out for i, out in enumerate(tree.flatten(outputs))}


def model_input_signature(layer):
    """A `tf.TensorSpec` per input of `layer` (a model with `Input`s), batch dim free."""
    inputs = getattr(layer, "inputs", None)
    if not inputs:
        raise ValueError(f"export_saved_model: '{layer.name}' ({type(layer).__name__}) has no "
                         "Input to take the serving signature from; pass input_signature (a "
                         "list of tf.TensorSpec, e.g. [tf.TensorSpec([None, 784], tf.float32)]).")
    return [tf.TensorSpec([None] + list(t.shape[1:]), tf.as_dtype(t.dtype),
                          name=t.name or f"input_{i}") for i, t in enumerate(inputs)]


def export_saved_model(model_or_module, path, input_signature=None):
    """Write `model_or_module` (a unikeras model, or its `to_tf` module) as a SavedModel at
    `path` and return `path`.

    `input_signature` defaults to the model's `Input`s with a free batch dimension. The
    artifact is written in a staging folder next to `path` and renamed into place once
    complete: a failed export leaves `path` as it was, a successful one replaces it whole."""
    module = model_or_module if isinstance(model_or_module, TFLayer) else to_tf(model_or_module)
    if input_signature is None:
        input_signature = model_input_signature(module.layer)
    serving = ServingModule(module, list(input_signature))
    path = os.fspath(path)
    with staging_directory(path) as staging:
        staged = os.path.join(staging, "artifact")  # made by TF with the user's usual modes
        tf.saved_model.save(serving, staged, signatures={"serving_default": serving.serve})
        replace_directory(staged, path, staging)
    return path
