"""The torch adapter's fast paths against independent computations: the recurrent op's
sequence kernels on compacted masks and its loops over time (recurrent dropout, GRU with
`reset_after=False`) against a NumPy recurrence written here, with gradients against the
shared scan; and the convolution weights that inference lays out once, which must follow
every weight update, dtype move, batch size and mode switch."""
import gc

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unikeras as uk  # noqa: E402
from unikeras import layers as L, ops  # noqa: E402
# The op table first: it imports its family modules (ops_recurrent among them) itself.
from unikeras.adapters.torch_nn import ops as _table, ops_recurrent, prepared, to_torch  # noqa: E402,F401
from unikeras.common.ops import recurrent  # noqa: E402

B, T, F, U = 4, 6, 3, 5
RNG = np.random.default_rng(11)
MASKS = {
    "holes": np.array([[1, 0, 1, 1, 0, 1], [0, 1, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1],
                       [0, 0, 1, 1, 1, 0]], bool),
    "empty_row": np.array([[1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1],
                           [1, 0, 0, 0, 0, 1]], bool),
    "right": np.array([[1] * 6, [1, 1, 1, 0, 0, 0], [1] * 5 + [0], [1, 0, 0, 0, 0, 0]], bool),
}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _numpy_rnn(kind, x, states, kernel, recurrent_kernel, bias, mask, go_backwards,
               return_sequences, zero_output, activation, reset_after, recurrent_mask):
    """Keras's recurrences step by step in float64 (gates i, f, c, o and z, r, h)."""
    act = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    if go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    states, outputs = [s.astype("float64") for s in states], []
    for t in range(x.shape[1]):
        x_t, h = x[:, t].astype("float64"), states[0]
        dropped = h if recurrent_mask is None else h * recurrent_mask
        if kind == "simple":
            new = [act(x_t @ kernel + (0 if bias is None else bias) + dropped @ recurrent_kernel)]
        elif kind == "lstm":
            z = x_t @ kernel + (0 if bias is None else bias) + dropped @ recurrent_kernel
            i, f, g, o = np.split(z, 4, axis=-1)
            c = _sigmoid(f) * states[1] + _sigmoid(i) * act(g)
            new = [_sigmoid(o) * act(c), c]
        else:
            in_bias = 0 if bias is None else (bias[0] if reset_after else bias)
            xz, xr, xh = np.split(x_t @ kernel + in_bias, 3, axis=-1)
            uz, ur, uh = np.split(recurrent_kernel, 3, axis=-1)
            if reset_after:
                rec_bias = np.zeros((3, U)) if bias is None else np.split(bias[1], 3)
                z = _sigmoid(xz + dropped @ uz + rec_bias[0])
                r = _sigmoid(xr + dropped @ ur + rec_bias[1])
                hh = act(xh + r * (dropped @ uh + rec_bias[2]))
            else:
                z = _sigmoid(xz + dropped @ uz)
                r = _sigmoid(xr + dropped @ ur)
                hh = act(xh + (r * dropped) @ uh)
            new = [z * h + (1 - z) * hh]
        if mask is None:
            states, out = new, new[0]
        else:
            keep = mask[:, t, None]
            states = [np.where(keep, n, s) for n, s in zip(new, states)]
            out = np.where(keep, new[0], 0.0) if zero_output else states[0]
        outputs.append(out)
    return (np.stack(outputs, 1) if return_sequences else outputs[-1]), states


# (kind, activation, reset_after, use_bias, mask, recurrent dropout, go_backwards,
#  return_sequences, zero_output_for_mask)
SEQUENCE_CASES = [
    ("lstm", "tanh", True, True, "holes", False, False, True, False),
    ("lstm", "tanh", True, True, "empty_row", False, True, True, True),
    ("lstm", "tanh", True, True, "holes", False, False, False, True),
    ("gru", "tanh", True, True, "holes", False, True, True, False),
    ("gru", "tanh", True, False, "empty_row", False, False, False, False),
    ("simple", "relu", True, True, "holes", False, False, True, True),
    ("simple", "tanh", True, True, "right", False, True, True, False),
    ("gru", "tanh", False, True, None, False, False, True, False),
    ("gru", "tanh", False, True, "holes", False, True, True, True),
    ("gru", "tanh", False, False, "empty_row", True, False, False, False),
    ("gru", "tanh", True, True, None, True, True, True, False),
    ("gru", "tanh", True, True, "holes", True, False, False, True),
    ("lstm", "tanh", True, True, None, True, False, True, False),
    ("lstm", "tanh", True, False, "holes", True, True, True, True),
    ("simple", "tanh", True, True, "empty_row", True, False, True, False),
    ("simple", "relu", True, True, None, True, True, False, False),
]


