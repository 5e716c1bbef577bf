"""OpenVINO graph builder of the recurrent-sequence op: `LSTMSequence`, `GRUSequence` (Keras's
`reset_after` is OpenVINO's `linear_before_reset`) and `RNNSequence` nodes, with batch and
time dynamic. Keras's weights are mapped at the boundary: kernels transposed to
(gates, in), LSTM gates i, f, c, o reordered to OpenVINO's f, i, c, o (GRU keeps z, r, h);
the constant folding of the compiler removes that work.

A mask whose valid steps form one block per row (right- or left-padded sequences, the
usual case) also runs on the sequence node: the block moved to the front of each row, the
node run over all steps (the outputs of a prefix do not depend on the steps after it), the
masked steps' outputs and the final h taken from the block's outputs, all under an If whose
other branch is the shared scan (an OpenVINO Loop) for masks with holes. The node's own
`seq_lengths` cannot serve: with dynamic shapes the CPU plugin ignores it (OpenVINO 2026.4
runs every row over all steps). An LSTM's final c, which the node only gives after all
steps, comes from the scan, which the graph drops unless the model returns that state.
Recurrent dropout and activations these nodes do not offer build the scan directly."""
import numpy as np

from unikeras.adapters.openvino import opset as ovo

from unikeras.adapters.openvino.ops import (
    _cast, _constant, _float, _i64, _shape, _sym, as_output, dtype_name)
from unikeras.adapters.openvino.ops_arrays import flip
from unikeras.common.ops import recurrent as _def

__all__ = list(_def.IMPL_NAMES)

_ACTIVATIONS = ("sigmoid", "tanh", "relu")
_LSTM_ORDER = (1, 0, 2, 3)   # Keras i, f, c, o -> OpenVINO f, i, c, o


def _gates(o, n, order, axis):
    """The `n` gate blocks of `o` along `axis`, concatenated in `order`."""
    parts = ovo.split(o, _i64(axis), n)
    return ovo.concat([parts.output(i) for i in order], axis).output(0)


def _weight(w, kind):
    """A Keras (in, gates) kernel as OpenVINO's (1, gates, in)."""
    o = ovo.transpose(_float(w), _i64([1, 0])).output(0)
    if kind == "lstm":
        o = _gates(o, 4, _LSTM_ORDER, 0)
    return ovo.unsqueeze(o, _i64([0])).output(0)


def _bias(kind, bias, units, reset_after, dtype):
    """OpenVINO's (1, gates) bias; a GRU with linear_before_reset takes
    [Wb_z + Rb_z, Wb_r + Rb_r, Wb_h, Rb_h]."""
    gates = _def.GATES[kind] + (1 if kind == "gru" and reset_after else 0)
    if bias is None:
        return _constant(np.zeros((1, gates * units)), dtype)
    b = _float(bias)
    if kind == "lstm":
        b = _gates(b, 4, _LSTM_ORDER, 0)
    elif kind == "gru" and reset_after:   # (2, 3 units) -> z and r biases summed, then Wb_h, Rb_h
        gates_by_kind = ovo.reshape(b, _i64([2, 3, units]), False)
        parts = ovo.variadic_split(gates_by_kind, _i64(1), _i64([2, 1]))
        zr = ovo.reduce_sum(parts.output(0), _i64([0]), False)
        b = ovo.concat([ovo.reshape(zr, _i64([-1]), False),
                        ovo.reshape(parts.output(1), _i64([-1]), False)], 0).output(0)
    return ovo.unsqueeze(b, _i64([0])).output(0)


_ZERO_PRESERVING = frozenset({"Broadcast", "Reshape", "Unsqueeze", "Squeeze", "Convert",
                              "Transpose", "Tile"})


