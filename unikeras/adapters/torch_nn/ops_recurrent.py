"""PyTorch implementation of the recurrent-sequence op on torch's fused kernels.

- Whole sequences: `torch.lstm`, `torch.gru` (Keras's GRU with `reset_after=True`) and
  `torch.rnn_tanh` / `torch.rnn_relu` take the weight list directly, so Keras's layout is
  mapped at the boundary (kernels transposed, GRU gates z, r, h reordered to torch's r, z,
  n). Any mask runs them too: a masked step keeps the states, so each row's valid steps,
  moved to the front in time order, run as packed sequences, and every output is read
  back from the step it repeats (Keras's carried output) or zeroed.
- What no sequence kernel computes loops over time in torch: recurrent dropout (training
  only) with one fused cell call per step (`torch.lstm_cell`, `torch.rnn_tanh_cell`,
  `torch.rnn_relu_cell`, the state dropped only where it enters the recurrent matmul, as
  Keras) and the GRU with recurrent dropout or with `reset_after=False` (which no torch
  cell computes) as a few torch ops per step after one input projection for all steps.
- Other activations run the shared scan (`recurrent.scan_rnn_sequence`).
"""

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from unikeras.adapters.torch_nn import prepared
from unikeras.adapters.torch_nn.shape_cache import cached_per_shape
from unikeras.adapters.torch_nn.ops import _float, _tensor
from unikeras.common.ops import recurrent as _def
from unikeras.common.symbolic import KerasTensor

__all__ = list(_def.IMPL_NAMES)

_KERNELS = {("simple", "tanh"): torch.rnn_tanh, ("simple", "relu"): torch.rnn_relu,
            ("lstm", "tanh"): torch.lstm, ("gru", "tanh"): torch.gru}
_CELLS = {("simple", "tanh"): torch.rnn_tanh_cell, ("simple", "relu"): torch.rnn_relu_cell,
          ("lstm", "tanh"): torch.lstm_cell}


def _native(kind, activation, recurrent_activation):
    """True when torch's kernels compute these activations."""
    return (kind, activation) in _KERNELS and (kind == "simple"
                                               or recurrent_activation == "sigmoid")


def _gru_order(w, units):
    """Rows (or entries) of a gate-stacked tensor from Keras's z, r, h to torch's r, z, n."""
    return torch.cat([w[units:2 * units], w[:units], w[2 * units:]])


def _weights(kind, kernel, recurrent_kernel, bias):
    """torch's weight list [w_ih, w_hh(, b_ih, b_hh)] from Keras-layout weights."""
    w_ih, w_hh = kernel.t(), recurrent_kernel.t()
    if kind != "gru":
        return [w_ih, w_hh] if bias is None else [w_ih, w_hh, bias, torch.zeros_like(bias)]
    units = recurrent_kernel.shape[0]
    params = [_gru_order(w_ih, units), _gru_order(w_hh, units)]
    if bias is not None:
        params += [_gru_order(bias[0], units), _gru_order(bias[1], units)]
    return params


def _gate_major(kernel):
    """True when a Keras-layout (inputs, gates) kernel is stored gate-major, as the cells
    make it (recurrent_cells._GateMajor): its transpose, torch's layout, is contiguous."""
    return kernel.stride() == (1, kernel.shape[0])


def _prepared_weights(kind, kernel, recurrent_kernel, bias):
    """`_weights`, contiguous where a kernel would copy the transposed views itself. The
    views of gate-major kernels are contiguous already (nothing to copy or cache), except
    for the GRU, whose gates are reordered. Otherwise: for inference always, made once per
    weight version (`prepared.derived`); with gradients on for the LSTM on CPU, whose
    oneDNN kernel copies them in the forward and again in the backward, where one copy
    made here is saved for the backward and serves both. Elsewhere the views go to the
    kernel as they are, as its matmuls read them."""
    if kind != "gru" and _gate_major(kernel) and _gate_major(recurrent_kernel):
        return _weights(kind, kernel, recurrent_kernel, bias)
    if torch.is_grad_enabled() and not (kind == "lstm" and kernel.device.type == "cpu"):
        return _weights(kind, kernel, recurrent_kernel, bias)
    return prepared.derived(("rnn", kind), (kernel, recurrent_kernel, bias),
                            lambda k, r, b: [p.contiguous() for p in _weights(kind, k, r, b)])


