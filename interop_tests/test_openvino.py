"""unikeras models served the way an OpenVINO user serves models.

`to_openvino(model)` is a native `ov.Model` built directly with `openvino.opset*` (no ONNX
detour): weights baked in as constants, every None dimension (batch, time) dynamic, IR that
`ov.save_model` writes and a process without unikeras reads back. `compile(model)` wraps
the same graph, compiled in float32. A layer with no OpenVINO form fails the build naming
the layer and the op.
"""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ov = pytest.importorskip("openvino")

import unikeras as uk  # noqa: E402
from unikeras import ops  # noqa: E402
from unikeras.adapters import openvino as uov  # noqa: E402

from catalog_model import build_catalog_model, sample_labels, sample_tokens  # noqa: E402

F32 = {"INFERENCE_PRECISION_HINT": "f32"}
# (batch, time) pairs: both dimensions of the catalog model's input vary.
SHAPES = ((2, 5), (5, 13))


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


# --- the catalog model: every layer family, batch and time dynamic ---------------------------

def _assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def catalog():
    """The catalog model on the NumPy backend with a free time axis, token batches of each
    (batch, time) in SHAPES, and the model's outputs for them."""
    model = build_catalog_model("numpy", time=None)
    inputs = {f"b{b}_t{t}": sample_tokens(b, seed=t, time=t) for b, t in SHAPES}
    return model, inputs, {k: model.predict(x, verbose=0) for k, x in inputs.items()}


def test_catalog_as_native_ov_model_with_dynamic_batch_and_time(catalog):
    model, inputs, expected = catalog
    ov_model = uov.to_openvino(model)
    assert isinstance(ov_model, ov.Model)
    (param,) = ov_model.get_parameters()
    assert param.get_friendly_name() == "tokens" and param.get_element_type() == ov.Type.i32
    shape = param.get_partial_shape()
    assert shape.rank.get_length() == 2 and shape[0].is_dynamic and shape[1].is_dynamic
    assert ov_model.outputs[0].get_names() == {"output_0"}

    native = ov.Core().compile_model(ov_model, "CPU", F32)
    ours = uov.compile(model, device="CPU")
    assert ours.inference_precision == "f32"
    for key, x in inputs.items():
        assert expected[key].shape == (x.shape[0], 3)
        _assert_close(native([x])[native.outputs[0]], expected[key])
        _assert_close(ours(x), expected[key])


# Runs in a fresh interpreter: OpenVINO alone reads and serves the IR.
_SERVE_IR = textwrap.dedent("""
    import json, sys
    import numpy as np
    import openvino as ov
    xml, inputs_path, outputs_path = sys.argv[1:]
    core = ov.Core()
    model = core.read_model(xml)
    shape = model.inputs[0].get_partial_shape()
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    inputs = np.load(inputs_path)
    np.savez(outputs_path, **{k: compiled([inputs[k]])[compiled.outputs[0]] for k in inputs.files})
    print(json.dumps({"unikeras_imported": "unikeras" in sys.modules,
                      "input_name": model.inputs[0].get_any_name(),
                      "dynamic": [shape[i].is_dynamic for i in range(shape.rank.get_length())]}))
""")


def test_catalog_ir_served_by_a_process_without_unikeras(catalog, tmp_path):
    model, inputs, expected = catalog
    xml = tmp_path / "m.xml"
    # ov.save_model compresses weights to fp16 by default (~1e-4 off): keep them float32.
    ov.save_model(uov.to_openvino(model), str(xml), compress_to_fp16=False)
    np.savez(tmp_path / "inputs.npz", **inputs)
    done = subprocess.run([sys.executable, "-c", _SERVE_IR, str(xml), str(tmp_path / "inputs.npz"),
                           str(tmp_path / "outputs.npz")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"unikeras_imported": False, "input_name": "tokens", "dynamic": [True, True]}
    served = np.load(tmp_path / "outputs.npz")
    assert sorted(served.files) == sorted(inputs)
    for key in inputs:
        _assert_close(served[key], expected[key])


class _SingularValues(uk.layers.Layer):
    """A user layer calling an op that has no OpenVINO builder."""

    def call(self, x):
        return ops.svd(x, compute_uv=False)


def test_layer_without_openvino_form_is_named_with_its_op():
    lam = uk.Sequential([uk.Input((3, 3)), uk.layers.Lambda(lambda x: ops.svd(x)[1], name="svals"),
                         uk.layers.Dense(2, name="head")])
    inputs = uk.Input((4, 4))
    nested = uk.Model(inputs, uk.layers.Dense(2)(_SingularValues(name="spectrum")(inputs)))
    blamed_layers = ((lam, r"'svals' \(Lambda\)"), (nested, r"'spectrum' \(_SingularValues\)"))
    for model, blamed in blamed_layers:
        for build in (uov.to_openvino, uov.compile):
            with pytest.raises(NotImplementedError,
                               match=rf"layer {blamed}: op 'svd' has no OpenVINO form"):
                build(model)


def test_torch_trained_catalog_served_alike_by_openvino_jax_and_tensorflow():
    from unikeras.adapters.tf_module import to_tf

    x, y = sample_tokens(32, seed=3), sample_labels(32, seed=3)
    trained = build_catalog_model("torch")
    start = trained.get_weights()
    trained.compile(optimizer=uk.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    trained.fit(x, y, batch_size=8, epochs=1, verbose=0)
    weights = trained.get_weights()
    changed = [not np.array_equal(a, b) for a, b in zip(start, weights)]
    assert all(changed), changed  # every weight moved, moving statistics included

    probe = sample_tokens(6, seed=9)
    expected = trained.predict(probe, verbose=0)
    served = {}
    for backend in ("numpy", "jax", "tensorflow"):
        twin = build_catalog_model(backend, seed=1)
        twin.set_weights(weights)
        if backend == "numpy":
            served["openvino"] = uov.compile(twin)(probe)
        elif backend == "jax":
            served["jax"] = twin.predict(probe, verbose=0)
        else:
            served["tensorflow"] = to_tf(twin)(probe).numpy()
    for name, got in served.items():
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=name)
