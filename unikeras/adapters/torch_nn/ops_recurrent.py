"""PyTorch implementation of the recurrent-sequence op on torch's fused kernels: `torch.lstm`,
`torch.gru` (Keras's GRU with `reset_after=True`) and `torch.rnn_tanh` / `torch.rnn_relu`
take the weight list directly, so Keras's layout is mapped at the boundary (kernels
transposed, GRU gates z, r, h reordered to torch's r, z, n). A mask whose valid steps are one
block at the start or at the end of each row (right- or left-padded sequences) runs the
fused kernel on packed sequences. What the kernels cannot compute (another activation, GRU
with `reset_after=False`, recurrent dropout, masks with holes) runs the shared scan: one
input projection for every step, then a loop over time of the recurrent part."""
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from unikeras.adapters.torch_nn.ops import _float, _tensor
from unikeras.common.ops import recurrent as _def

__all__ = list(_def.IMPL_NAMES)

_KERNELS = {("simple", "tanh"): torch.rnn_tanh, ("simple", "relu"): torch.rnn_relu,
            ("lstm", "tanh"): torch.lstm, ("gru", "tanh"): torch.gru}


def _kernel_for(kind, activation, recurrent_activation, reset_after, recurrent_mask):
    """The fused torch function computing this configuration, or None."""
    if recurrent_mask is not None or (kind == "gru" and not reset_after):
        return None
    if kind != "simple" and recurrent_activation != "sigmoid":
        return None
    return _KERNELS.get((kind, activation))


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


_PREPARED = {}      # (kind, ids) -> (sources, contiguous torch weight list); inference only
_PREPARED_MAX = 16


def _prepared_weights(kind, kernel, recurrent_kernel, bias):
    """`_weights`, made contiguous once per weight version when no gradient is recorded
    (inference re-uses them call after call; torch's kernels would copy the transposed views
    on every call). A cached entry is used only while each source tensor has the same
    `_version` (bumped by every in-place update: optimizer steps, `copy_`) and the same data
    pointer (`.data = ...` and `.to()` swap storages); the entry holds the tensors and their
    storages, so neither ids nor addresses can be reused while it exists."""
    sources = (kernel, recurrent_kernel, bias)
    if torch.is_grad_enabled() or torch.compiler.is_compiling():
        return _weights(kind, kernel, recurrent_kernel, bias)
    key = (kind,) + tuple(id(t) for t in sources)
    stamp = tuple(None if t is None else (t._version, t.data_ptr()) for t in sources)
    hit = _PREPARED.get(key)
    if hit is not None and hit[1] == stamp:
        return hit[2]
    params = [p.contiguous() for p in _weights(kind, kernel, recurrent_kernel, bias)]
    if len(_PREPARED) >= _PREPARED_MAX:
        _PREPARED.pop(next(iter(_PREPARED)))
    pinned = (sources, [t.untyped_storage() for t in sources if t is not None])
    _PREPARED[key] = (pinned, stamp, params)
    return params


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


def _block_lengths(mask):
    """(lengths, shift) when every row's valid steps are one non-empty block touching the
    start (shift 0) or the end (shift T - length) of the row; None otherwise."""
    m = mask.to(torch.int8)
    steps = m[:, 1:] - m[:, :-1]
    lengths = m.sum(1)
    prefix, suffix, nonempty = torch.stack(
        [(steps <= 0).all(), (steps >= 0).all(), (lengths > 0).all()]).tolist()
    if not nonempty or not (prefix or suffix):
        return None
    shift = None if prefix else mask.shape[1] - lengths
    return lengths, shift


def _roll_rows(x, shift):
    """Row b of the batch-first `x` rolled left by shift[b] steps along time."""
    t = x.shape[1]
    index = (torch.arange(t, device=x.device)[None, :] + shift[:, None]) % t
    return torch.take_along_dim(x, index[:, :, None], dim=1)


def _run_packed(fn, kind, x, block, states, params):
    """The kernel over the valid block of each row (packed sequences); returns
    (outputs at Keras's time positions, valid steps filled with zeros, final states)."""
    lengths, shift = block
    if shift is not None:
        x = _roll_rows(x, shift)
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    order = packed.sorted_indices
    data, final = _run(fn, kind, packed.data, packed.batch_sizes,
                       [s.index_select(0, order) for s in states], params)
    final = [s.index_select(0, packed.unsorted_indices) for s in final]
    out, _ = pad_packed_sequence(packed._replace(data=data), batch_first=True,
                                 total_length=x.shape[1])
    if shift is not None:
        out = _roll_rows(out, -shift)
    return out, final


def _fused(fn, kind, x, states, params, mask, go_backwards, return_sequences, zero_output):
    if go_backwards:
        x = x.flip(1)
        mask = None if mask is None else mask.flip(1)
    if mask is None:
        out, final = _run(fn, kind, x, None, states, params)
        return (out if return_sequences else final[0]), final
    block = _block_lengths(mask)
    if block is None:
        return None
    out, final = _run_packed(fn, kind, x, block, states, params)
    if not return_sequences:
        last = final[0]
        if zero_output:
            last = torch.where(mask[:, -1:], last, torch.zeros_like(last))
        return last, final
    if zero_output:
        return out, final
    # Masked steps repeat the carried state: the final one after a leading block, the
    # initial one before a trailing block.
    carried = (final[0] if block[1] is None else states[0])[:, None, :]
    return torch.where(mask[:, :, None], out, carried), final


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _def.check_arguments(kind, inputs, initial_states, kernel, recurrent_kernel, bias, mask,
                         reset_after, recurrent_mask)
    fn = _kernel_for(kind, activation, recurrent_activation, reset_after, recurrent_mask)
    inputs, initial_states = _float(inputs), [_float(s) for s in initial_states]
    mask = None if mask is None else _tensor(mask, torch.bool)
    if fn is not None:
        params = _prepared_weights(kind, _float(kernel), _float(recurrent_kernel),
                                   None if bias is None else _float(bias))
        result = _fused(fn, kind, inputs, initial_states, params, mask, go_backwards,
                        return_sequences, zero_output_for_mask)
        if result is not None:
            return result
    return _def.scan_rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias,
                                  mask, go_backwards, return_sequences, zero_output_for_mask,
                                  activation, recurrent_activation, reset_after, recurrent_mask)
