"""The recurrent-sequence op: a whole SimpleRNN / LSTM / GRU layer's loop over time in one call,
so each backend can run it on its fused kernel (torch.lstm / torch.gru / torch.rnn_tanh,
lax.scan, tf.while_loop, OpenVINO's LSTMSequence / GRUSequence / RNNSequence).

Weights are in Keras's layout and gate order:
- "simple": kernel (in, units), recurrent_kernel (units, units), bias (units,);
- "lstm": kernel (in, 4 units) with gates i, f, c, o, recurrent_kernel (units, 4 units),
  bias (4 units,);
- "gru": kernel (in, 3 units) with gates z, r, h, recurrent_kernel (units, 3 units), bias
  (2, 3 units) (input bias, recurrent bias) when `reset_after`, else (3 units,).

Internal to the layers (not part of `unikeras.ops`). The module also holds the backend-agnostic
implementation (`scan_rnn_sequence`, written with unikeras ops over `control.scan`) that the
backends without a fused kernel for a case build on.
"""
from unikeras.common.ops import arrays, control, core, nn, numpy as onp
from unikeras.common.ops.op import op
from unikeras.common.ops.shapes import spec
from unikeras.common.symbolic import KerasTensor

__all__ = ["rnn_sequence"]
IMPL_NAMES = ("rnn_sequence",)

GATES = {"simple": 1, "lstm": 4, "gru": 3}
STATES = {"simple": 1, "lstm": 2, "gru": 1}


def _check_dim(what, shape, want):
    if len(shape) != len(want) or any(a is not None and b is not None and a != b
                                      for a, b in zip(shape, want)):
        raise ValueError(f"rnn_sequence: {what} must have shape {tuple(want)}, got {tuple(shape)}.")


def check_arguments(kind, inputs, initial_states, kernel, recurrent_kernel, bias, mask,
                    reset_after, recurrent_mask=None):
    """Validate shapes; returns (batch, time, units) with None for unknown sizes."""
    if kind not in GATES:
        raise ValueError(f"rnn_sequence: kind must be one of {sorted(GATES)}, got {kind!r}.")
    x_shape = spec(inputs)[0]
    if len(x_shape) != 3:
        raise ValueError(f"rnn_sequence: inputs must have rank 3 (batch, time, features), got "
                         f"shape {x_shape}.")
    batch, time, features = x_shape
    units = spec(recurrent_kernel)[0][0]
    gates = GATES[kind] * units
    _check_dim("kernel", spec(kernel)[0], (features, gates))
    _check_dim("recurrent_kernel", spec(recurrent_kernel)[0], (units, gates))
    if bias is not None:
        want = (2, gates) if kind == "gru" and reset_after else (gates,)
        _check_dim("bias", spec(bias)[0], want)
    if len(initial_states) != STATES[kind]:
        raise ValueError(f"rnn_sequence: a {kind} sequence takes {STATES[kind]} initial state(s), "
                         f"got {len(initial_states)}.")
    for s in initial_states:
        _check_dim("each initial state", spec(s)[0], (batch, units))
    if mask is not None:
        _check_dim("mask", spec(mask)[0], (batch, time))
    if recurrent_mask is not None:
        _check_dim("recurrent_mask", spec(recurrent_mask)[0], (batch, units))
    return batch, time, units


@op
def rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                 go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                 activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                 recurrent_mask=None):
    """Run a `kind` ("simple", "lstm" or "gru") recurrent layer over `inputs` (batch, time,
    features); returns `(output, final_states)`.

    `initial_states` is a list (h, or h and c for "lstm"), each (batch, units). `mask`
    (batch, time), bool: masked steps keep the states and output zeros
    (`zero_output_for_mask`) or the carried output. `go_backwards` reads the sequence from
    its end (outputs stay in the order they were computed, as Keras). `output` is every
    step's output (batch, time, units) with `return_sequences`, else the last one (batch,
    units). `activation` / `recurrent_activation` name unikeras activations.
    `recurrent_mask` (batch, units) multiplies the state before the recurrent matmuls
    (recurrent dropout)."""
    batch, time, units = check_arguments(kind, inputs, initial_states, kernel, recurrent_kernel,
                                         bias, mask, reset_after, recurrent_mask)
    dtype = spec(inputs)[1]
    out_shape = (batch, time, units) if return_sequences else (batch, units)
    return KerasTensor(out_shape, dtype), [KerasTensor((batch, units), dtype)
                                           for _ in initial_states]


# --- the backend-agnostic implementation ---------------------------------------------------
def activation_fn(name):
    """The unikeras activation function called `name` (a function passes through)."""
    from unikeras.common import activations
    return activations.get(name)


def split_bias(kind, bias, reset_after):
    """(input-side bias, recurrent-side bias) of a Keras bias (either may be None)."""
    if bias is None:
        return None, None
    if kind == "gru" and reset_after:
        return onp.get_item(bias, 0), onp.get_item(bias, 1)
    return bias, None


