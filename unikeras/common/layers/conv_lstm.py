"""ConvLSTM1D / 2D / 3D: LSTMs whose input and recurrent transforms are convolutions.

One cell class and one layer class parameterized by `rank` (spatial dims). As fast RNN
kernels do with the input projection, the layer runs the input convolution (the layer's
strides / padding / dilation) once over every time step, batch and time folded together
(`project_inputs`); the scan over time (`control.scan`) then runs only the recurrent
convolution ('same', stride 1) and the LSTM gates (`recurrent_step`).
"""
from unikeras.common.layers.arguments import (
    describe, int_tuple, standardize_data_format, standardize_padding)
from unikeras.common.layers.recurrent_cells import _Cell, _UnitForgetBias
from unikeras.common.layers.rnn import BuiltinCellRNN
from unikeras.common.ops import arrays, neural, numpy as onp

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]


class ConvLSTMCell(_Cell):
    """One ConvLSTM step on (batch, spatial..., channels) inputs (channels first with
    data_format='channels_first'); states [h, c] of the output's spatial shape."""

    kind = "lstm"

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(filters, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)
        self.rank, self.filters = rank, filters
        self.kernel_size = int_tuple(self, "kernel_size", kernel_size, rank)
        self.strides = int_tuple(self, "strides", strides, rank)
        self.dilation_rate = int_tuple(self, "dilation_rate", dilation_rate, rank)
        self.padding = standardize_padding(self, padding)
        self.data_format = standardize_data_format(self, data_format)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [filters, filters]
        self._channel_axis = -1 if self.data_format == "channels_last" else 1

    def _bias_initializer(self):
        return (_UnitForgetBias(self.bias_initializer, self.filters) if self.unit_forget_bias
                else self.bias_initializer)

    def _spatial(self, step_shape):
        return step_shape[1:-1] if self.data_format == "channels_last" else step_shape[2:]

    def state_shapes(self, step_shape):
        """Shape of h and c (without batch): the input convolution's output shape."""
        spatial = [neural.conv_out_length(n, k, s, d, self.padding) if n is not None else None
                   for n, k, s, d in zip(self._spatial(step_shape), self.kernel_size,
                                         self.strides, self.dilation_rate)]
        if None in spatial:
            raise ValueError(f"{describe(self)}: the spatial dimensions of the input must be "
                             f"known, got shape {tuple(step_shape)}.")
        shape = tuple(spatial) + (self.filters,) if self.data_format == "channels_last" else (
            (self.filters,) + tuple(spatial))
        return [shape, shape]

    def build(self, step_shape):
        channels = step_shape[self._channel_axis]
        if len(step_shape) != self.rank + 2 or channels is None:
            raise ValueError(f"{describe(self)}: expected steps of rank {self.rank + 2} with a "
                             f"known channel dimension, got shape {tuple(step_shape)}.")
        gates = 4 * self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, gates),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, gates), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = self.add_weight(shape=(gates,), initializer=self._bias_initializer(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        self._bias_shape = (gates,) + (1,) * self.rank if self.data_format == "channels_first" \
            else None
        self.built = True

    def _input_transform(self, inputs):
        """The input convolution plus bias, on (batch, spatial..., channels) steps."""
        z = neural.conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                        self.dilation_rate)
        if self.bias is None:
            return z
        return onp.add(z, self.bias if self._bias_shape is None
                       else onp.reshape(self.bias, self._bias_shape))

    def project_inputs(self, sequences, training=False):
        """`_input_transform` of every step of (batch, time, ...) `sequences` at once, their
        dropout mask applied (one mask for the whole sequence, as in a step-by-step run)."""
        input_mask = self._masks[0] if self._masks else self._mask(
            self.dropout, onp.get_item(sequences, (slice(None), 0)), training)
        if input_mask is not None:
            sequences = onp.multiply(sequences, onp.expand_dims(input_mask, 1))
        z = self._input_transform(arrays.fold_leading(sequences, 2))
        return arrays.unfold_leading(z, sequences, 2)

    def call(self, inputs, states, training=False):
        """One step on raw inputs (the layer itself uses `project_inputs` then
        `recurrent_step`)."""
        input_mask = self._masks[0] if self._masks else self._mask(self.dropout, inputs,
                                                                   training)
        if input_mask is not None:
            inputs = onp.multiply(inputs, input_mask)
        return self.recurrent_step(self._input_transform(inputs), states, training)

    def recurrent_step(self, projected, states, training=False):
        """One step from the projected inputs: the recurrent convolution and the gates."""
        h, c = states
        recurrent_mask = self._masks[1] if self._masks else self._mask(
            self.recurrent_dropout, h, training)
        hr = h if recurrent_mask is None else onp.multiply(h, recurrent_mask)
        z = onp.add(projected, neural.conv(hr, self.recurrent_kernel, 1, "same",
                                           self.data_format))
        i, f, g, o = arrays.split(z, 4, axis=self._channel_axis)
        rec_act = self.recurrent_activation
        c = onp.add(onp.multiply(rec_act(f), c), onp.multiply(rec_act(i), self.activation(g)))
        h = onp.multiply(rec_act(o), self.activation(c))
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        seed = config.pop("seed")
        config.pop("units")
        return {**config, "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "unit_forget_bias": self.unit_forget_bias, "seed": seed}


class _ConvLSTM(BuiltinCellRNN):
    """ConvLSTM of `rank` spatial dims: inputs (batch, time, spatial..., channels)."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        shared = {k: kwargs[k] for k in ("dtype", "trainable") if k in kwargs}
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides, padding, data_format, dilation_rate,
            activation, recurrent_activation, use_bias, kernel_initializer,
            recurrent_initializer, bias_initializer, unit_forget_bias, kernel_regularizer,
            recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
            bias_constraint, dropout, recurrent_dropout, seed, name="conv_lstm_cell", **shared)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)

    @property
    def input_rank(self):
        return self.rank + 3


class ConvLSTM1D(_ConvLSTM):
    """ConvLSTM over (batch, time, steps, channels) inputs."""
    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """ConvLSTM over (batch, time, rows, cols, channels) inputs."""
    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """ConvLSTM over (batch, time, dim1, dim2, dim3, channels) inputs."""
    rank = 3
