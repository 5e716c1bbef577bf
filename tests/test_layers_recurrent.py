"""Recurrent layers against Keras 3 (same weights), the NumPy backend, torch's own
nn.LSTM / nn.GRU / nn.RNN, across backends' gradients, and as OpenVINO graphs."""
import json
import re

import numpy as np
import pytest

import unikeras as uk
from unikeras import layers as L, ops
from unikeras.common.ops.recurrent import rnn_sequence
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_keras_code

B, T, F = 3, 5, 4
RNG = np.random.default_rng(7)
X = RNG.standard_normal((B, T, F)).astype("float32")
X_IMG = RNG.standard_normal((2, 3, 5, 5, 2)).astype("float32")
X_IMG3 = RNG.standard_normal((2, 3, 3, 4, 2, 1)).astype("float32")
MASKS = {
    "right": np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool),
    "left": np.array([[1, 1, 1, 1, 1], [0, 0, 0, 1, 1], [0, 1, 1, 1, 1]], bool),
    "holes": np.array([[1, 0, 1, 1, 0], [0, 1, 0, 0, 1], [1, 1, 0, 1, 1]], bool),
}
H0 = RNG.standard_normal((B, 3)).astype("float32")
C0 = RNG.standard_normal((B, 3)).astype("float32")

# (id, layer expression with `L` = the layers module, mask name, initial states, input).
CASES = [
    ("simple", "L.SimpleRNN(3)", None, None, X),
    ("simple_relu_seq_back", "L.SimpleRNN(3, activation='relu', return_sequences=True, "
     "go_backwards=True)", None, None, X),
    ("simple_holes", "L.SimpleRNN(3, return_sequences=True)", "holes", [H0], X),
    ("lstm_seq_state", "L.LSTM(3, return_sequences=True, return_state=True)", None, [H0, C0], X),
    ("lstm_right", "L.LSTM(3, return_sequences=True)", "right", None, X),
    ("lstm_right_zero", "L.LSTM(3, return_sequences=True, zero_output_for_mask=True)", "right",
     [H0, C0], X),
    ("lstm_left_back", "L.LSTM(3, return_sequences=True, go_backwards=True)", "left", [H0, C0],
     X),
    ("lstm_right_back_last", "L.LSTM(3, go_backwards=True, zero_output_for_mask=True)", "right",
     None, X),
    ("lstm_holes_state", "L.LSTM(3, return_state=True)", "holes", None, X),
    ("lstm_no_bias_hard", "L.LSTM(3, use_bias=False, recurrent_activation='hard_sigmoid', "
     "return_sequences=True)", None, None, X),
    ("gru", "L.GRU(3, return_sequences=True)", None, [H0], X),
    ("gru_back_mask", "L.GRU(3, go_backwards=True, return_state=True)", "left", None, X),
    ("gru_v1", "L.GRU(3, reset_after=False, return_sequences=True)", None, [H0], X),
    ("gru_v1_holes", "L.GRU(3, reset_after=False, go_backwards=True)", "holes", None, X),
    ("stacked", "L.RNN([L.LSTMCell(3), L.GRUCell(2, reset_after=False)], "
     "return_sequences=True, return_state=True)", "holes", None, X),
    ("rnn_cell", "L.RNN(L.SimpleRNNCell(3), go_backwards=True)", "right", None, X),
    ("bi_concat", "L.Bidirectional(L.LSTM(3, return_sequences=True))", "right", None, X),
    ("bi_sum_gru", "L.Bidirectional(L.GRU(2), merge_mode='sum')", None, None, X),
    ("bi_ave_state", "L.Bidirectional(L.SimpleRNN(2, return_state=True), merge_mode='ave')",
     None, None, X),
    ("bi_mul_backward", "L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode='mul', "
     "backward_layer=L.GRU(2, return_sequences=True, go_backwards=True))", None, None, X),
    ("bi_none", "L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode=None)", "left",
     None, X),
    ("time_dense", "L.TimeDistributed(L.Dense(2, activation='tanh'))", None, None, X),
    ("conv_lstm2d", "L.ConvLSTM2D(2, 3, padding='same', return_sequences=True)", None, None,
     X_IMG),
    ("conv_lstm2d_valid", "L.ConvLSTM2D(3, (3, 2), strides=(2, 1), return_state=True)", None,
     None, X_IMG),
    ("conv_lstm1d", "L.ConvLSTM1D(2, 2, go_backwards=True)", None, None, X_IMG[:, :, :, 0]),
    ("conv_lstm3d", "L.ConvLSTM3D(2, 2)", None, None, X_IMG3),
]
IDS = [c[0] for c in CASES]
# The cases every framework runs: each code path once (fused, packed masks, scans, wrappers).
FRAMEWORK_IDS = ["simple_relu_seq_back", "simple_holes", "lstm_seq_state", "lstm_right_zero",
                 "lstm_left_back", "lstm_holes_state", "lstm_no_bias_hard", "gru_back_mask",
                 "gru_v1_holes", "stacked", "bi_concat", "bi_none", "time_dense",
                 "conv_lstm2d_valid"]


