"""Merging layers on torch, jax and tensorflow vs NumPy (broadcasting as Keras: lower-rank
inputs gain axes after the batch axis; Dot as per-sample np.tensordot) and vs Keras 3;
masks as Keras 3 merges them; the functional forms; structure (config, shapes with None
dims) vs Keras; gradients across backends; OpenVINO graphs with several dynamic-batch
inputs vs the NumPy backend; bad input."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases

TOL = dict(rtol=1e-5, atol=1e-6)

# id: (layer class, constructor arguments, input shapes with the batch dim)
CASES = {
    "add": ("Add", {}, [(2, 3, 4), (2, 3, 4)]),
    "add_broadcast_three": ("Add", {}, [(2, 3, 4), (2, 1, 4), (2, 3, 1)]),
    "add_lower_rank": ("Add", {}, [(2, 4), (2, 3, 4)]),
    "subtract": ("Subtract", {}, [(2, 3), (2, 3)]),
    "multiply_lower_rank": ("Multiply", {}, [(2, 3, 4), (2, 4)]),
    "average": ("Average", {}, [(2, 5), (2, 5), (2, 5)]),
    "maximum_broadcast": ("Maximum", {}, [(2, 3, 4), (2, 1, 4)]),
    "minimum": ("Minimum", {}, [(2, 3), (2, 3), (2, 3)]),
    "concatenate": ("Concatenate", {}, [(2, 3, 4), (2, 3, 2)]),
    "concatenate_axis1": ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 1, 4), (2, 2, 4)]),
    "dot_vectors": ("Dot", {"axes": 1}, [(2, 5), (2, 5)]),
    "dot_matrices": ("Dot", {"axes": 2}, [(2, 3, 4), (2, 5, 4)]),
    "dot_pair_normalize": ("Dot", {"axes": [1, 1], "normalize": True}, [(2, 3, 4), (2, 3, 5)]),
    "dot_mixed_rank": ("Dot", {"axes": [1, 2]}, [(2, 4), (2, 5, 4)]),
    "dot_negative_axis": ("Dot", {"axes": -1}, [(2, 3, 4), (2, 5, 4)]),
    "dot_rank4": ("Dot", {"axes": [3, 1]}, [(2, 2, 3, 4), (2, 4, 3, 2)]),
}


def _np(x):
    return ops.convert_to_numpy(x)


def _make(case):
    cls, config, _ = CASES[case]
    return getattr(layers, cls)(**config)


@pytest.fixture(scope="module")
def inputs():
    return {case: [np.random.default_rng(10 * i + j).standard_normal(s).astype("float32")
                   for j, s in enumerate(shapes)]
            for i, (case, (_, _, shapes)) in enumerate(CASES.items())}


@pytest.fixture(scope="module")
def keras_results(inputs):
    cases = [{"layer": CASES[c][0], "config": CASES[c][1], "inputs": inputs[c]} for c in CASES]
    return dict(zip(CASES, run_layer_cases(cases)))


# --- the independent reference -----------------------------------------------------------
_ELEMENTWISE = {"Add": np.add, "Subtract": np.subtract, "Multiply": np.multiply,
                "Maximum": np.maximum, "Minimum": np.minimum}


def _unit(x, axis):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-7)


def _reference(case, xs):
    cls, config, _ = CASES[case]
    xs = [x.astype("float64") for x in xs]
    if cls == "Concatenate":
        return np.concatenate(xs, axis=config.get("axis", -1))
    if cls == "Dot":
        axes = config["axes"]
        a1, a2 = (axes, axes) if isinstance(axes, int) else axes
        a1, a2 = a1 % xs[0].ndim, a2 % xs[1].ndim
        if config.get("normalize"):
            xs = [_unit(xs[0], a1), _unit(xs[1], a2)]
        out = np.stack([np.tensordot(p, q, axes=(a1 - 1, a2 - 1)) for p, q in zip(*xs)])
        return out.reshape(-1, 1) if out.ndim == 1 else out
    top = max(x.ndim for x in xs)
    xs = [x.reshape(x.shape[:1] + (1,) * (top - x.ndim) + x.shape[1:]) for x in xs]
    if cls == "Average":
        return sum(xs) / len(xs)
    out = xs[0]
    for x in xs[1:]:
        out = _ELEMENTWISE[cls](out, x)
    return out


@pytest.mark.parametrize("case", CASES)
def test_matches_numpy_and_keras(case, backend, inputs, keras_results):
    xs = inputs[case]
    result = keras_results[case]
    assert "error" not in result, result.get("error")
    with ops.backend_scope(backend):
        out = _np(_make(case)([to_backend(x, backend) for x in xs]))
    np.testing.assert_allclose(out, _reference(case, xs), **TOL)
    np.testing.assert_allclose(out, result["outputs"], **TOL)


@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, keras_results):
    result = keras_results[case]
    cls, _, shapes = CASES[case]
    layer = _make(case)
    config = layer.get_config()
    assert set(config) == set(result["config"])
    assert getattr(layers, cls).from_config(config).get_config() == config
    assert tuple(layer.compute_output_shape(shapes)) == tuple(result["output_shape"])
    symbolic = _make(case)([uk.Input(s[1:]) for s in shapes])
    assert symbolic.shape == (None,) + tuple(result["output_shape"][1:])
    assert layer.weights == []


@pytest.mark.parametrize("layer,shapes,expected,concrete", [
    (layers.Add, [(None, 3), (4, 3)], (None, None, 3), [(4, 3), (4, 3)]),
    (layers.Multiply, [(None, 1, 3), (2, 4, 1)], (None, None, 4, 3), [(2, 1, 3), (2, 4, 1)]),
    (lambda: layers.Concatenate(axis=1), [(None, 3), (4, 3)], (None, None, 3),
     [(2, 3), (4, 3)]),
    (lambda: layers.Concatenate(axis=1), [(2, 3), (4, 3)], (None, 6, 3), [(2, 3), (4, 3)]),
    (lambda: layers.Concatenate(), [(None, 3), (5, 2)], (None, None, 5), [(5, 3), (5, 2)]),
    (lambda: layers.Dot(axes=2), [(None, 3), (None, 3)], (None, None, None), [(4, 3), (5, 3)]),
    (lambda: layers.Dot(axes=1), [(3,), (3,)], (None, 1), [(3,), (3,)]),
])
def test_symbolic_shapes_keep_none_dims(layer, shapes, expected, concrete, backend):
    """Keras's rules: a None dim meeting a known one stays None; Concatenate keeps the first
    input's non-axis sizes."""
    assert layer()([uk.Input(s) for s in shapes]).shape == expected
    with ops.backend_scope(backend):
        eager = layer()([to_backend(np.ones((2,) + s, "float32"), backend) for s in concrete])
    assert all(e is None or e == g for e, g in zip(expected[1:], tuple(eager.shape)[1:]))


