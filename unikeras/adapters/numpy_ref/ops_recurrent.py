"""NumPy reference of the recurrent-sequence op: a plain loop over time with the Keras gate
formulas written out, the semantics every backend is tested against."""
import numpy as np

from unikeras.common.ops import recurrent as _def
from unikeras.common.ops.recurrent import activation_fn

__all__ = list(_def.IMPL_NAMES)


def _cols(a, k, units):
    """Gate block `k` (columns k*units .. (k+1)*units) of `a`."""
    return a[..., k * units:(k + 1) * units]


def _step(kind, x_t, h, c, w, act, rec_act, reset_after, rec_mask):
    """One time step of `kind`: (new h, new c; None for kinds without a cell state)."""
    kernel, recurrent_kernel, bias = w
    units = recurrent_kernel.shape[0]
    hr = h if rec_mask is None else h * rec_mask
    x_bias = 0 if bias is None else (bias[0] if kind == "gru" and reset_after else bias)
    x = x_t @ kernel + x_bias
    if kind == "simple":
        return act(x + hr @ recurrent_kernel), None
    if kind == "lstm":
        z = x + hr @ recurrent_kernel
        i, f, g, o = (_cols(z, k, units) for k in range(4))
        c = rec_act(f) * c + rec_act(i) * act(g)
        return rec_act(o) * act(c), c
    if reset_after:
        rec = hr @ recurrent_kernel + (0 if bias is None else bias[1])
        z = rec_act(_cols(x, 0, units) + _cols(rec, 0, units))
        r = rec_act(_cols(x, 1, units) + _cols(rec, 1, units))
        hh = act(_cols(x, 2, units) + r * _cols(rec, 2, units))
    else:
        rec = hr @ recurrent_kernel
        z = rec_act(_cols(x, 0, units) + _cols(rec, 0, units))
        r = rec_act(_cols(x, 1, units) + _cols(rec, 1, units))
        hh = act(_cols(x, 2, units) + (r * hr) @ _cols(recurrent_kernel, 2, units))
    return z * h + (1 - z) * hh, None


def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    _def.check_arguments(kind, inputs, initial_states, kernel, recurrent_kernel, bias, mask,
                         reset_after, recurrent_mask)
    x = np.asarray(inputs)
    w = (np.asarray(kernel), np.asarray(recurrent_kernel),
         None if bias is None else np.asarray(bias))
    act, rec_act = activation_fn(activation), activation_fn(recurrent_activation)
    h = np.asarray(initial_states[0])
    c = np.asarray(initial_states[1]) if kind == "lstm" else None
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outputs = []
    for t in steps:
        new_h, new_c = _step(kind, x[:, t], h, c, w, act, rec_act, reset_after, recurrent_mask)
        out = new_h
        if mask is not None:
            keep = np.asarray(mask)[:, t:t + 1].astype(bool)
            new_h = np.where(keep, new_h, h)
            new_c = None if c is None else np.where(keep, new_c, c)
            out = np.where(keep, out, 0 if zero_output_for_mask else new_h)
        h, c = new_h, new_c
        outputs.append(out.astype(x.dtype))
    states = [h.astype(x.dtype)] + ([] if c is None else [c.astype(x.dtype)])
    if return_sequences:
        return np.stack(outputs, 1), states
    return (outputs[-1] if outputs else h), states
