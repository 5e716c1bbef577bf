"""Recurrent cells: SimpleRNNCell, LSTMCell, GRUCell (one time step each) and StackedRNNCells.

A cell's `call(inputs, states, training)` computes one step and returns `(output,
new_states)`; the RNN layers run a whole sequence of a built-in cell through the fused
`rnn_sequence` op instead, with the same weights. The step math is the op's own
(`unikeras.common.ops.recurrent.make_step`), so a cell and its layer agree by construction.
"""
import numpy as np

from unikeras.common import activations, initializers
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.core import _serialize
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import control, nn, numpy as onp
from unikeras.common.ops import recurrent as rnn_ops
from unikeras.common.ops.random import dropout
from unikeras.common.saving import serialization
from unikeras.common.seed_generator import SeedGenerator

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]


def prefix_weight_paths(layer, prefix):
    """Put `prefix/` before the path of every weight of `layer` (a sublayer built inside
    its parent's build, as Keras names them: 'lstm/lstm_cell/kernel')."""
    for v in layer.weights:
        v.path = f"{prefix}/{v.path}"


class _UnitForgetBias:
    """LSTM bias initializer: `bias_initializer` for the i, c, o gates, ones for f."""

    def __init__(self, bias_initializer, units):
        self.bias_initializer, self.units = bias_initializer, units

    def __call__(self, shape, dtype=None):
        u = self.units
        return np.concatenate([self.bias_initializer((u,), dtype), np.ones((u,), dtype),
                               self.bias_initializer((2 * u,), dtype)])


class _GateMajor:
    """`initializer` whose NumPy arrays are laid out column-major: the same values and shape,
    (inputs, gates) as in Keras, with each gate column contiguous in memory. That memory is
    the (gates, inputs) row-major matrix fused recurrent kernels read (torch, oneDNN), so on a
    backend that keeps NumPy's memory order (torch) the transposed kernel is a view, neither
    copied in the forward nor its gradient in the backward."""

    def __init__(self, initializer):
        self.initializer = initializer

    def __call__(self, shape, dtype=None):
        value = self.initializer(shape, dtype)
        return np.asfortranarray(value) if isinstance(value, np.ndarray) else value