def test_dtypes_follow_promotion():
    ints = [uk.Input((3,), dtype="int32"), uk.Input((3,), dtype="int32")]
    assert layers.Add()(ints).dtype == "int32"
    assert layers.Average()(ints).dtype == "float32"
    assert layers.Add()([ints[0], uk.Input((3,))]).dtype == "float32"


# --- masks ---------------------------------------------------------------------------------
def test_elementwise_masks_are_ored_as_keras(backend, rng):
    xs = [to_backend(rng.standard_normal((2, 4, 3)).astype("float32"), backend) for _ in range(3)]
    masks = [rng.random((2, 4)) > 0.5 for _ in range(3)]
    layer = layers.Add(name="sum")
    assert layer.supports_masking
    with ops.backend_scope(backend):
        merged = layer.compute_mask(xs, [to_backend(m, backend) for m in masks])
        assert layer.compute_mask(xs, [to_backend(masks[0], backend), None, None]) is None
        assert layer.compute_mask(xs, None) is None
        with pytest.raises(ValueError, match=r"Add 'sum'.*mask.*list"):
            layer.compute_mask(xs, to_backend(masks[0], backend))
        with pytest.raises(ValueError, match=r"Add 'sum'.*2 masks for 3 inputs"):
            layer.compute_mask(xs, [to_backend(m, backend) for m in masks[:2]])
    np.testing.assert_array_equal(_np(merged), masks[0] | masks[1] | masks[2])