def _unnumbered(path):
    """A weight path without the `_N` suffixes that make layer names unique."""
    return re.sub(r"_\d+(?=/|$)", "", path)


def _np(x):
    return ops.convert_to_numpy(x)


def _flat(out):
    return [o for item in (out if isinstance(out, (list, tuple)) else [out])
            for o in (item if isinstance(item, (list, tuple)) else [item])]


def _shapes(s):
    """A shape, or a (nested) list of shapes, as a flat list of tuples."""
    if all(d is None or isinstance(d, int) for d in s):
        return [tuple(s)]
    return [shape for item in s for shape in _shapes(item)]


def _random_weights(layer, seed):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(w.shape) * 0.6).astype("float32") for w in layer.get_weights()]


def _call(layer, x, mask, states, backend):
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = to_backend(MASKS[mask], backend)
    if states is not None:
        kwargs["initial_state"] = [to_backend(s, backend) for s in states]
    return layer(to_backend(x, backend), **kwargs)


def _ours(case, backend, weights=None):
    """The case's layer built on `backend` (with `weights`), and its flat outputs."""
    _, expr, mask, states, x = case
    with ops.backend_scope(backend):
        layer = eval(expr)
        _call(layer, x, mask, states, backend)
        if weights is not None:
            layer.set_weights(weights)
        return layer, [_np(o) for o in _flat(_call(layer, x, mask, states, backend))]


_KERAS_CODE = """
import json
import re
cases = json.loads(CASES)
L = keras.layers
for i, (expr, mask, states) in enumerate(cases):
    layer = eval(expr)
    x = arrays[f"x{i}"]
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = arrays[f"m{i}"]
    if states is not None:
        kwargs["initial_state"] = [arrays[f"s{i}_{j}"] for j in range(states)]
    layer(x, **kwargs)
    layer.set_weights([arrays[f"w{i}_{j}"] for j in range(len(layer.weights))])
    out = layer(x, **kwargs)
    flat = [o for item in (out if isinstance(out, (list, tuple)) else [out])
            for o in (item if isinstance(item, (list, tuple)) else [item])]
    for j, o in enumerate(flat):
        result[f"out{i}_{j}"] = o
    result[f"n_out{i}"] = len(flat)
    result[f"names{i}"] = [w.path for w in layer.weights]
    result[f"shapes{i}"] = [list(w.shape) for w in layer.weights]
    result[f"config{i}"] = sorted(layer.get_config())
    shape = layer.compute_output_shape(x.shape)
    result[f"oshape{i}"] = json.loads(json.dumps(shape, default=list))
"""


@pytest.fixture(scope="module")
def oracle():
    """Each case in Keras 3 and on the NumPy backend, with the same random weights."""
    arrays, specs, numpy_side = {}, [], {}
    for i, case in enumerate(CASES):
        cid, expr, mask, states, x = case
        layer, _ = _ours(case, "numpy")
        weights = _random_weights(layer, i)
        layer, outs = _ours(case, "numpy", weights)
        numpy_side[cid] = (layer, weights, outs)
        arrays[f"x{i}"] = x
        if mask is not None:
            arrays[f"m{i}"] = MASKS[mask]
        for j, s in enumerate(states or []):
            arrays[f"s{i}_{j}"] = s
        for j, w in enumerate(weights):
            arrays[f"w{i}_{j}"] = w
        specs.append([expr, mask, None if states is None else len(states)])
    code = f"CASES = {json.dumps(json.dumps(specs))}\n" + _KERAS_CODE
    result = run_keras_code(code, arrays)
    keras_side = {}
    for i, cid in enumerate(IDS):
        keras_side[cid] = {
            "outputs": [result[f"out{i}_{j}"] for j in range(result[f"n_out{i}"])],
            "names": result[f"names{i}"], "shapes": result[f"shapes{i}"],
            "config": result[f"config{i}"], "output_shape": result[f"oshape{i}"]}
    return numpy_side, keras_side


