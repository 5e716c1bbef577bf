"""Bidirectional: one recurrent layer reading the sequence forwards, a copy reading it
backwards, their outputs merged."""
from unikeras.common.layers.layer import Layer
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.recurrent_cells import deserialize_layer, prefix_weight_paths
from unikeras.common.ops import arrays, control, numpy as onp
from unikeras.common.saving import serialization

__all__ = ["Bidirectional"]

_MERGES = {"concat": lambda a, b: onp.concatenate([a, b], axis=-1), "sum": onp.add,
           "mul": onp.multiply, "ave": lambda a, b: onp.multiply(onp.add(a, b), 0.5)}


def _copy(layer, name, **overrides):
    """A fresh layer with `layer`'s config, renamed (its weights are new)."""
    config = serialization.serialize_keras_object(layer)
    config["config"] = {**config["config"], "name": name, **overrides}
    return deserialize_layer(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs `layer` (an RNN) forwards and `backward_layer` (by default a copy of `layer` with
    `go_backwards` flipped) backwards; `merge_mode` 'concat', 'sum', 'mul', 'ave' or None
    (the two outputs as a list). The backward outputs are put back in time order."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(f"{describe(self)}: `layer` must be a recurrent layer (with "
                             f"`go_backwards`), got {layer!r}.")
        if merge_mode not in _MERGES and merge_mode is not None:
            raise ValueError(f"{describe(self)}: merge_mode must be one of "
                             f"{sorted(_MERGES) + [None]}, got {merge_mode!r}.")
        if backward_layer is not None:
            self._check_backward(layer, backward_layer)
        self.forward_layer = _copy(layer, "forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _copy(layer, "backward_" + _strip(layer.name, "forward_"),
                                   go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = self.return_sequences
        self._initial_weights = weights

    def _check_backward(self, layer, backward):
        if backward.go_backwards == layer.go_backwards:
            raise ValueError(f"{describe(self)}: backward_layer.go_backwards must be the opposite "
                             f"of layer.go_backwards ({layer.go_backwards}).")
        for attr in ("return_sequences", "return_state", "stateful"):
            if getattr(backward, attr) != getattr(layer, attr):
                raise ValueError(f"{describe(self)}: backward_layer.{attr} "
                                 f"({getattr(backward, attr)}) differs from layer.{attr} "
                                 f"({getattr(layer, attr)}).")

    def build(self, sequences_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(sequences_shape)
                sub.built = True
            prefix_weight_paths(sub, self.name)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask,
                               training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask,
                                    training=training)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = arrays.flip(y_rev, 1)
        if self.merge_mode is None:
            return (y, y_rev) + states
        output = _MERGES[self.merge_mode](y, y_rev)
        return (output,) + states if self.return_state else output

    def compute_mask(self, inputs, previous_mask):
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_states = len(control.flatten(self.forward_layer._state_structure()))
            return masks + [None] * (2 * n_states)
        return masks if self.merge_mode is None else output_mask

    @property
    def states(self):
        return self.forward_layer.states + self.backward_layer.states

    def reset_states(self, states=None):
        """Zero both directions' states, or set them to `states` (forward ones first)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    reset_state = reset_states

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialization.serialize_keras_object(self.forward_layer),
                "backward_layer": serialization.serialize_keras_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)
