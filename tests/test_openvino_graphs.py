"""The OpenVINO graphs unikeras builds are as lean as `ov.convert_model`'s of the same torch
network (bench/openvino_graphs.py measures them) and compute what independent NumPy code does:
- Dense weights stored (out, in) and a Flatten's transpose folded into them
  (unikeras/adapters/openvino/dense_weights.py): no transpose left for the plugin to run;
- an LSTM's zero initial states made by one Broadcast, no slice of the input;
- masked sequences on the sequence node when each row's valid steps form one block (an If
  whose other branch is the Loop for masks with holes), with Keras's masking rules;
- `CompiledModel` calls hand inputs over without copying and return outputs of their own.
"""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")
ovo = pytest.importorskip("openvino.opset16")

import unikeras as uk  # noqa: E402
from unikeras import layers, ops  # noqa: E402
from unikeras.adapters import openvino as uov  # noqa: E402
from unikeras.common.ops.recurrent import rnn_sequence  # noqa: E402

CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
TOL = dict(rtol=1e-5, atol=2e-6)


def _types(ov_model):
    return [op.get_type_name() for op in ov_model.get_ordered_ops()]


def _runtime_types(compiled):
    return [op.get_rt_info()["layerType"].astype(str)
            for op in compiled.get_runtime_model().get_ordered_ops()]


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _random_weights(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5
                       for w in model.get_weights()])


# --- Dense weights ---------------------------------------------------------------------------
def test_dense_weights_are_out_by_in_and_a_flatten_folds_into_them():
    uk.utils.set_random_seed(0)
    model = uk.Sequential([uk.Input((4, 5, 2)), layers.Conv2D(3, 1, activation="relu"),
                           layers.Flatten(), layers.Dense(6), layers.Dense(2)])
    _random_weights(model, 1)
    compiled = uov.compile(model)
    data_transposes = [op for op in compiled.ov_model.get_ordered_ops()
                       if op.get_type_name() == "Transpose"
                       and op.input_value(0).get_node().get_type_name() != "Constant"]
    assert len(data_transposes) == 1          # the input's, into channels-first
    matmuls = [op for op in compiled.ov_model.get_ordered_ops() if op.get_type_name() == "MatMul"]
    assert [tuple(m.input_value(1).get_shape()) for m in matmuls] == [(6, 60), (2, 6)]
    assert all(m.get_attributes()["transpose_b"] for m in matmuls)
    assert _runtime_types(compiled.compiled).count("Transpose") == 1   # the input's again

    kernel, bias, k1, b1, k2, b2 = model.get_weights()
    for n in (1, 3):
        x = np.random.default_rng(n).standard_normal((n, 4, 5, 2)).astype("float32")
        h = np.maximum(np.einsum("bhwc,co->bhwo", x, kernel[0, 0]) + bias, 0)
        want = (h.reshape(n, -1) @ k1 + b1) @ k2 + b2
        np.testing.assert_allclose(compiled(x), want, rtol=1e-5, atol=1e-5)


# --- recurrent: a NumPy reference with Keras's masking rules --------------------------------
def _step(kind, x_t, states, kernel, recurrent, bias):
    h = states[0]
    if kind == "simple":
        return [np.tanh(x_t @ kernel + h @ recurrent + bias)]
    if kind == "lstm":
        i, f, g, o = np.split(x_t @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = _sigmoid(f) * states[1] + _sigmoid(i) * np.tanh(g)
        return [_sigmoid(o) * np.tanh(c), c]
    xz, xr, xh = np.split(x_t @ kernel + bias[0], 3, axis=-1)   # GRU, reset_after
    hz, hr, hh = np.split(h @ recurrent + bias[1], 3, axis=-1)
    z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
    return [z * h + (1 - z) * np.tanh(xh + r * hh)]


def _numpy_rnn(kind, x, mask, states, weights, go_backwards, return_sequences,
               zero_output_for_mask):
    """Masked steps keep every state and output zeros or the carried h; go_backwards reads
    the steps from the end and keeps the outputs in the order computed."""
    x, mask = (x[:, ::-1], mask[:, ::-1]) if go_backwards else (x, mask)
    states, outputs = [s.astype("float64") for s in states], []
    for t in range(x.shape[1]):
        keep = mask[:, t:t + 1]
        new = [np.where(keep, n, s) for n, s in zip(_step(kind, x[:, t], states, *weights),
                                                    states)]
        outputs.append(np.where(keep, new[0], 0 if zero_output_for_mask else new[0]))
        states = new
    if return_sequences:
        return np.stack(outputs, 1), states
    return outputs[-1], states


MASKS = {   # 4 rows, 6 steps
    "right": np.array([[1] * 6, [1, 1, 0, 0, 0, 0], [1] * 5 + [0], [0] * 6], bool),
    "left": np.array([[1] * 6, [0, 0, 0, 1, 1, 1], [0] + [1] * 5, [0] * 6], bool),
    "middle": np.array([[0, 1, 1, 0, 0, 0], [1] * 6, [0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0]],
                       bool),
    "holes": np.array([[1, 0, 1, 1, 0, 1], [1] * 6, [0, 1, 0, 0, 1, 1], [1, 1, 0, 1, 1, 0]],
                      bool),
}
UNITS, FEATURES = 3, 4
# (go_backwards, return_sequences, zero_output_for_mask): for the LSTM every pair of values of
# two flags, for the others two cases between them taking every value of each flag
CONFIGS = {"lstm": [(False, False, False), (True, True, False), (False, True, True),
                    (True, False, True)],
           "gru": [(False, True, False), (True, False, True)],
           "simple": [(True, True, True), (False, False, False)]}


def _weights(kind, rng):
    gates = {"simple": 1, "lstm": 4, "gru": 3}[kind] * UNITS
    kernel = rng.standard_normal((FEATURES, gates)).astype("float32")
    recurrent = rng.standard_normal((UNITS, gates)).astype("float32")
    bias = rng.standard_normal((2, gates) if kind == "gru" else (gates,)).astype("float32")
    return kernel, recurrent, bias


def _masked_graph(kind, weights, n_states, **kwargs):
    """(compiled model of the op on dynamic-shape parameters x, mask, states; ov.Model)."""
    x = ovo.parameter([-1, -1, FEATURES], np.float32)
    m = ovo.parameter([-1, -1], np.bool_)
    hs = [ovo.parameter([-1, UNITS], np.float32) for _ in range(n_states)]
    with ops.backend_scope("openvino"):
        out, finals = rnn_sequence(kind, x.output(0), [h.output(0) for h in hs], *weights,
                                   mask=m.output(0), **kwargs)
    model = ov.Model([out] + finals, [x, m] + hs, "masked")
    return ov.compile_model(model, "CPU", CONFIG), model


def _bodies(model):
    """{If branch: node types} of the model's If node(s)."""
    found = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() == "If":
            found["then"] = _types(op.get_then_body())
            found["else"] = _types(op.get_else_body())
    return found


def test_masked_sequences_match_numpy_on_the_sequence_node_or_the_loop():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, FEATURES)).astype("float32")
    node = {"lstm": "LSTMSequence", "gru": "GRUSequence", "simple": "RNNSequence"}
    for kind in ("lstm", "gru", "simple"):
        weights = _weights(kind, rng)
        states = [rng.standard_normal((4, UNITS)).astype("float32")
                  for _ in range(2 if kind == "lstm" else 1)]
        for go_backwards, return_sequences, zero_output in CONFIGS[kind]:
            kwargs = dict(go_backwards=go_backwards, return_sequences=return_sequences,
                          zero_output_for_mask=zero_output)
            compiled, model = _masked_graph(kind, weights, len(states), **kwargs)
            bodies = _bodies(model)
            assert node[kind] in bodies["then"] and "Loop" not in bodies["then"], kwargs
            assert "Loop" in bodies["else"] and node[kind] not in bodies["else"], kwargs
            for name, mask in MASKS.items():
                got = compiled([x, mask] + states)
                want, finals = _numpy_rnn(kind, x, mask, states, weights, **kwargs)
                for i, w in enumerate([want] + finals):
                    np.testing.assert_allclose(got[compiled.outputs[i]], w, **TOL,
                                               err_msg=f"{kind} {name} {kwargs} output {i}")