def make_step(kind, recurrent_kernel, recurrent_bias, activation, recurrent_activation,
              reset_after, recurrent_mask=None):
    """`step(x_proj, states) -> (output, new_states)` for one time step, where `x_proj` is
    the step's input projection `x @ kernel + input bias` (batch, gates * units)."""
    act, rec_act = activation_fn(activation), activation_fn(recurrent_activation)

    def dropped(h):
        return h if recurrent_mask is None else onp.multiply(h, recurrent_mask)

    if kind == "simple":
        def step(x_proj, states):
            h = act(onp.add(x_proj, onp.matmul(dropped(states[0]), recurrent_kernel)))
            return h, [h]
    elif kind == "lstm":
        def step(x_proj, states):
            z = onp.add(x_proj, onp.matmul(dropped(states[0]), recurrent_kernel))
            i, f, g, o = arrays.split(z, 4, axis=-1)
            c = onp.add(onp.multiply(rec_act(f), states[1]), onp.multiply(rec_act(i), act(g)))
            h = onp.multiply(rec_act(o), act(c))
            return h, [h, c]
    elif reset_after:
        def step(x_proj, states):
            h = states[0]
            rec = nn.dense(dropped(h), recurrent_kernel, recurrent_bias)
            xz, xr, xh = arrays.split(x_proj, 3, axis=-1)
            rz, rr, rh = arrays.split(rec, 3, axis=-1)
            z = rec_act(onp.add(xz, rz))
            r = rec_act(onp.add(xr, rr))
            new = _gru_update(z, h, act(onp.add(xh, onp.multiply(r, rh))))
            return new, [new]
    else:
        units = core.shape(recurrent_kernel)[0]
        kernel_zr, kernel_h = arrays.split(recurrent_kernel, [2 * units], axis=-1)

        def step(x_proj, states):
            h = dropped(states[0])
            xz, xr, xh = arrays.split(x_proj, 3, axis=-1)
            rz, rr = arrays.split(onp.matmul(h, kernel_zr), 2, axis=-1)
            z = rec_act(onp.add(xz, rz))
            r = rec_act(onp.add(xr, rr))
            hh = act(onp.add(xh, onp.matmul(onp.multiply(r, h), kernel_h)))
            new = _gru_update(z, states[0], hh)
            return new, [new]
    return step


def _gru_update(z, h, hh):
    """z * h + (1 - z) * hh, written as hh + z * (h - hh)."""
    return onp.add(hh, onp.multiply(z, onp.subtract(h, hh)))


def masked_scan(step, x_time_major, initial_states, mask_time_major, zero_output_for_mask,
                keep_outputs, output_index=0):
    """Scan `step(x_t, states) -> (output, states)` over the leading axis of `x_time_major`
    with Keras's masking: a masked step keeps the states, and outputs zeros
    (`zero_output_for_mask`) or the carried state `states[output_index]` (Keras's "previous
    output"). Returns (outputs stacked time-major, or None unless `keep_outputs`; final
    states)."""
    def body(states, xs):
        x_t, m_t = xs if mask_time_major is not None else (xs, None)
        out, new = step(x_t, states)
        if m_t is not None:
            new = [onp.where(m_t, n, s) for n, s in zip(new, states)]
            carried = onp.zeros_like(out) if zero_output_for_mask else new[output_index]
            out = onp.where(m_t, out, carried)
        return new, (out if keep_outputs else None)

    xs = x_time_major if mask_time_major is None else (x_time_major, mask_time_major)
    final, outputs = control.scan(body, list(initial_states), xs)
    return outputs, final


def time_major(x):
    """(batch, time, ...) -> (time, batch, ...)."""
    return arrays.swapaxes(x, 0, 1)


def scan_rnn_sequence(kind, inputs, initial_states, kernel, recurrent_kernel, bias=None, mask=None,
                      go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                      activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                      recurrent_mask=None, project_per_step=False):
    """`rnn_sequence` as `control.scan` over time (lax.scan on jax, tf.while_loop on tf, an
    OpenVINO Loop) of the recurrent part, after one input projection for all steps.

    `project_per_step` moves the input projection into the loop (one small matmul per
    step): XLA on CPU runs that faster than the step's elementwise gate math reading its
    slice of a projection precomputed for all steps (jax LSTM(128), 32 steps, batch 64:
    forward+backward ~1.3x faster)."""
    input_bias, recurrent_bias = split_bias(kind, bias, reset_after)
    step = make_step(kind, recurrent_kernel, recurrent_bias, activation, recurrent_activation,
                     reset_after, recurrent_mask)
    if project_per_step:
        xs, recurrent_step = inputs, step

        def step(x_t, states):
            return recurrent_step(nn.dense(x_t, kernel, input_bias), states)
    else:
        xs = nn.dense(inputs, kernel, input_bias)
    if go_backwards:
        xs = arrays.flip(xs, 1)
        mask = None if mask is None else arrays.flip(mask, 1)
    mask_tm = None if mask is None else time_major(onp.expand_dims(mask, -1))
    outputs, final = masked_scan(step, time_major(xs), initial_states, mask_tm,
                                 zero_output_for_mask, return_sequences)
    if return_sequences:
        return time_major(outputs), final
    last = final[0]   # the output is h: the last output is the final h, unless masked to zero
    if mask_tm is not None and zero_output_for_mask:
        last = onp.where(onp.get_item(mask_tm, -1), last, onp.zeros_like(last))
    return last, final