def _is_zero(o):
    """Whether Output `o` is zero by construction: a zero Constant, or zeros broadcast,
    reshaped, converted or added (how the layers build their initial states)."""
    node = o.get_node()
    kind = node.get_type_name()
    if kind == "Constant":
        return not np.any(node.get_data())
    if kind in _ZERO_PRESERVING:
        return _is_zero(node.input_value(0))
    if kind == "Add":
        return _is_zero(node.input_value(0)) and _is_zero(node.input_value(1))
    return False


class _Dims:
    """Batch and time sizes of `x` (batch, time, features) as (1,) int32 Outputs, read once."""

    def __init__(self, x):
        shape = ovo.shape_of(x, "i32")
        self.batch = ovo.gather(shape, _i32([0]), _i32(0)).output(0)
        self.time = ovo.gather(shape, _i32([1]), _i32(0)).output(0)

    def full_lengths(self):
        """The time size repeated for every row: (batch,) int32."""
        return ovo.broadcast(self.time, self.batch).output(0)

    def zero_state(self, units, dtype):
        """Zeros (batch, 1, units), one Broadcast."""
        shape = ovo.concat([self.batch, _i32([1, units])], 0)
        return ovo.broadcast(_constant(0, dtype), shape).output(0)


def _i32(values):
    return ovo.constant(np.asarray(values, np.int32)).output(0)


def _states(states, dims, units, dtype):
    """The initial states as (batch, 1, units): a state zero by construction is rebuilt as
    one Broadcast from x's batch size (the layers derive theirs from a slice of x, which
    costs a few dynamic-shape nodes per inference)."""
    zero, out = None, []
    for s in states:
        s = _float(s)
        if _is_zero(s):
            zero = dims.zero_state(units, dtype) if zero is None else zero
            out.append(zero)
        else:
            out.append(ovo.unsqueeze(s, _i64([1])).output(0))
    return out


def _fused(kind, x, states, kernel, recurrent_kernel, bias, activation, recurrent_activation,
           reset_after):
    """(Y (batch, time, units), [final states]) from one sequence node over all steps."""
    units = _shape(_float(recurrent_kernel))[0]
    dtype = dtype_name(x)
    dims = _Dims(x)
    hs = _states(states, dims, units, dtype)
    w, r = _weight(kernel, kind), _weight(recurrent_kernel, kind)
    b = _bias(kind, bias, units, reset_after, dtype)
    lengths = dims.full_lengths()
    if kind == "lstm":
        node = ovo.lstm_sequence(x, hs[0], hs[1], lengths, w, r, b, units, "forward",
                                 activations=[recurrent_activation, activation, activation])
    elif kind == "gru":
        node = ovo.gru_sequence(x, hs[0], lengths, w, r, b, units, "forward",
                                activations=[recurrent_activation, activation],
                                linear_before_reset=reset_after)
    else:
        node = ovo.rnn_sequence(x, hs[0], lengths, w, r, b, units, "forward",
                                activations=[activation])
    y = ovo.squeeze(node.output(0), _i64([1])).output(0)
    finals = [ovo.squeeze(node.output(i), _i64([1])).output(0)
              for i in range(1, node.get_output_size())]
    return y, finals