def _sequence_arguments(kind, reset_after, use_bias, recurrent_dropout):
    gates = {"simple": 1, "lstm": 4, "gru": 3}[kind] * U
    x = RNG.standard_normal((B, T, F)).astype("float32")
    states = [RNG.standard_normal((B, U)).astype("float32")
              for _ in range(2 if kind == "lstm" else 1)]
    kernel = (RNG.standard_normal((F, gates)) * 0.5).astype("float32")
    recurrent_kernel = (RNG.standard_normal((U, gates)) * 0.5).astype("float32")
    bias = None
    if use_bias:
        shape = (2, gates) if kind == "gru" and reset_after else (gates,)
        bias = (RNG.standard_normal(shape) * 0.3).astype("float32")
    recurrent_mask = None
    if recurrent_dropout:
        recurrent_mask = (RNG.random((B, U)) > 0.4).astype("float32") / 0.6
    return x, states, kernel, recurrent_kernel, bias, recurrent_mask


def _torch_sequence(kind, activation, reset_after, mask, go_backwards, return_sequences,
                    zero_output, tensors, implementation):
    x, states, kernel, recurrent_kernel, bias, recurrent_mask = tensors
    with ops.backend_scope("torch"):
        return implementation(
            kind, x, states, kernel, recurrent_kernel, bias,
            None if mask is None else torch.from_numpy(MASKS[mask]),
            go_backwards=go_backwards, return_sequences=return_sequences,
            zero_output_for_mask=zero_output, activation=activation,
            recurrent_activation="sigmoid", reset_after=reset_after,
            recurrent_mask=recurrent_mask)


def _leaf(a):
    return None if a is None else torch.from_numpy(a).requires_grad_()


def test_recurrent_fast_paths_equal_a_numpy_recurrence_and_the_scan_gradients(monkeypatch):
    scan, loops = recurrent.scan_rnn_sequence, []
    monkeypatch.setattr(ops_recurrent, "_stepwise",
                        lambda *a, _f=ops_recurrent._stepwise: loops.append(1) or _f(*a))
    monkeypatch.setattr(recurrent, "scan_rnn_sequence",
                        lambda *a, **k: pytest.fail("the torch op fell back to the scan"))
    for case in SEQUENCE_CASES:
        kind, act, reset_after, use_bias, mask, dropout, backwards, sequences, zero = case
        arrays = _sequence_arguments(kind, reset_after, use_bias, dropout)
        loops.clear()
        x, states, kernel, recurrent_kernel, bias, recurrent_mask = arrays
        tensors = [_leaf(x), [_leaf(s) for s in states], _leaf(kernel), _leaf(recurrent_kernel),
                   _leaf(bias), None if recurrent_mask is None else torch.from_numpy(recurrent_mask)]
        out, final = _torch_sequence(kind, act, reset_after, mask, backwards, sequences, zero,
                                     tensors, ops_recurrent.rnn_sequence)
        want, want_final = _numpy_rnn(kind, x, states, kernel, recurrent_kernel, bias,
                                      None if mask is None else MASKS[mask], backwards,
                                      sequences, zero, act, reset_after, recurrent_mask)
        np.testing.assert_allclose(out.detach().numpy(), want, rtol=2e-5, atol=2e-6,
                                   err_msg=str(case))
        for got, expected in zip(final, want_final):
            np.testing.assert_allclose(got.detach().numpy(), expected, rtol=2e-5, atol=2e-6,
                                       err_msg=str(case))
        assert bool(loops) == (dropout or (kind == "gru" and not reset_after)), case
        # Gradients of every input against those of the shared scan on torch tensors.
        leaves = [t for t in [tensors[0], *tensors[1], *tensors[2:5]] if t is not None]
        weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
        grads = torch.autograd.grad((out * weights).sum() + sum(f.sum() for f in final), leaves)
        ref_out, ref_final = _torch_sequence(kind, act, reset_after, mask, backwards, sequences,
                                             zero, tensors, scan)
        ref_grads = torch.autograd.grad(
            (ref_out * weights).sum() + sum(f.sum() for f in ref_final), leaves)
        for got, expected in zip(grads, ref_grads):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5, msg=str(case))


