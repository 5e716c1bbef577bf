"""OpenVINO graph builder of the recurrent-sequence op: `LSTMSequence`, `GRUSequence` (Keras's
`reset_after` is OpenVINO's `linear_before_reset`) and `RNNSequence` nodes, with batch and
time dynamic. Keras's weights are mapped at the boundary: kernels transposed to
(gates, in), LSTM gates i, f, c, o reordered to OpenVINO's f, i, c, o (GRU keeps z, r, h);
the constant folding of the compiler removes that work. Masks, recurrent dropout and
activations these nodes do not offer build the shared scan (an OpenVINO Loop) instead."""
import numpy as np
import openvino.opset16 as ovo

from unikeras.adapters.openvino.ops import _constant, _float, _i64, _shape, _sym, dtype_name
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


def _sequence_lengths(x):
    """The time size of `x` (batch, time, features) repeated for every row: (batch,) int32."""
    shape = ovo.shape_of(x, "i32")
    time = ovo.gather(shape, _i64([1]), _i64(0))
    return ovo.broadcast(time, ovo.gather(shape, _i64([0]), _i64(0))).output(0)


def _fused(kind, x, states, kernel, recurrent_kernel, bias, activation, recurrent_activation,
           reset_after):
    """(Y (batch, time, units), [final states]) from one sequence node."""
    units = _shape(_float(recurrent_kernel))[0]
    dtype = dtype_name(x)
    hs = [ovo.unsqueeze(_float(s), _i64([1])).output(0) for s in states]
    w, r = _weight(kernel, kind), _weight(recurrent_kernel, kind)
    b = _bias(kind, bias, units, reset_after, dtype)
    lengths = _sequence_lengths(x)
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


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _def.check_arguments(kind, _sym(inputs), _sym(list(initial_states)), _sym(kernel),
                         _sym(recurrent_kernel), _sym(bias), _sym(mask), reset_after,
                         _sym(recurrent_mask))
    fused = (mask is None and recurrent_mask is None and activation in _ACTIVATIONS
             and (kind == "simple" or recurrent_activation in _ACTIVATIONS))
    if not fused:
        return _def.scan_rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel,
                                      bias, mask, go_backwards, return_sequences,
                                      zero_output_for_mask, activation, recurrent_activation,
                                      reset_after, recurrent_mask)
    x = _float(inputs)
    if go_backwards:
        x = flip(x, 1)
    y, finals = _fused(kind, x, initial_states, kernel, recurrent_kernel, bias, activation,
                       recurrent_activation, reset_after)
    return (y if return_sequences else finals[0]), finals