@pytest.mark.parametrize("axis", [-1, 1])
def test_concatenate_masks_as_keras(axis, backend, rng):
    shapes = ((2, 3, 4), (2, 3, 2)) if axis == -1 else ((2, 3, 4), (2, 2, 4))
    xs = [to_backend(rng.standard_normal(s).astype("float32"), backend) for s in shapes]
    m0 = rng.random((2, 3)) > 0.5
    m1 = rng.random(shapes[1][:2]) > 0.5
    layer = layers.Concatenate(axis=axis)
    with ops.backend_scope(backend):
        both = _np(layer.compute_mask(xs, [to_backend(m0, backend), to_backend(m1, backend)]))
        first_only = _np(layer.compute_mask(xs, [to_backend(m0, backend), None]))
        assert layer.compute_mask(xs, [None, None]) is None
    if axis == -1:   # the feature axis: a step is kept where either input keeps it
        np.testing.assert_array_equal(both, m0 | m1)
        np.testing.assert_array_equal(first_only, np.ones((2, 3), bool))
    else:            # the time axis: the masks are concatenated
        np.testing.assert_array_equal(both, np.concatenate([m0, m1], axis=1))
        np.testing.assert_array_equal(first_only, np.concatenate([m0, np.ones((2, 2), bool)], 1))
    dot = layers.Dot(axes=2)
    assert dot.supports_masking and dot.compute_mask(xs, [m0, m1]) is None


# --- functional forms ----------------------------------------------------------------------
FUNCTIONAL = {"add": "add", "subtract": "subtract", "multiply_lower_rank": "multiply",
              "average": "average", "maximum_broadcast": "maximum", "minimum": "minimum",
              "concatenate_axis1": "concatenate", "dot_matrices": "dot"}


@pytest.mark.parametrize("case", FUNCTIONAL)
def test_functional_forms(case, backend, inputs):
    fn = getattr(layers, FUNCTIONAL[case])
    assert FUNCTIONAL[case] in layers.__dict__ and fn.__module__.endswith("merging")
    _, config, shapes = CASES[case]
    xs = inputs[case]
    with ops.backend_scope(backend):
        eager = fn([to_backend(x, backend) for x in xs], name=f"f_{case}", **config)
        symbolic_inputs = [uk.Input(s[1:]) for s in shapes]
        model = uk.Model(symbolic_inputs, fn(symbolic_inputs, **config))
        via_model = model([to_backend(x, backend) for x in xs])
    np.testing.assert_allclose(_np(eager), _reference(case, xs), **TOL)
    np.testing.assert_allclose(_np(via_model), _reference(case, xs), **TOL)


# --- gradients across backends -----------------------------------------------------------
def _input_grads(case, backend, xs, cotangent):
    layer = _make(case)
    if backend == "torch":
        import torch
        ts = [torch.tensor(x, requires_grad=True) for x in xs]
        (layer(ts) * torch.from_numpy(cotangent)).sum().backward()
        return [t.grad.numpy() for t in ts]
    if backend == "jax":
        import jax
        import jax.numpy as jnp
        grads = jax.grad(lambda js: jnp.sum(layer(js) * cotangent))([jnp.asarray(x) for x in xs])
        return [np.asarray(g) for g in grads]
    import tensorflow as tf
    ts = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(ts) * cotangent)
    return [g.numpy() for g in tape.gradient(loss, ts)]


@pytest.mark.parametrize("case", ["add_broadcast_three", "subtract", "multiply_lower_rank",
                                  "average", "maximum_broadcast", "concatenate_axis1",
                                  "dot_pair_normalize", "dot_rank4"])
def test_gradients_agree_across_backends(case, inputs):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two framework backends")
    xs = inputs[case]
    cotangent = np.random.default_rng(7).standard_normal(
        _reference(case, xs).shape).astype("float32")
    grads = {b: _input_grads(case, b, xs, cotangent) for b in FRAMEWORKS}
    first = grads[FRAMEWORKS[0]]
    assert [g.shape for g in first] == [x.shape for x in xs]
    assert all(np.abs(g).sum() > 0 for g in first)
    for backend in FRAMEWORKS[1:]:
        for a, b in zip(first, grads[backend]):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


