"""RNN: runs a cell over the time axis of (batch, time, ...) inputs.

A built-in SimpleRNNCell / LSTMCell / GRUCell with built-in activations runs as one fused
`rnn_sequence` op (torch.lstm & co., lax.scan, tf.while_loop, OpenVINO sequence nodes); any
other cell (custom cells, StackedRNNCells, ConvLSTM cells) runs through `control.scan` with
the cell's own `call` as the step. Masks, `go_backwards`, initial and stateful states behave
as in Keras 3 either way.
"""

from unikeras.common import activations
from unikeras.common.layers.core import _serialize
from unikeras.common.layers.layer import Layer
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.recurrent_cells import (
    GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells, deserialize_layer, flat_state_sizes,
    prefix_weight_paths)
from unikeras.common.ops import arrays, control, core, dispatch, numpy as onp
from unikeras.common.ops import recurrent as rnn_ops
from unikeras.common.saving import serialization
from unikeras.common.symbolic import KerasTensor

__all__ = ["RNN"]

_CELL_ATTRS = frozenset((
    "units", "filters", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "reset_after", "seed", "kernel_size",
    "strides", "padding", "data_format", "dilation_rate"))

_FUSED_CELLS = {SimpleRNNCell: "simple", LSTMCell: "lstm", GRUCell: "gru"}


def _zero_states(sequences, shapes):
    """Zeros of shape (batch,) + shape for each of `shapes`, made from `sequences` (batch,
    time, ...) so that they live on its backend and device with its dtype and keep an
    unknown batch size dynamic (symbolic and OpenVINO graphs). Three ops in all (equal
    shapes share one tensor): on an eager host they run on every call."""
    batch, rank = core.shape(sequences)[0], len(core.shape(sequences))
    corner = onp.get_item(sequences, (slice(None), 0) + (slice(0, 1),) * (rank - 2))
    corner = onp.zeros_like(corner)   # (batch, 1, ...)
    made = {}
    for shape in map(tuple, shapes):
        if shape not in made:
            base = corner if len(shape) == rank - 2 else onp.reshape(
                corner, (-1,) + (1,) * len(shape))
            made[shape] = (arrays.tile(base, (1,) + shape) if batch is None
                           else arrays.broadcast_to(base, (batch,) + shape))
    return [made[tuple(shape)] for shape in shapes]


def _first_step(sequences):
    return onp.get_item(sequences, (slice(None), 0))