class _Cell(Layer):
    """What SimpleRNNCell, LSTMCell and GRUCell share: weights, dropout masks, config.

    `kind` names the op's cell ("simple", "lstm", "gru"). Dropout follows Keras: one input
    mask and one recurrent mask per sequence, drawn by `prepare_dropout` before the loop
    (the RNN layer does that) and reused at every step."""

    kind = None

    def __init__(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
                 recurrent_initializer, bias_initializer, kernel_regularizer,
                 recurrent_regularizer, bias_regularizer, kernel_constraint,
                 recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{describe(self)}: units must be a positive int, got {units!r}.")
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint, self.recurrent_constraint = kernel_constraint, recurrent_constraint
        self.bias_constraint = bias_constraint
        # Clipped into [0, 1], as Keras does.
        self.dropout = min(1.0, max(0.0, dropout))
        self.recurrent_dropout = min(1.0, max(0.0, recurrent_dropout))
        self.seed = seed
        if self.dropout or self.recurrent_dropout:
            self.seed_generator = SeedGenerator(seed)
        self.state_size = units
        self.output_size = units
        self._masks = None   # (input mask, recurrent mask) of the running sequence

    # --- weights -------------------------------------------------------------------------------
    def _bias_shape(self):
        return (rnn_ops.GATES[self.kind] * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{describe(self)}: the feature dimension of the input must be "
                             f"known, got shape {tuple(input_shape)}.")
        gates = rnn_ops.GATES[self.kind] * self.units
        self.kernel = self.add_weight(shape=(features, gates),
                                      initializer=_GateMajor(self.kernel_initializer),
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, gates), initializer=_GateMajor(self.recurrent_initializer),
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_initializer(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        self.built = True

    # --- dropout -------------------------------------------------------------------------------
    def _mask(self, rate, like, training):
        if not training or not rate or rate >= 1:
            return None
        return dropout(onp.ones_like(like), rate, seed=self.seed_generator)

    def prepare_dropout(self, step_inputs, states, training):
        """Draw this sequence's masks, shaped like one step's inputs and like the state h
        (the first of `states`)."""
        self._masks = (self._mask(self.dropout, step_inputs, training),
                       self._mask(self.recurrent_dropout, control.flatten(states)[0], training))
        return self._masks

    def clear_dropout(self):
        self._masks = None

    # --- one step ------------------------------------------------------------------------------
    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [onp.zeros((batch_size, s), self.compute_dtype) for s in sizes]

    def _reset_after(self):
        return True

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        input_mask, recurrent_mask = self._masks or (
            self._mask(self.dropout, inputs, training),
            self._mask(self.recurrent_dropout, states[0], training))
        if input_mask is not None:
            inputs = onp.multiply(inputs, input_mask)
        input_bias, recurrent_bias = rnn_ops.split_bias(self.kind, self.bias, self._reset_after())
        step = rnn_ops.make_step(self.kind, self.recurrent_kernel, recurrent_bias, self.activation,
                                 self.recurrent_activation, self._reset_after(), recurrent_mask)
        return step(nn.dense(inputs, self.kernel, input_bias), states)

    # --- config --------------------------------------------------------------------------------
    def _weights_config(self):
        names = ("kernel", "recurrent", "bias")
        config = {f"{n}_initializer": _serialize(getattr(self, f"{n}_initializer")) for n in names}
        config.update({f"{n}_regularizer": _serialize(getattr(self, f"{n}_regularizer"))
                       for n in names})
        config.update({f"{n}_constraint": _serialize(getattr(self, f"{n}_constraint"))
                       for n in names})
        return config

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": activations.serialize(self.activation)}
        if self.kind != "simple":
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return {**config, "use_bias": self.use_bias, **self._weights_config(),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: `h = activation(x @ kernel + h @ recurrent_kernel +
    bias)`; the output is h."""

    kind = "simple"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)


class LSTMCell(_Cell):
    """One LSTM step (gates i, f, c, o in the kernel's columns); states [h, c]."""

    kind = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def _bias_initializer(self):
        if self.unit_forget_bias:
            return _UnitForgetBias(self.bias_initializer, self.units)
        return self.bias_initializer

    def get_config(self):
        config = super().get_config()
        return {**config, "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """One GRU step (gates z, r, h in the kernel's columns). `reset_after=True` applies the
    reset gate after the recurrent matmul and keeps two bias vectors (input, recurrent)."""

    kind = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)
        self.reset_after = reset_after

    def _reset_after(self):
        return self.reset_after

    def _bias_shape(self):
        gates = 3 * self.units
        return (2, gates) if self.reset_after else (gates,)

    def get_config(self):
        config = super().get_config()
        seed = config.pop("seed")
        return {**config, "reset_after": self.reset_after, "seed": seed}


def flat_state_sizes(state_size):
    """The state sizes of a (possibly nested) `state_size`, flattened."""
    return [int(s) for s in control.flatten(state_size)]


class StackedRNNCells(Layer):
    """Cells run one after the other at each step: cell k reads cell k-1's output. The
    states are one list per cell."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(f"{describe(self)}: every cell needs `call` and `state_size`, "
                                 f"got {cell!r}.")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", None) or flat_state_sizes(last.state_size)[0]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(shape)
                cell.built = True
                prefix_weight_paths(cell, self.name)
            size = getattr(cell, "output_size", None) or flat_state_sizes(cell.state_size)[0]
            shape = shape[:-1] + (size,)
        self.built = True

    def prepare_dropout(self, step_inputs, states, training):
        """Each cell's masks: cell k's inputs are shaped like cell k-1's state."""
        like = step_inputs
        for cell, cell_states in zip(self.cells, states):
            if hasattr(cell, "prepare_dropout"):
                cell.prepare_dropout(like, cell_states, training)
            like = control.flatten(cell_states)[0]

    def clear_dropout(self):
        for cell in self.cells:
            if hasattr(cell, "clear_dropout"):
                cell.clear_dropout()

    def get_initial_state(self, batch_size=None):
        return [cell.get_initial_state(batch_size) for cell in self.cells]

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            nested = isinstance(cell_states, (list, tuple))
            inputs, new = cell(inputs, list(cell_states) if nested else [cell_states],
                               training=training)
            new_states.append(list(new) if isinstance(new, (list, tuple)) else [new])
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(),
                "cells": [serialization.serialize_keras_object(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def deserialize_layer(config, custom_objects=None):
    """The layer a Keras config dict describes: a class from `custom_objects`, one registered
    with `register_keras_serializable`, or one of `unikeras.layers` (no code runs)."""
    from unikeras import layers
    name = config.get("class_name")
    cls = ((custom_objects or {}).get(name)
           or serialization._registered.get(config.get("registered_name"))
           or getattr(layers, name, None))
    if not isinstance(cls, type) or not issubclass(cls, Layer):
        raise ValueError(f"Unknown layer class {name!r} in config: pass it in custom_objects or "
                         "decorate it with register_keras_serializable.")
    return cls.from_config(config.get("config", {}))