# --- OpenVINO -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_openvino_graph_matches_numpy_backend(case, inputs):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    xs = inputs[case]
    with ops.backend_scope("numpy"):
        symbolic_inputs = [uk.Input(x.shape[1:]) for x in xs]
        model = uk.Model(symbolic_inputs, _make(case)(symbolic_inputs))
    compiled = uov.compile(model)
    for batch in (xs, [np.concatenate([x, -x, 0.5 * x]) for x in xs]):   # dynamic batch dim
        with ops.backend_scope("numpy"):
            expected = _np(model(batch))
        np.testing.assert_allclose(compiled(*batch), expected, **TOL)


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,pattern", [
    (lambda: layers.Add(name="m")([uk.Input((5, 3)), uk.Input((4, 3))]), ValueError,
     r"Add 'm'.*incompatible shapes.*\(None, 5, 3\), \(None, 4, 3\)"),
    (lambda: layers.Maximum(name="m")([uk.Input((4,)), uk.Input((4, 3))]), ValueError,
     r"Maximum 'm'.*incompatible shapes"),
    (lambda: layers.Add(name="m")(uk.Input((3,))), ValueError,
     r"Add 'm'.*non-empty list of inputs.*\(None, 3\)"),
    (lambda: layers.Subtract(name="m")([uk.Input((3,))] * 3), ValueError,
     r"Subtract 'm'.*exactly 2 inputs.*3"),
    (lambda: layers.Concatenate(name="m")([uk.Input((2, 3)), uk.Input((3, 3))]), ValueError,
     r"Concatenate 'm'.*\(None, 2, 3\), \(None, 3, 3\)"),
    (lambda: layers.Concatenate(name="m")([uk.Input((2, 3)), uk.Input((3,))]), ValueError,
     r"Concatenate 'm'.*same rank"),
    (lambda: layers.Concatenate(axis=3, name="m")([uk.Input((2, 3)), uk.Input((2, 3))]),
     ValueError, r"Concatenate 'm'.*axis 3"),
    (lambda: layers.Dot(axes="last", name="m"), TypeError, r"Dot 'm'.*axes.*'last'"),
    (lambda: layers.Dot(axes=(1, 2, 3), name="m"), ValueError, r"Dot 'm'.*pair of ints"),
    (lambda: layers.Dot(axes=0, name="m")([uk.Input((4,)), uk.Input((4,))]), ValueError,
     r"Dot 'm'.*batch axis"),
    (lambda: layers.Dot(axes=1, name="m")([uk.Input((4,)), uk.Input((5,))]), ValueError,
     r"Dot 'm'.*axis 1 of the first has size 4, axis 1 of the second 5"),
    (lambda: layers.Dot(axes=3, name="m")([uk.Input((4,)), uk.Input((4,))]), ValueError,
     r"Dot 'm'.*out of bounds"),
    (lambda: layers.Dot(axes=1, name="m")([uk.Input((4,))] * 3), ValueError,
     r"Dot 'm'.*exactly 2 inputs"),
])
def test_bad_arguments_and_inputs(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_eager_bad_inputs_are_rejected(backend):
    a = to_backend(np.ones((3, 4), "float32"), backend)
    b = to_backend(np.ones((2, 4), "float32"), backend)
    with ops.backend_scope(backend):
        built = layers.Add(name="s")
        built([a, a])
        for layer in (layers.Add(name="s"), built, layers.Concatenate(name="s")):
            with pytest.raises(ValueError, match=r"'s'.*list of inputs.*\(3, 4\)"):
                layer(a)   # a single tensor is not a list of inputs, built or not
        with pytest.raises(ValueError, match=r"Add 'm'.*different batch sizes.*\(3, 4\), \(2, 4\)"):
            layers.Add(name="m")([a, b])
        with pytest.raises(ValueError, match=r"Dot 'd'.*different batch sizes"):
            layers.Dot(axes=1, name="d")([a, b])