def _run(fn, kind, x, batch_sizes, states, params):
    """The kernel on a batch-first tensor (batch_sizes None) or on packed data; returns
    (output, [h_n(, c_n)]) with states of shape (batch, units)."""
    hx = tuple(s.unsqueeze(0) for s in states) if kind == "lstm" else states[0].unsqueeze(0)
    train = torch.is_grad_enabled()
    if batch_sizes is None:
        out = fn(x, hx, params, len(params) == 4, 1, 0.0, train, False, True)
    else:
        out = fn(x, batch_sizes, hx, params, len(params) == 4, 1, 0.0, train, False)
    return out[0], [s.squeeze(0) for s in out[1:]]


def _compacted_run(fn, kind, x, mask, states, params):
    """The kernel over each row's valid steps only: they are gathered to the front of the
    row (in time order) and run as packed sequences; a row without valid steps keeps its
    states. Returns (compact outputs: row b's k-th valid step at position k, final states,
    rank: for each step the position of the last valid step up to it, -1 before any)."""
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)
    lengths = mask.sum(1)
    lengths_cpu = lengths.cpu()
    packed = pack_padded_sequence(torch.take_along_dim(x, order[:, :, None], dim=1),
                                  lengths_cpu.clamp_min(1), batch_first=True,
                                  enforce_sorted=False)
    data, final = _run(fn, kind, packed.data, packed.batch_sizes,
                       [s.index_select(0, packed.sorted_indices) for s in states], params)
    final = [s.index_select(0, packed.unsorted_indices) for s in final]
    if bool((lengths_cpu == 0).any()):
        nonempty = (lengths > 0)[:, None]
        final = [torch.where(nonempty, f, s) for f, s in zip(final, states)]
    compact, _ = pad_packed_sequence(packed._replace(data=data), batch_first=True,
                                     total_length=x.shape[1])
    return compact, final, mask.cumsum(1) - 1


def _fused(fn, kind, x, states, params, mask, go_backwards, return_sequences, zero_output):
    if go_backwards:
        x = x.flip(1)
        mask = None if mask is None else mask.flip(1)
    if mask is None:
        out, final = _run(fn, kind, x, None, states, params)
        return (out if return_sequences else final[0]), final
    compact, final, rank = _compacted_run(fn, kind, x, mask, states, params)
    if not return_sequences:
        last = final[0]
        if zero_output:
            last = torch.where(mask[:, -1:], last, torch.zeros_like(last))
        return last, final
    # Step t repeats the output of the last valid step up to it (its own when valid), or
    # the initial state before the first one; masked steps are zeros with `zero_output`.
    out = torch.take_along_dim(compact, rank.clamp_min(0)[:, :, None], dim=1)
    keep = mask if zero_output else rank >= 0
    fill = torch.zeros_like(out) if zero_output else states[0][:, None, :]
    return torch.where(keep[:, :, None], out, fill), final


def _cell_step(kind, activation, params, recurrent_mask):
    """step(x_t, states) -> states with torch's fused cell; the dropped state enters only
    the recurrent matmul (the cell reads h nowhere else)."""
    cell = _CELLS[(kind, activation)]

    if kind == "lstm":
        def step(x_t, states):
            return list(cell(x_t, (states[0] * recurrent_mask, states[1]), *params))
    else:
        def step(x_t, states):
            return [cell(x_t, states[0] * recurrent_mask, *params)]
    return step


def _gru_step(recurrent_kernel, recurrent_bias, reset_after, recurrent_mask):
    """step((x_zr_t, x_h_t), [h]) -> [h] for Keras's GRU (gates z, r, h; tanh and sigmoid),
    where x_zr_t, x_h_t are the step's input projections of the z, r and of the h gates;
    h * recurrent_mask enters the recurrent matmuls, the update uses h itself. Gates are
    split with `split`/`chunk`, whose backward is one concatenation (a slice's backward
    writes into zeros of the whole tensor)."""
    units = recurrent_kernel.shape[0]
    kernel_zr, kernel_h = recurrent_kernel.split([2 * units, units], 1)

    def step(x_t, states):
        (x_zr, x_h), h = x_t, states[0]
        dropped = h if recurrent_mask is None else h * recurrent_mask
        if reset_after:
            rec = (torch.mm(dropped, recurrent_kernel) if recurrent_bias is None
                   else torch.addmm(recurrent_bias, dropped, recurrent_kernel))
            rec_zr, rec_h = rec.split([2 * units, units], 1)
            z, r = torch.sigmoid(x_zr + rec_zr).chunk(2, 1)
            hh = torch.tanh(torch.addcmul(x_h, r, rec_h))
        else:
            z, r = torch.sigmoid(torch.addmm(x_zr, dropped, kernel_zr)).chunk(2, 1)
            hh = torch.tanh(torch.addmm(x_h, r * dropped, kernel_h))
        return [torch.lerp(hh, h, z)]   # z * h + (1 - z) * hh
    return step