def _assert_outputs(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("cid", IDS)
def test_numpy_backend_equals_keras_and_weights_match(oracle, cid):
    numpy_side, keras_side = oracle
    layer, _, outs = numpy_side[cid]
    k = keras_side[cid]
    _assert_outputs(outs, k["outputs"])
    assert [_unnumbered(w.path) for w in layer.weights] == [_unnumbered(n) for n in k["names"]]
    assert [list(w.shape) for w in layer.weights] == k["shapes"]


@pytest.mark.parametrize("cid", FRAMEWORK_IDS)
def test_each_framework_equals_keras(oracle, backend, cid):
    numpy_side, keras_side = oracle
    _, weights, _ = numpy_side[cid]
    _, outs = _ours(CASES[IDS.index(cid)], backend, weights)
    _assert_outputs(outs, keras_side[cid]["outputs"])


@pytest.mark.parametrize("cid", IDS)
def test_config_keys_round_trip_and_symbolic_shapes(oracle, cid):
    numpy_side, keras_side = oracle
    layer, weights, outs = numpy_side[cid]
    config = layer.get_config()
    assert sorted(config) == keras_side[cid]["config"]
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    x = CASES[IDS.index(cid)][4]
    symbolic = _shapes(layer.compute_output_shape(x.shape))
    assert symbolic == [o.shape for o in outs] == _shapes(keras_side[cid]["output_shape"])
    symbolic_call = _flat(eval(CASES[IDS.index(cid)][1])(uk.Input(x.shape[1:])))
    assert [t.shape for t in symbolic_call] == [(None,) + o.shape[1:] for o in outs]


@pytest.mark.parametrize("expr,want", [
    ("L.LSTM(3, return_sequences=True, return_state=True)",
     [(None, None, 3), (None, 3), (None, 3)]),
    ("L.Bidirectional(L.GRU(2, return_sequences=True))", [(None, None, 4)]),
    ("L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)])", [(None, 2)]),
    ("L.TimeDistributed(L.Dense(2))", [(None, None, 2)]),
])
def test_symbolic_call_keeps_batch_and_time_dynamic(expr, want):
    assert [t.shape for t in _flat(eval(expr)(uk.Input((None, F))))] == want


# --- torch: the native modules and the fused kernels ------------------------------------------
def _torch_gate_order(w, units):
    """Rows of a Keras-order GRU weight (z, r, h) in torch's order (r, z, n)."""
    return np.concatenate([w[units:2 * units], w[:units], w[2 * units:]])


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple"])
def test_torch_matches_native_module_with_mapped_weights(kind):
    torch = pytest.importorskip("torch")
    units = 3
    expr = {"lstm": L.LSTM, "gru": L.GRU, "simple": L.SimpleRNN}[kind]
    with ops.backend_scope("torch"):
        layer = expr(units, return_sequences=True)
        out = layer(torch.from_numpy(X))
    native = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple": torch.nn.RNN}[kind](
        F, units, batch_first=True)
    kernel, recurrent, bias = layer.get_weights()
    if kind == "gru":
        kernel = _torch_gate_order(kernel.T, units)
        recurrent = _torch_gate_order(recurrent.T, units)
        b_ih, b_hh = _torch_gate_order(bias[0], units), _torch_gate_order(bias[1], units)
    else:
        kernel, recurrent, b_ih, b_hh = kernel.T, recurrent.T, bias, np.zeros_like(bias)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", kernel), ("weight_hh_l0", recurrent),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(native, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    expected = native(torch.from_numpy(X))[0].detach().numpy()
    np.testing.assert_allclose(_np(out), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr,mask,fused", [
    ("L.LSTM(3)", None, True),
    ("L.LSTM(3, return_sequences=True, go_backwards=True)", "right", True),
    ("L.GRU(3, return_sequences=True)", "left", True),
    ("L.SimpleRNN(3, activation='relu')", None, True),
    ("L.LSTM(3)", "holes", True),
    ("L.GRU(3, return_sequences=True, go_backwards=True)", "holes", True),
    ("L.SimpleRNN(3, return_sequences=True)", "holes", True),
    ("L.GRU(3, reset_after=False)", None, False),
    ("L.LSTM(3, recurrent_activation='hard_sigmoid')", None, False),
])
def test_torch_runs_the_fused_kernel_when_it_can(monkeypatch, expr, mask, fused):
    pytest.importorskip("torch")
    from unikeras.adapters.torch_nn import ops_recurrent
    calls = []
    for key, fn in list(ops_recurrent._KERNELS.items()):
        def spy(*args, _fn=fn):
            calls.append(_fn.__name__)
            return _fn(*args)
        monkeypatch.setitem(ops_recurrent._KERNELS, key, spy)
    with ops.backend_scope("torch"):
        layer = eval(expr)
        out = _call(layer, X, mask, None, "torch")
    assert bool(calls) == fused
    cell, fused_args = layer.cell, layer._fused
    weights = [None if w is None else _np(w)
               for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]
    zeros = [np.zeros((B, 3), "float32")] * (2 if fused_args["kind"] == "lstm" else 1)
    with ops.backend_scope("numpy"):
        expected, _ = rnn_sequence(
            fused_args["kind"], X, zeros, *weights, mask=None if mask is None else MASKS[mask],
            go_backwards=layer.go_backwards, return_sequences=layer.return_sequences,
            activation=fused_args["activation"],
            recurrent_activation=fused_args["recurrent_activation"],
            reset_after=fused_args["reset_after"])
    np.testing.assert_allclose(_np(out), expected, rtol=1e-5, atol=2e-6)