def test_a_masked_lstm_model_runs_no_loop_unless_its_cell_state_is_returned():
    uk.utils.set_random_seed(2)
    inputs = uk.Input((7, FEATURES))
    masked = layers.Masking(0.0)(inputs)
    lstm = layers.LSTM(UNITS, return_sequences=True, return_state=True)
    outputs, h, c = lstm(masked)
    _random_weights(uk.Model(inputs, [outputs, h, c]), 4)
    lengths = np.array([7, 3, 1, 5])
    x = np.random.default_rng(5).standard_normal((4, 7, FEATURES)).astype("float32")
    x[np.arange(7)[None, :] >= lengths[:, None]] = 0
    weights = [np.asarray(w) for w in lstm.get_weights()]
    zeros = [np.zeros((4, UNITS), "float32")] * 2
    want, (want_h, want_c) = _numpy_rnn("lstm", x, np.any(x != 0, -1), zeros, weights, False,
                                        True, False)
    without_c = uov.compile(uk.Model(inputs, [outputs, h]))
    assert "Loop" not in _types(without_c.ov_model)
    with_c = uov.compile(uk.Model(inputs, [outputs, h, c]))
    assert "Loop" in _types(with_c.ov_model)
    for got in (without_c(x), with_c(x)):
        for g, w in zip(got, (want, want_h, want_c)):
            np.testing.assert_allclose(g, w, **TOL)


def test_lstm_zero_states_come_from_one_broadcast():
    uk.utils.set_random_seed(0)
    model = uk.Sequential([uk.Input((5, FEATURES)), layers.LSTM(UNITS), layers.Dense(2)])
    _random_weights(model, 6)
    compiled = uov.compile(model)
    types = _types(compiled.ov_model)
    assert types.count("LSTMSequence") == 1 and types.count("Broadcast") == 2  # states, lengths
    assert not {"StridedSlice", "Loop", "Transpose"} & set(_runtime_types(compiled.compiled))
    kernel, recurrent, bias, k2, b2 = model.get_weights()
    for n in (1, 3):
        x = np.random.default_rng(n).standard_normal((n, 5, FEATURES)).astype("float32")
        last, _ = _numpy_rnn("lstm", x, np.ones((n, 5), bool), [np.zeros((n, UNITS))] * 2,
                             (kernel, recurrent, bias), False, False, False)
        np.testing.assert_allclose(compiled(x), last @ k2 + b2, **TOL)


# --- CompiledModel calls ---------------------------------------------------------------------
def test_calls_take_any_array_layout_and_return_their_own_outputs():
    uk.utils.set_random_seed(0)
    model = uk.Sequential([uk.Input((3,)), layers.Dense(2)])
    compiled = uov.compile(model)
    kernel, bias = model.get_weights()
    a = np.arange(6, dtype="float64").reshape(3, 2).T     # float64, not C-contiguous
    first = compiled(a)
    second = compiled(np.ones((5, 3), "float32"))          # reuses the infer request
    np.testing.assert_allclose(first, a @ kernel + bias, **TOL)
    np.testing.assert_allclose(second, np.ones((5, 3)) @ kernel + bias, **TOL)
    with pytest.raises(ValueError, match="expects 1 inputs, got 2"):
        compiled(a, a)