class _MaskBlock:
    """The valid steps of a (batch, time) bool mask as one block per row: its `first` step
    and `lengths` (batch, 1) int32, and `contiguous`, a scalar bool that is true when every
    row's valid steps are exactly its block (no holes)."""

    def __init__(self, mask, x):
        time = _Dims(x).time
        steps = ovo.range(_i32(0), ovo.squeeze(time, _i32([0])), _i32(1), "i32")
        self.steps = ovo.unsqueeze(steps, _i32([0])).output(0)                     # (1, time)
        self.lengths = ovo.reduce_sum(ovo.convert(mask, "i32"), _i32([1]), True).output(0)
        self.first = ovo.reduce_min(ovo.select(mask, self.steps, time), _i32([1]),
                                    True).output(0)
        self.last_step = ovo.subtract(time, _i32([1])).output(0)
        end = ovo.add(self.first, self.lengths)
        block = ovo.logical_and(ovo.less_equal(self.first, self.steps),
                                ovo.less(self.steps, end))
        self.contiguous = ovo.reduce_logical_and(ovo.equal(mask, block), _i32([0, 1]),
                                                 False).output(0)

    def to_front(self, x):
        """`x` (batch, time, ...) with each row's block moved to its first steps."""
        index = ovo.minimum(ovo.add(self.steps, self.first), self.last_step)
        return ovo.gather(x, index, _i32(1), 1).output(0)

    def back_in_place(self, y):
        """The inverse of `to_front` on the block's steps (other steps: any value)."""
        index = ovo.maximum(ovo.subtract(self.steps, self.first), _i32([0]))
        return ovo.gather(y, index, _i32(1), 1).output(0)

    def last_output(self, y, h0):
        """Each row's output at the end of its block from `y` (batch, time, units) computed
        on `to_front` data; `h0` (batch, units) for an empty block."""
        index = ovo.maximum(ovo.subtract(self.lengths, _i32([1])), _i32([0]))
        h = ovo.squeeze(ovo.gather(y, index, _i32(1), 1), _i32([1]))
        return ovo.select(ovo.less(_i32([0]), self.lengths), h, h0).output(0)


def _masked_fused(kind, x, mask, block, initial_states, cell, return_sequences,
                  zero_output_for_mask):
    """(output, final h) of the sequence node over each row's `block` of valid steps, with
    Keras's outputs for the masked steps: zeros, or the h carried in (before the block) and
    out (after it)."""
    y, _ = _fused(kind, block.to_front(x), initial_states, *cell)
    h0 = _float(initial_states[0])
    h = block.last_output(y, h0)
    valid = ovo.unsqueeze(mask, _i32([2])).output(0)
    if not return_sequences:
        if not zero_output_for_mask:
            return h, h
        last_valid = ovo.gather(mask, block.last_step, _i32(1))                   # (batch, 1)
        return ovo.select(last_valid, h, _constant(0, dtype_name(h))).output(0), h
    if zero_output_for_mask:
        carried = _constant(0, dtype_name(y))
    else:
        before = ovo.unsqueeze(ovo.less(block.steps, block.first), _i32([2]))
        carried = ovo.select(before, ovo.unsqueeze(h0, _i32([1])),
                             ovo.unsqueeze(h, _i32([1]))).output(0)
    return ovo.select(valid, block.back_in_place(y), carried).output(0), h


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _def.check_arguments(kind, _sym(inputs), _sym(list(initial_states)), _sym(kernel),
                         _sym(recurrent_kernel), _sym(bias), _sym(mask), reset_after,
                         _sym(recurrent_mask))

    def scan():
        return _def.scan_rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel,
                                      bias, mask, go_backwards, return_sequences,
                                      zero_output_for_mask, activation, recurrent_activation,
                                      reset_after, recurrent_mask)

    if not (recurrent_mask is None and activation in _ACTIVATIONS
            and (kind == "simple" or recurrent_activation in _ACTIVATIONS)):
        return scan()
    x = _float(inputs)
    if go_backwards:
        x = flip(x, 1)
    cell = (kernel, recurrent_kernel, bias, activation, recurrent_activation, reset_after)
    if mask is None:
        y, finals = _fused(kind, x, initial_states, *cell)
        return (y if return_sequences else finals[0]), finals
    m = _cast(as_output(mask), "bool")
    if go_backwards:
        m = flip(m, 1)
    block = _MaskBlock(m, x)

    def on_blocks():
        return _masked_fused(kind, x, m, block, initial_states, cell, return_sequences,
                             zero_output_for_mask)

    def on_scan():
        output, finals = scan()
        return output, finals[0]

    # here, not at the top: ops_control imports ops, which imports this module
    from unikeras.adapters.openvino.ops_control import cond
    output, h = cond(block.contiguous, on_blocks, on_scan)
    return output, ([h, scan()[1][1]] if kind == "lstm" else [h])