def test_to_torch_module_state_dict_and_drop_in():
    torch = pytest.importorskip("torch")
    from unikeras.adapters.torch_nn import to_torch
    with ops.backend_scope("torch"):
        layer = L.LSTM(3)
    module = to_torch(layer, (None, T, F))
    assert list(module.state_dict()) == ["lstm_cell.kernel", "lstm_cell.recurrent_kernel",
                                         "lstm_cell.bias"]
    x = torch.from_numpy(X)
    out = module(x)
    out.sum().backward()
    assert all(p.grad is not None for p in module.parameters())
    with ops.backend_scope("numpy"):
        ref = L.LSTM(3)
        ref(X)
        ref.set_weights(module.get_weights())
        np.testing.assert_allclose(out.detach().numpy(), ref(X), rtol=1e-5, atol=1e-6)


# --- jax: one lax.scan, no Python loop over time --------------------------------------------------
def test_jax_runs_one_scan_whatever_the_length():
    jax = pytest.importorskip("jax")
    with ops.backend_scope("jax"):
        layer = L.GRU(3, return_sequences=True)
        layer(to_backend(X, "jax"))
        params = [v.value for v in layer.trainable_variables]

    def run(params, x):
        return layer.stateless_call(params, [], x)[0]

    sizes = []
    for steps in (5, 40):
        x = np.zeros((2, steps, F), "float32")
        jaxpr = str(jax.make_jaxpr(run)(params, x))
        assert "scan" in jaxpr
        sizes.append(len(jaxpr.splitlines()))
    assert sizes[0] == sizes[1]


# --- gradients agree across backends ------------------------------------------------------------
# (layer, mask, inputs): the ConvLSTM's input convolution runs outside its scan.
_GRAD_CASES = [("L.LSTM(3, return_sequences=True)", "right", X),
               ("L.GRU(3, reset_after=False)", "holes", X),
               ("L.RNN([L.SimpleRNNCell(2), L.GRUCell(3)])", None, X),
               ("L.ConvLSTM1D(2, 2, padding='same', return_sequences=True)", "right",
                X[..., None])]


def _grads(backend, expr, weights, mask, inputs):
    with ops.backend_scope(backend):
        layer = eval(expr)
        _call(layer, inputs, mask, None, backend)
        kwargs = {} if mask is None else {"mask": to_backend(MASKS[mask], backend)}
        x = to_backend(inputs, backend)

        def loss(params):
            out = layer.stateless_call(params, [], x, **kwargs)[0]
            return ops.sum(ops.square(out))

        if backend == "torch":
            import torch
            params = [torch.tensor(w, requires_grad=True) for w in weights]
            loss(params).backward()
            return [p.grad.numpy() for p in params]
        if backend == "jax":
            import jax
            return [np.asarray(g) for g in jax.grad(loss)([to_backend(w, "jax") for w in weights])]
        import tensorflow as tf
        params = [tf.Variable(w) for w in weights]
        with tf.GradientTape() as tape:
            value = loss([tf.convert_to_tensor(p) for p in params])
        return [g.numpy() for g in tape.gradient(value, params)]


