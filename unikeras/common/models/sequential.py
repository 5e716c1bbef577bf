"""Sequential: a stack of single-input, single-output layers."""
from unikeras.common.layers.input_layer import Input, InputLayer
from unikeras.common.layers.layer import Layer
from unikeras.common.models.functional import Functional
from unikeras.common.models.model import Model


class Sequential(Model):
    """Layers applied in order; builds a functional graph as soon as the input shape is
    known (from an `Input`/`InputLayer`, an `input_shape` argument, or the first call)."""

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._set_untracked(_input_layer=None, _functional=None, _last_output_masks=None)
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_graph()

    def add(self, layer, rebuild=True):
        """Append a layer (an `Input()` tensor becomes the InputLayer)."""
        if hasattr(layer, "_history") and layer._history is not None and isinstance(
                layer._history[0].operation, InputLayer):
            layer = layer._history[0].operation
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError("Sequential: an InputLayer can only be the first layer.")
            self._set_untracked(_input_layer=layer)
        else:
            if layer.name in [existing.name for existing in self._layers]:
                raise ValueError(f"Sequential: a layer named {layer.name!r} is already in the model.")
            self._layers.append(layer)
        self._set_untracked(_functional=None)
        self.built = False
        if rebuild:
            self._maybe_build_graph()

    def pop(self, rebuild=True):
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers to remove.")
        layer = self._layers.pop()
        self._set_untracked(_functional=None)
        self.built = False
        if rebuild:
            self._maybe_build_graph()
        return layer

    def _maybe_build_graph(self):
        if self._input_layer is not None:
            inputs = self._input_layer.output
        elif self._layers and self._layers[0]._input_shape_arg is not None:
            batch_shape = self._layers[0]._input_shape_arg
            self._set_untracked(_input_layer=InputLayer(batch_shape=batch_shape,
                                                        name=f"{self.name}_input"))
            inputs = self._input_layer.output
        else:
            return
        x = inputs
        for layer in self._layers:
            x = layer(x)
        self._set_untracked(_functional=Functional(inputs, x, name=self.name))
        self.built = True

    def build(self, input_shape=None):
        if self._functional is None:
            if input_shape is None:
                raise ValueError(f"Sequential '{self.name}': build() needs an input shape.")
            self._set_untracked(_input_layer=InputLayer(
                batch_shape=(None,) + tuple(input_shape[1:]), name=f"{self.name}_input"))
            self._maybe_build_graph()
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if self._functional is not None:
            outputs = self._functional.call(inputs, training=training, mask=mask)
            self.__dict__["_last_output_masks"] = self._functional._last_output_masks
            return outputs
        x = inputs
        for layer in self._layers:
            kwargs = {"training": training} if layer._call_has_training else {}
            x, mask = layer._call_and_mask((x,), kwargs, mask)
        self.__dict__["_last_output_masks"] = mask
        return x

    def compute_output_spec(self, inputs, training=None, mask=None):
        return self.call(inputs, training=training, mask=mask)

    def compute_mask(self, inputs, previous_mask):
        """Mask of the outputs (runs the layers)."""
        self.call(inputs, mask=previous_mask)
        return self._last_output_masks

    def _output_mask(self, inputs, previous_mask):
        return self._last_output_masks  # computed by the call that just ran

    @property
    def input_shape(self):
        if self._input_layer is None:
            raise AttributeError(f"Sequential '{self.name}' has no defined input shape yet.")
        return self._input_layer.batch_shape

    @property
    def output_shape(self):
        if self._functional is None:
            raise AttributeError(f"Sequential '{self.name}' has no defined output shape yet.")
        return self._functional.output_shape

    @property
    def inputs(self):
        return self._functional.inputs if self._functional else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional else None

    def get_config(self):
        from unikeras.common.saving.serialization import serialize_keras_object
        layers = [serialize_keras_object(layer) for layer in
                  ([self._input_layer] if self._input_layer is not None else []) + self._layers]
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from unikeras.common.saving.serialization import deserialize_keras_object
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize_keras_object(layer_config, custom_objects), rebuild=False)
        model._maybe_build_graph()
        return model


__all__ = ["Sequential", "Input"]