def _stepwise(step, inputs, states, mask, go_backwards, return_sequences, zero_output):
    """A loop over time of `step(inputs[t], states) -> states` (the output is the first
    state) with Keras's masking: a masked step keeps the states and outputs zeros
    (`zero_output`) or the carried output. `inputs` holds each step's inputs (from
    `unbind`, whose backward is one stack, where indexing would write each step's
    gradient into zeros of the whole sequence)."""
    if go_backwards:
        inputs = inputs[::-1]
        mask = None if mask is None else mask.flip(1)
    outputs = []
    for t, x_t in enumerate(inputs):
        new = step(x_t, states)
        if mask is None:
            states, out = new, new[0]
        else:
            keep = mask[:, t, None]
            states = [torch.where(keep, n, s) for n, s in zip(new, states)]
            out = torch.where(keep, new[0], 0.0) if zero_output else states[0]
        if return_sequences:
            outputs.append(out)
    if return_sequences:
        return torch.stack(outputs, 1), states
    last = states[0]
    if mask is not None and zero_output:
        last = torch.where(mask[:, -1:], last, torch.zeros_like(last))
    return last, states


def _looped(kind, activation, x, states, kernel, recurrent_kernel, bias, mask, go_backwards,
            return_sequences, zero_output, reset_after, recurrent_mask):
    """The configurations without a sequence kernel, as a loop over time (module
    docstring)."""
    if kind == "gru":
        input_bias, recurrent_bias = (None, None) if bias is None else (
            (bias[0], bias[1]) if reset_after else (bias, None))
        x_proj = torch.matmul(x, kernel)
        if input_bias is not None:
            x_proj = x_proj + input_bias
        units = recurrent_kernel.shape[0]
        x_zr, x_h = x_proj.split([2 * units, units], 2)
        step = _gru_step(recurrent_kernel, recurrent_bias, reset_after, recurrent_mask)
        return _stepwise(step, list(zip(x_zr.unbind(1), x_h.unbind(1))), states, mask,
                         go_backwards, return_sequences, zero_output)
    params = _prepared_weights(kind, kernel, recurrent_kernel, bias)
    step = _cell_step(kind, activation, params, recurrent_mask)
    return _stepwise(step, x.unbind(1), states, mask, go_backwards, return_sequences,
                     zero_output)


@cached_per_shape(256)
def _check_shapes(kind, inputs, states, kernel, recurrent_kernel, bias, mask, reset_after,
                  recurrent_mask):
    """`check_arguments` on the arguments' shapes, once per distinct set of shapes (it
    checks only shapes)."""
    def like(shape):   # symbolic sizes (torch.export) stay unknown: int() would pin them
        return None if shape is None else KerasTensor(
            [d if type(d) is int else None for d in shape])
    _def.check_arguments(kind, like(inputs), [like(s) for s in states], like(kernel),
                         like(recurrent_kernel), like(bias), like(mask), reset_after,
                         like(recurrent_mask))


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _check_shapes(kind, inputs.shape, tuple([s.shape for s in initial_states]), kernel.shape,
                  recurrent_kernel.shape, None if bias is None else bias.shape,
                  None if mask is None else mask.shape, reset_after,
                  None if recurrent_mask is None else recurrent_mask.shape)
    if not _native(kind, activation, recurrent_activation):
        return _def.scan_rnn_sequence(
            kind, inputs, initial_states, kernel, recurrent_kernel, bias, mask, go_backwards,
            return_sequences, zero_output_for_mask, activation, recurrent_activation,
            reset_after, recurrent_mask)
    inputs, initial_states = _float(inputs), [_float(s) for s in initial_states]
    mask = None if mask is None else _tensor(mask, torch.bool)
    kernel, recurrent_kernel = _float(kernel), _float(recurrent_kernel)
    bias = None if bias is None else _float(bias)
    if recurrent_mask is not None or (kind == "gru" and not reset_after):
        recurrent_mask = None if recurrent_mask is None else _float(recurrent_mask)
        return _looped(kind, activation, inputs, initial_states, kernel, recurrent_kernel, bias,
                       mask, go_backwards, return_sequences, zero_output_for_mask, reset_after,
                       recurrent_mask)
    params = _prepared_weights(kind, kernel, recurrent_kernel, bias)
    return _fused(_KERNELS[(kind, activation)], kind, inputs, initial_states, params, mask,
                  go_backwards, return_sequences, zero_output_for_mask)