def _numpy_conv(x, kernel, bias):
    """'valid' cross-correlation of NHWC `x` with an HWIO kernel, plus bias."""
    kh, kw = kernel.shape[:2]
    out_h, out_w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i:i + out_h, j:j + out_w, :] @ kernel[i, j]
    return out + bias


def _conv_reference(module, x):
    """The module's current weights through NumPy: Conv2D(relu), Conv2D, Dense."""
    w = {name: p.detach().double().numpy() for name, p in module.state_dict().items()}
    k1, b1, k2, b2, k3, b3 = (w[k] for k in w)
    h = np.maximum(_numpy_conv(x.double().numpy(), k1, b1), 0)
    h = _numpy_conv(h, k2, b2)
    return h.reshape(h.shape[0], -1) @ k3 + b3


def test_inference_conv_weights_follow_updates_dtypes_batches_and_modes():
    uk.utils.set_random_seed(2)
    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((7, 7, 1)), L.Conv2D(4, 3, activation="relu"),
                               L.Conv2D(3, 2), L.Dropout(0.5, seed=1), L.Flatten(), L.Dense(2)])
    module = to_torch(model).eval()
    names = list(module.state_dict())   # conv kernel, bias, conv kernel, bias, dense ...
    gc.collect()
    keys_before = set(prepared._CACHE)   # other tests' entries may be freed at any time

    def own_entries():
        return set(prepared._CACHE) - keys_before

    x = torch.from_numpy(np.random.default_rng(3).standard_normal((3, 7, 7, 1)).astype("f4"))

    def check(out, inputs=x, tol=2e-5):
        np.testing.assert_allclose(out.detach().double().numpy(), _conv_reference(module, inputs),
                                   rtol=tol, atol=tol)

    with torch.no_grad():
        check(module(x))
        check(module(x))                                   # replay with cached weights
        assert len(own_entries()) == 2    # one laid-out weight per conv
        kernel = module.state_dict()[names[0]]
        first = module(x)
        kernel.mul_(-0.5)                                  # in place: a new version
        assert not torch.allclose(module(x), first)
        check(module(x))
        params = dict(module.named_parameters())
        params[names[2]].data = params[names[2]].data * 3.0  # a new storage
        check(module(x))
        check(module(x[:1]), x[:1])                        # another batch size
        module.load_state_dict({k: v * 1.5 for k, v in module.state_dict().items()})
        check(module(x))
        train_out = module.train()(x)                      # dropout on: a training replay
        assert not torch.allclose(train_out, module.eval()(x))
        check(module(x))
    with torch.enable_grad():                              # the uncached, differentiable path
        out = module(x)
        check(out)
        out.sum().backward()
        assert params[names[0]].grad is not None
        del out
    module.double()
    with torch.no_grad():
        out64 = module(x.double())
        assert out64.dtype == torch.float64
        check(out64, tol=1e-9)
    del module, model, kernel, params
    gc.collect()
    assert not own_entries(), "entries live only as long as the weights"


def test_lstm_zero_states_follow_the_batch_of_each_call():
    uk.utils.set_random_seed(5)
    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((4, 2)), L.LSTM(3, return_sequences=True)])
    module = to_torch(model).eval()
    kernel, recurrent_kernel, bias = (p.detach().numpy() for p in module.parameters())
    for batch in (1, 5, 2):
        x = np.random.default_rng(batch).standard_normal((batch, 4, 2)).astype("float32")
        with torch.no_grad():
            out = module(torch.from_numpy(x)).numpy()
        zeros = [np.zeros((batch, 3))] * 2
        want, _ = _numpy_rnn("lstm", x, zeros, kernel, recurrent_kernel, bias, None, False,
                             True, False, "tanh", True, None)
        np.testing.assert_allclose(out, want, rtol=2e-5, atol=2e-6)