@pytest.mark.parametrize("expr,mask,inputs", _GRAD_CASES)
def test_gradients_agree_across_backends(expr, mask, inputs):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two frameworks")
    with ops.backend_scope("numpy"):
        layer = eval(expr)
        layer(inputs)
        weights = _random_weights(layer, 3)
    grads = {b: _grads(b, expr, weights, mask, inputs) for b in FRAMEWORKS}
    first = grads[FRAMEWORKS[0]]
    assert all(np.abs(g).max() > 0 for g in first)
    for b in FRAMEWORKS[1:]:
        for g, h in zip(grads[b], first):
            np.testing.assert_allclose(g, h, rtol=1e-4, atol=1e-5)


# --- OpenVINO: the compiled functional model, batch and time dynamic ------------------------------
_OV_CASES = ["L.LSTM(3, return_sequences=True)", "L.GRU(3, go_backwards=True)",
             "L.GRU(3, reset_after=False, return_sequences=True)",
             "L.SimpleRNN(3, activation='relu')",
             "L.LSTM(2, recurrent_activation='hard_sigmoid')",
             "L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode='sum')",
             "L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_sequences=True)",
             "L.TimeDistributed(L.Dense(2))"]


@pytest.mark.parametrize("expr", _OV_CASES)
def test_openvino_compile_equals_numpy_backend(expr):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    with ops.backend_scope("numpy"):
        inputs = uk.Input((None, F))
        model = uk.Model(inputs, eval(expr)(inputs))
        model.set_weights(_random_weights(model, 5))
        compiled = uov.compile(model)
        for shape in ((B, T, F), (1, 9, F)):
            x = RNG.standard_normal(shape).astype("float32")
            np.testing.assert_allclose(compiled(x), model(x), rtol=1e-5, atol=2e-6)


def test_openvino_conv_lstm_compiles_with_dynamic_batch_and_time():
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    with ops.backend_scope("numpy"):
        inputs = uk.Input((None, 5, 5, 2))
        model = uk.Model(inputs, L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)(inputs))
        model.set_weights(_random_weights(model, 6))
        compiled = uov.compile(model)
        for x in (X_IMG, X_IMG[:1, :2]):
            np.testing.assert_allclose(compiled(x), model(x), rtol=1e-5, atol=2e-6)