class RNN(Layer):
    """Base recurrent layer: `cell` (a cell, or a list of cells stacked) over the time axis."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f"{describe(self)}: the cell must have a `call(inputs, states)` "
                             f"method and a `state_size` attribute, got {cell!r}.")
        self.cell = cell
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.unroll = go_backwards, stateful, unroll
        self.zero_output_for_mask = zero_output_for_mask
        self._states = []      # a stateful layer's states (Layer.add_state), flat
        self._fused = None     # keyword arguments of rnn_sequence when the cell is fusable

    # --- shapes -------------------------------------------------------------------------------
    input_rank = 3

    def _check_inputs(self, shape):
        """ValueError naming the layer unless `shape` is (batch, time, features...) matching
        the built weights."""
        if len(shape) != self.input_rank:
            raise ValueError(f"{describe(self)}: expected inputs of rank {self.input_rank} "
                             f"(batch, time, ...), got shape {tuple(shape)}.")
        built = getattr(self, "_step_shape", None)
        if built is not None and any(a is not None and b is not None and a != b
                                     for a, b in zip(built[1:], shape[2:])):
            raise ValueError(f"{describe(self)}: expected inputs of shape (batch, time) + "
                             f"{tuple(built[1:])}, got shape {tuple(shape)}.")

    def _state_shapes(self, step_shape):
        """Each flat state's shape without the batch dim."""
        if hasattr(self.cell, "state_shapes"):
            return self.cell.state_shapes(step_shape)
        return [(s,) for s in flat_state_sizes(self.cell.state_size)]

    def _state_structure(self):
        """The cell's states as a structure of placeholders (one list entry per state, a
        list per cell for stacked cells)."""
        size = self.cell.state_size
        if not isinstance(size, (list, tuple)):
            return [0]
        if any(isinstance(s, (list, tuple)) for s in size):
            return [[0] * len(s) if isinstance(s, (list, tuple)) else [0] for s in size]
        return [0] * len(size)

    # --- building -----------------------------------------------------------------------------
    def build(self, sequences_shape):
        shape = tuple(sequences_shape)
        self._check_inputs(shape)
        step_shape = (shape[0],) + shape[2:]
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
            prefix_weight_paths(self.cell, self.name)
        self._step_shape = step_shape
        self._fused = self._fused_arguments()
        if self.stateful:
            self._build_states(step_shape)
        self.built = True

    def _fused_arguments(self):
        kind = _FUSED_CELLS.get(type(self.cell))
        if kind is None:
            return None
        names = (activations.serialize(self.cell.activation),
                 activations.serialize(self.cell.recurrent_activation))
        if not all(isinstance(n, str) for n in names):
            return None
        return {"kind": kind, "activation": names[0], "recurrent_activation": names[1],
                "reset_after": getattr(self.cell, "reset_after", True)}

    def _build_states(self, step_shape):
        batch = step_shape[0]
        if batch is None:
            raise ValueError(f"{describe(self)}: a stateful RNN needs a fixed batch size; give "
                             "the input one (e.g. Input(batch_shape=(32, None, 8))).")
        self._states = [self.add_state((batch,) + tuple(shape), dtype=self.compute_dtype,
                                       name="rnn_state")
                        for shape in self._state_shapes(step_shape)]

    def reset_states(self, states=None):
        """Zero the states of a stateful layer, or set them to `states` (arrays)."""
        if not self.stateful:
            raise AttributeError(f"{describe(self)}: reset_states needs stateful=True.")
        values = [None] * len(self._states) if states is None else list(control.flatten(states))
        if len(values) != len(self._states):
            raise ValueError(f"{describe(self)}: expected {len(self._states)} states, got "
                             f"{len(values)}.")
        for v, value in zip(self._states, values):
            with dispatch.backend_scope(v.backend):
                v.assign(onp.zeros(v.shape, v.dtype) if value is None
                         else core.convert_to_tensor(value, v.dtype))

    reset_state = reset_states

    def get_initial_state(self, batch_size):
        """Zero states for `batch_size` sequences, structured as the cell's states."""
        if hasattr(self.cell, "get_initial_state"):
            return self.cell.get_initial_state(batch_size)
        return [onp.zeros((batch_size, s), self.compute_dtype)
                for s in flat_state_sizes(self.cell.state_size)]

    @property
    def states(self):
        return list(self._states)

    # --- calling ------------------------------------------------------------------------------
    def _standardize_mask(self, mask, shape):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        mask_shape = core.shape(mask)
        if len(mask_shape) != 2 or any(a is not None and b is not None and a != b
                                       for a, b in zip(mask_shape, shape[:2])):
            raise ValueError(f"{describe(self)}: the mask must have shape (batch, time) = "
                             f"{tuple(shape[:2])}, got shape {tuple(mask_shape)}.")
        return mask if arrays.dtype(mask) == "bool" else onp.not_equal(mask, 0)

    def _initial_states(self, sequences, shape, initial_state):
        """The states to start from (flat list) and their structure."""
        structure = self._state_structure()
        step_shape = (shape[0],) + tuple(shape[2:])
        shapes = self._state_shapes(step_shape)
        if initial_state is not None:
            flat = control.flatten(initial_state)
            if len(flat) != len(shapes):
                raise ValueError(f"{describe(self)}: expected {len(shapes)} initial state "
                                 f"tensor(s), got {len(flat)}.")
            for s, want in zip(flat, shapes):
                got = core.shape(s)
                if tuple(got[1:]) != tuple(want) or (got[0] not in (None, shape[0])
                                                     and shape[0] is not None):
                    raise ValueError(f"{describe(self)}: each initial state must have shape "
                                     f"{(shape[0],) + tuple(want)}, got {tuple(got)}.")
            return flat, structure
        if self._states:
            return [v.value for v in self._states], structure
        return _zero_states(sequences, shapes), structure

    def call(self, sequences, initial_state=None, mask=None, training=None):
        shape = core.shape(sequences)
        self._check_inputs(shape)
        mask = self._standardize_mask(mask, shape)
        flat, structure = self._initial_states(sequences, shape, initial_state)
        if self._fused is not None:
            output, final = self._run_fused(sequences, flat, mask, training)
        else:
            output, final = self._run_cell(sequences, flat, structure, mask, training)
        if self._states and not isinstance(output, KerasTensor):
            for v, value in zip(self._states, final):
                v.assign(value)
        if not self.return_state:
            return output
        return (output,) + tuple(control.pack_as(structure, final))

    def _run_fused(self, sequences, states, mask, training):
        cell = self.cell
        recurrent_mask = None
        if training and (cell.dropout or cell.recurrent_dropout):
            input_mask, recurrent_mask = cell.prepare_dropout(_first_step(sequences), states,
                                                              training)
            cell.clear_dropout()
            if input_mask is not None:
                sequences = onp.multiply(sequences, onp.expand_dims(input_mask, 1))
        return rnn_ops.rnn_sequence(
            self._fused["kind"], sequences, states, cell.kernel, cell.recurrent_kernel, cell.bias,
            mask, go_backwards=self.go_backwards, return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
            activation=self._fused["activation"],
            recurrent_activation=self._fused["recurrent_activation"],
            reset_after=self._fused["reset_after"], recurrent_mask=recurrent_mask)

    def _run_cell(self, sequences, states, structure, mask, training):
        """The generic path: `control.scan` over time with the cell's call as the step (a cell
        with `project_inputs` transforms all steps' inputs first and steps with
        `recurrent_step`)."""
        cell = self.cell
        call = cell if isinstance(cell, Layer) else cell.call
        if hasattr(cell, "prepare_dropout"):
            cell.prepare_dropout(_first_step(sequences), control.pack_as(structure, states),
                                 training)
        if hasattr(cell, "project_inputs"):  # the input transform hoisted out of the scan
            sequences = cell.project_inputs(sequences, training=training)
            call = cell.recurrent_step

        def step(x_t, flat_states):
            out, new = call(x_t, control.pack_as(structure, flat_states), training=training)
            return out, control.flatten(new)

        if self.go_backwards:
            sequences = arrays.flip(sequences, 1)
            mask = None if mask is None else arrays.flip(mask, 1)
        mask_tm = None
        if mask is not None:   # (time, batch, 1...): broadcasts against each step's states
            for _ in range(self.input_rank - 2):
                mask = onp.expand_dims(mask, -1)
            mask_tm = rnn_ops.time_major(mask)
        try:
            outputs, final = rnn_ops.masked_scan(
                step, rnn_ops.time_major(sequences), states, mask_tm, self.zero_output_for_mask,
                True, self._output_state_index(structure))
        finally:
            if hasattr(cell, "clear_dropout"):
                cell.clear_dropout()
        if self.return_sequences:
            return rnn_ops.time_major(outputs), final
        return onp.get_item(outputs, -1), final

    @staticmethod
    def _output_state_index(structure):
        """Which flat state a masked step repeats as its output: the first state, or for
        stacked cells the first state of the last cell (as Keras)."""
        if structure and isinstance(structure[-1], list):
            return len(control.flatten(structure[:-1]))
        return 0

    # --- masks and shapes ---------------------------------------------------------------------
    def compute_mask(self, inputs, previous_mask):
        if isinstance(previous_mask, (list, tuple)):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(control.flatten(self._state_structure()))
        return output_mask

    # --- config -------------------------------------------------------------------------------
    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        return {**super().get_config(), **self._rnn_config(),
                "cell": serialization.serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            cell = deserialize_layer(cell, custom_objects)
        return cls(cell, **config)


class BuiltinCellRNN(RNN):
    """An RNN that makes its own cell from its arguments (SimpleRNN, LSTM, GRU, ConvLSTM):
    the cell's hyper-parameters read as the layer's attributes (`lstm.units`) and its config
    is flattened into the layer's, as Keras writes it."""

    config_has_seed = True

    def __getattr__(self, name):
        cell = self.__dict__.get("cell")
        if name in _CELL_ATTRS and cell is not None and hasattr(cell, name):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self):
        cell_config = {k: v for k, v in self.cell.get_config().items()
                       if k not in ("name", "trainable", "dtype")}
        if not self.config_has_seed:
            cell_config.pop("seed", None)
        return {**Layer.get_config(self), **self._rnn_config(), **cell_config,
                "activity_regularizer": _serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super(RNN, cls).from_config(config)
