"""unikeras models served the way an OpenVINO user serves models.

`unikeras.adapters.openvino.compile(model)` builds the graph directly with `openvino.opset*`
(no ONNX detour), keeps the batch dimension dynamic, bakes weights in as constants, and
writes IR that `openvino.Core().read_model` loads back.
"""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")

import unikeras as uk  # noqa: E402
from unikeras.adapters import openvino as uov  # noqa: E402

F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def _relu(x):
    return np.maximum(x, 0)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sequential_mlp():
    model = uk.Sequential([
        uk.Input((12,), name="features"),
        uk.layers.Dense(32, activation="relu", name="hidden"),
        uk.layers.Dropout(0.5, seed=1, name="drop"),
        uk.layers.Dense(5, activation="softmax", name="probs"),
    ])
    return model


def _mlp_reference(model, x):
    k1, b1, k2, b2 = model.get_weights()
    return _softmax(_relu(x @ k1 + b1) @ k2 + b2)


def _two_branch_model():
    inputs = uk.Input((6,), name="features")
    a = uk.layers.Dense(4, activation="relu", name="branch_a")(inputs)
    b = uk.layers.Dense(3, activation="tanh", name="branch_b")(inputs)
    merged = uk.ops.concatenate([a, b], axis=-1)
    outputs = uk.layers.Dense(2, name="head")(merged)
    return uk.Model(inputs, outputs)


def _two_branch_reference(model, x):
    ka, ba, kb, bb, kh, bh = model.get_weights()
    merged = np.concatenate([_relu(x @ ka + ba), np.tanh(x @ kb + bb)], axis=-1)
    return merged @ kh + bh


def _x(n, d, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def test_sequential_mlp_with_dropout_matches_numpy():
    model = _sequential_mlp()
    compiled = uov.compile(model)
    x = _x(8, 12)
    out = compiled(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (8, 5)
    # Inference graph: Dropout is the identity, so this is the plain MLP.
    np.testing.assert_allclose(out, _mlp_reference(model, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(-1), np.ones(8), rtol=1e-5)


def test_functional_two_branches_concatenated():
    model = _two_branch_model()
    compiled = uov.compile(model)
    x = _x(5, 6)
    np.testing.assert_allclose(compiled(x), _two_branch_reference(model, x), rtol=1e-5, atol=1e-5)
    type_names = {op.get_type_name() for op in compiled.ov_model.get_ordered_ops()}
    assert {"MatMul", "Concat", "Relu", "Tanh"} <= type_names


def test_dynamic_batch_on_one_compiled_model():
    model = _sequential_mlp()
    compiled = uov.compile(model)
    shape = compiled.ov_model.get_parameters()[0].get_partial_shape()
    assert shape[0].is_dynamic and shape[1].get_length() == 12
    for n in (1, 7, 33):
        x = _x(n, 12, seed=n)
        out = compiled(x)
        assert out.shape == (n, 5)
        np.testing.assert_allclose(out, _mlp_reference(model, x), rtol=1e-5, atol=1e-6)


def test_weights_are_constants_not_parameters():
    model = _two_branch_model()
    ov_model = uov.build_ov_model(model)
    params = ov_model.get_parameters()
    assert len(params) == 1
    assert params[0].get_friendly_name() == "features"
    ops = ov_model.get_ordered_ops()
    constants = [op for op in ops if op.get_type_name() == "Constant"]
    # Every weight array is a Constant holding exactly that array (Dense kernels as
    # (out, in), the layout MatMul(transpose_b) reads without a runtime transpose).
    weights = model.get_weights()
    assert len(constants) >= len(weights)
    const_values = [op.get_data() for op in constants]
    for w in weights:
        candidates = (w, w.T) if w.ndim == 2 else (w,)
        assert any(c.shape == v.shape and np.array_equal(c, v)
                   for c in const_values for v in candidates), w.shape
    assert not any(op.get_type_name() in ("ReadValue", "Assign") for op in ops)


def test_weights_are_snapshotted_at_compile_time():
    model = _sequential_mlp()
    x = _x(4, 12)
    compiled = uov.compile(model)
    expected = compiled(x)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    np.testing.assert_allclose(compiled(x), expected, rtol=1e-6)
    np.testing.assert_allclose(uov.compile(model)(x), np.full((4, 5), 0.2), rtol=1e-6)


def test_save_then_core_read_model_reproduces_outputs(tmp_path):
    model = _two_branch_model()
    compiled = uov.compile(model)
    x = _x(7, 6)
    expected = compiled(x)
    xml = tmp_path / "model.xml"
    compiled.save(str(xml))
    assert xml.exists() and xml.with_suffix(".bin").exists()

    core = ov.Core()
    read = core.read_model(str(xml))
    assert len(read.inputs) == 1 and read.inputs[0].get_partial_shape()[0].is_dynamic
    # Ask for float32 as an OpenVINO user must wherever float32 results matter: the CPU
    # plugin's default is bf16 on CPUs that support it.
    native = core.compile_model(read, "CPU", F32)
    for n in (1, 7, 33):
        xb = _x(n, 6, seed=n)
        got = native([xb])[native.outputs[0]]
        np.testing.assert_allclose(got, _two_branch_reference(model, xb), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(native([x])[native.outputs[0]], expected, rtol=1e-6, atol=1e-6)
    # Weights stay float32 in the .bin by default (no fp16 compression).
    const_types = {op.get_element_type().get_type_name() for op in read.get_ordered_ops()
                   if op.get_type_name() == "Constant" and len(op.get_output_shape(0)) == 2}
    assert const_types == {"f32"}


def test_ov_model_is_a_native_openvino_model():
    model = _sequential_mlp()
    ov_model = uov.build_ov_model(model)
    assert isinstance(ov_model, ov.Model)
    compiled = ov.compile_model(ov_model, "CPU", F32)
    x = _x(3, 12)
    got = compiled(x)[compiled.outputs[0]]
    np.testing.assert_allclose(got, _mlp_reference(model, x), rtol=1e-5, atol=1e-6)