def test_openvino_time_distributed_keeps_batch_and_time_dynamic_without_a_loop():
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    rng = np.random.default_rng(3)
    for make, features in [(lambda: L.TimeDistributed(L.Dense(3)), (F,)),
                           (lambda: L.TimeDistributed(L.Conv2D(2, 3, padding="same")),
                            (5, 5, 2))]:
        with ops.backend_scope("numpy"):
            inputs = uk.Input((None,) + features)
            model = uk.Model(inputs, make()(inputs))
            weights = _random_weights(model, 8)
            model.set_weights(weights)
            compiled = uov.compile(model)
            types = [o.get_type_name() for o in compiled.ov_model.get_ordered_ops()]
            assert "Loop" not in types, types
            for lead in ((B, T), (1, 7)):
                x = rng.standard_normal(lead + features).astype("float32")
                want = x @ weights[0] + weights[1] if len(features) == 1 else model(x)
                np.testing.assert_allclose(compiled(x), want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("kind,mask", [("lstm", "holes"), ("gru", "right"), ("simple", "left")])
def test_openvino_masked_sequence_graph_equals_numpy(kind, mask):
    ov = pytest.importorskip("openvino")
    ovo = pytest.importorskip("openvino.opset16")
    gates = {"simple": 1, "lstm": 4, "gru": 3}[kind]
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((F, gates * 3)).astype("float32")
    recurrent = rng.standard_normal((3, gates * 3)).astype("float32")
    bias = rng.standard_normal((2, gates * 3) if kind == "gru" else (gates * 3,)).astype("float32")
    states = [H0] + ([C0] if kind == "lstm" else [])
    kwargs = dict(go_backwards=True, return_sequences=True)
    with ops.backend_scope("numpy"):
        expected, finals = rnn_sequence(kind, X, states, kernel, recurrent, bias, MASKS[mask],
                                        **kwargs)
    x = ovo.parameter([-1, -1, F], np.float32, name="x")
    m = ovo.parameter([-1, -1], np.bool_, name="mask")
    hs = [ovo.parameter([-1, 3], np.float32, name=f"h{i}") for i in range(len(states))]
    with ops.backend_scope("openvino"):
        out, final = rnn_sequence(kind, x.output(0), [h.output(0) for h in hs], kernel, recurrent,
                                  bias, m.output(0), **kwargs)
    model = ov.Model([out] + final, [x, m] + hs, "masked")
    compiled = ov.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    got = compiled([X, MASKS[mask]] + states)
    for i, want in enumerate([expected] + finals):
        np.testing.assert_allclose(got[compiled.outputs[i]], want, rtol=1e-5, atol=2e-6)


# --- errors name the layer ------------------------------------------------------------------------
@pytest.mark.parametrize("make,x,kwargs,match", [
    (lambda: L.LSTM(3, name="enc"), np.zeros((2, 4), "float32"), {},
     r"LSTM 'enc'.*rank 3.*\(2, 4\)"),
    (lambda: L.GRU(3, name="enc"), np.zeros((2, 5, 6), "float32"), {},
     r"GRU 'enc'.*\(batch, time\) \+ \(4,\).*\(2, 5, 6\)"),
    (lambda: L.SimpleRNN(3, name="enc"), X, {"mask": np.ones((B, T + 1), bool)},
     r"SimpleRNN 'enc'.*mask.*\(3, 5\).*\(3, 6\)"),
    (lambda: L.LSTM(3, name="enc"), X, {"initial_state": [np.zeros((B, 3), "float32")]},
     r"LSTM 'enc'.*2 initial state"),
])
def test_bad_inputs_raise_value_errors_naming_the_layer(backend, make, x, kwargs, match):
    with ops.backend_scope(backend):
        layer = make()
        layer(to_backend(X, backend))
        kwargs = {k: (to_backend(v, backend) if isinstance(v, np.ndarray)
                      else [to_backend(s, backend) for s in v]) for k, v in kwargs.items()}
        with pytest.raises(ValueError, match=match):
            layer(to_backend(x, backend), **kwargs)


def test_symbolic_bad_inputs_and_arguments():
    with pytest.raises(ValueError, match=r"'enc'.*rank 3.*\(None, 4\)"):
        L.LSTM(3, name="enc")(uk.Input((4,)))
    with pytest.raises(ValueError, match="units must be a positive int"):
        L.GRU(0)
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))
    with pytest.raises(ValueError, match="state_size"):
        L.RNN(L.Dense(2))
    with pytest.raises(ValueError, match="padding"):
        L.ConvLSTM2D(2, 3, padding="full")


