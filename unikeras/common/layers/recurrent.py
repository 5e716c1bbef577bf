"""Recurrent layers: RNN, cells, SimpleRNN / LSTM / GRU, StackedRNNCells, Bidirectional,
TimeDistributed, ConvLSTM.

SimpleRNN, LSTM and GRU are an RNN around their built-in cell (named `simple_rnn_cell`,
`lstm_cell`, `gru_cell`, so weights read 'lstm/lstm_cell/kernel' as in Keras); their whole
sequence runs as one fused `rnn_sequence` op. The other recurrent families live in their own
modules and are re-exported here.
"""
import inspect

from unikeras.common.layers.bidirectional import Bidirectional
from unikeras.common.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from unikeras.common.layers.recurrent_cells import (
    GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells)
from unikeras.common.layers.rnn import RNN, BuiltinCellRNN
from unikeras.common.layers.time_distributed import TimeDistributed

__all__ = ["RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "SimpleRNN", "LSTM",
           "GRU", "Bidirectional", "TimeDistributed", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")


class _CellRNN(BuiltinCellRNN):
    """An RNN made from its arguments: the cell's go to a `cell_class` named `cell_name`, the
    rest to RNN."""

    cell_class = None
    cell_name = None

    def __init__(self, arguments, kwargs):
        cell_params = inspect.signature(self.cell_class.__init__).parameters
        cell_args = {k: v for k, v in arguments.items()
                     if k in cell_params and k not in ("self", "kwargs")}
        shared = {k: kwargs[k] for k in ("dtype", "trainable") if k in kwargs}
        cell = self.cell_class(**cell_args, name=self.cell_name, **shared)
        super().__init__(cell, **{k: arguments[k] for k in _RNN_ARGS},
                         activity_regularizer=arguments["activity_regularizer"], **kwargs)


class SimpleRNN(_CellRNN):
    """Fully connected RNN whose output is fed back: `h = activation(x W + h U + b)`."""

    cell_class, cell_name, config_has_seed = SimpleRNNCell, "simple_rnn_cell", False

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(dict(locals()), kwargs)


class LSTM(_CellRNN):
    """Long short-term memory layer (Hochreiter & Schmidhuber, 1997); states [h, c]."""

    cell_class, cell_name = LSTMCell, "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(dict(locals()), kwargs)


class GRU(_CellRNN):
    """Gated recurrent unit (Cho et al., 2014); `reset_after=True` is the cuDNN / torch form
    with separate input and recurrent biases."""

    cell_class, cell_name = GRUCell, "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(dict(locals()), kwargs)