# --- state, dropout, masks, custom cells ----------------------------------------------------------
def test_stateful_layer_carries_and_resets_its_states(backend):
    with ops.backend_scope(backend):
        layer = L.LSTM(3, stateful=True, return_state=True)
        x = to_backend(X, backend)
        out1, h1, c1 = layer(x)
        out2, _, _ = layer(x)
        fresh = L.LSTM(3, return_state=True)
        fresh(x)
        fresh.set_weights(layer.get_weights())
        np.testing.assert_allclose(_np(out1), _np(fresh(x)[0]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(out2), _np(fresh(x, initial_state=[h1, c1])[0]),
                                   rtol=1e-5, atol=1e-6)
        layer.reset_states()
        np.testing.assert_allclose(_np(layer(x)[0]), _np(out1), rtol=1e-5, atol=1e-6)
    assert len(layer.get_weights()) == 3 and len(layer.states) == 2


def test_stateful_states_are_torch_buffers_updated_in_place():
    torch = pytest.importorskip("torch")
    from unikeras.adapters.torch_nn import to_torch
    with ops.backend_scope("torch"):
        layer = L.GRU(2, stateful=True)
    module = to_torch(layer, (B, T, F))
    assert list(module.state_dict()) == ["gru_cell.kernel", "gru_cell.recurrent_kernel",
                                         "gru_cell.bias"]
    buffer = dict(module.named_buffers())["rnn_state"]
    with torch.no_grad():
        out = module(torch.from_numpy(X))
    np.testing.assert_allclose(buffer.numpy(), out.numpy(), rtol=1e-6)


@pytest.mark.parametrize("expr", [
    "L.LSTM(4, dropout=0.5, seed=3)", "L.GRU(4, recurrent_dropout=0.5, seed=3)",
    "L.RNN(L.SimpleRNNCell(4, dropout=0.5, recurrent_dropout=0.5, seed=3))"])
def test_dropout_is_seeded_and_only_in_training(backend, expr):
    with ops.backend_scope(backend):
        x = to_backend(np.abs(X) + 0.5, backend)
        a, b = eval(expr), eval(expr)
        a(x)
        b(x)
        b.set_weights(a.get_weights())
        plain = eval(expr.replace("dropout=0.5", "dropout=0.0"))
        plain(x)
        plain.set_weights(a.get_weights())
        np.testing.assert_allclose(_np(a(x)), _np(plain(x)), rtol=1e-6)
        train_a, train_b = _np(a(x, training=True)), _np(b(x, training=True))
    np.testing.assert_allclose(train_a, train_b, rtol=1e-6)
    assert not np.allclose(train_a, _np(plain(x)), atol=1e-4)


class MinimalRNNCell(uk.Layer):
    """A custom cell (Keras's docs example): h = x W + tanh(h U)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent")

    def call(self, inputs, states):
        h = ops.matmul(inputs, self.kernel) + ops.tanh(ops.matmul(states[0], self.recurrent_kernel))
        return h, [h]


def test_rnn_with_a_custom_cell_matches_numpy_formula(backend):
    with ops.backend_scope(backend):
        layer = L.RNN(MinimalRNNCell(3), return_sequences=True, go_backwards=True)
        out = _np(_call(layer, X, "holes", None, backend))
    w, u = layer.get_weights()
    h, expected = np.zeros((B, 3), "float32"), []
    for t in reversed(range(T)):
        keep = MASKS["holes"][:, t:t + 1]
        h = np.where(keep, X[:, t] @ w + np.tanh(h @ u), h)
        expected.append(h)
    np.testing.assert_allclose(out, np.stack(expected, 1), rtol=1e-5, atol=1e-6)
    assert [v.path for v in layer.weights] == [f"{layer.name}/{layer.cell.name}/kernel",
                                               f"{layer.name}/{layer.cell.name}/recurrent"]


def test_compute_mask_follows_return_sequences_and_state():
    mask = np.ones((B, T), bool)
    assert L.LSTM(3).compute_mask(X, mask) is None
    assert L.LSTM(3, return_sequences=True).compute_mask(X, mask) is mask
    assert L.GRU(3, return_sequences=True, return_state=True).compute_mask(X, mask)[1:] == [None]
    both = L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=None).compute_mask(X, mask)
    assert both[0] is mask and both[1] is mask
    assert L.TimeDistributed(L.Dense(2)).compute_mask(X, mask) is mask


def test_torch_inference_weights_follow_every_update():
    """Inference reuses prepared (transposed, contiguous) LSTM weights; in-place updates,
    `.data` swaps and dtype moves must all be seen."""
    torch = pytest.importorskip("torch")
    from unikeras.adapters import hosting
    from unikeras.adapters.torch_nn import to_torch
    uk.utils.set_random_seed(4)
    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((5, 3)), L.LSTM(4)])
    module = to_torch(model).eval()
    x = torch.from_numpy(np.random.default_rng(5).standard_normal((2, 5, 3)).astype("float32"))

    def fresh():
        values = module._values()
        out, _ = hosting.run_hosted(model, module._hosted, values, "torch", (x,), {})
        return out

    with torch.no_grad():
        first = module(x)
        torch.testing.assert_close(module(x), first)
        kernel = next(p for n, p in module.named_parameters() if n.endswith(".kernel"))
        kernel.mul_(0.5)                       # in-place: a new version
        second = module(x)
        assert not torch.allclose(second, first)
        torch.testing.assert_close(second, fresh(), rtol=1e-6, atol=1e-6)
        kernel.data = kernel.data * 2.0        # a new storage, same version counter
        third = module(x)
        torch.testing.assert_close(third, fresh(), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(third, first, rtol=1e-5, atol=1e-6)
        module.double()
        out64 = module(x.double())
        assert out64.dtype == torch.float64
        torch.testing.assert_close(out64.float(), first, rtol=1e-5, atol=1e-6)
