"""The same model, the same weights: every adapter computes the same thing.

Weights come from one NumPy source through `set_weights`; predictions of the torch, flax,
tf and OpenVINO adapters and of the plain model on the NumPy reference backend must agree
within float32 tolerance. Several adapters of one model live in one process at once,
independently, and each native module's `get_weights()` round-trips into the model.
"""
import numpy as np
import pytest

import unikeras as uk
from unikeras import ops

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")
tf = pytest.importorskip("tensorflow")
pytest.importorskip("openvino")

from unikeras.adapters import openvino as uov  # noqa: E402
from unikeras.adapters.flax import to_flax  # noqa: E402
from unikeras.adapters.tf_module import to_tf  # noqa: E402
from unikeras.adapters.torch_nn import to_torch  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
IN_DIM = 6


def _sequential():
    return uk.Sequential([
        uk.Input((IN_DIM,), name="features"),
        uk.layers.Dense(16, activation="relu", name="hidden"),
        uk.layers.Dropout(0.3, seed=0, name="drop"),
        uk.layers.Dense(4, activation="softmax", name="probs"),
    ])


def _functional():
    inputs = uk.Input((IN_DIM,), name="features")
    a = uk.layers.Dense(8, activation="relu", name="branch_a")(inputs)
    b = uk.layers.Dense(5, activation="tanh", name="branch_b")(inputs)
    merged = uk.ops.concatenate([a, b], axis=-1)
    x = uk.layers.Dropout(0.5, seed=1, name="drop")(merged)
    outputs = uk.layers.Dense(3, name="head")(x)
    return uk.Model(inputs, outputs)


def _relu(x):
    return np.maximum(x, 0)


def _sequential_reference(w, x):
    e = _relu(x @ w[0] + w[1]) @ w[2] + w[3]
    e = np.exp(e - e.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _functional_reference(w, x):
    merged = np.concatenate([_relu(x @ w[0] + w[1]), np.tanh(x @ w[2] + w[3])], axis=-1)
    return merged @ w[4] + w[5]


ARCHITECTURES = {
    "sequential": (_sequential, _sequential_reference),
    "functional": (_functional, _functional_reference),
}


def _source_weights(model, seed=0):
    """One NumPy source of weights, shaped like the model's (Keras order)."""
    rng = np.random.default_rng(seed)
    return [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in model.get_weights()]


def _build(arch, backend="numpy", seed=0):
    builder, reference = ARCHITECTURES[arch]
    with ops.backend_scope(backend):
        model = builder()
    weights = _source_weights(model, seed)
    model.set_weights(weights)
    return model, weights, reference


def _inputs(n=9, seed=1):
    return np.random.default_rng(seed).normal(size=(n, IN_DIM)).astype("float32")


def _numpy_predict(model, x):
    with ops.backend_scope("numpy"):
        out = model(x)
    assert isinstance(out, np.ndarray), type(out)
    return out


def _adapter_predictions(model, x):
    t = to_torch(model).eval()
    f = to_flax(model)
    f.eval()
    return {
        "torch": t(torch.from_numpy(x)).detach().numpy(),
        "flax": np.asarray(f(jnp.asarray(x))),
        "tf": to_tf(model)(tf.constant(x)).numpy(),
        "openvino": uov.compile(model)(x),
    }


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_all_adapters_agree_with_numpy_reference(arch):
    model, weights, reference = _build(arch, "numpy")
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    x = _inputs()
    expected = reference(weights, x)
    ref = _numpy_predict(model, x)
    assert ref.dtype == np.float32
    np.testing.assert_allclose(ref, expected, **TOL)
    predictions = _adapter_predictions(model, x)
    for name, out in predictions.items():
        assert out.shape == expected.shape, name
        assert out.dtype == np.float32, name
        np.testing.assert_allclose(out, ref, **TOL, err_msg=f"{name} adapter disagrees ({arch})")


@pytest.mark.parametrize("backend", ["torch", "jax", "tensorflow"])
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_adapters_agree_whatever_backend_holds_the_weights(arch, backend):
    """A model whose variables live in one framework materializes identically in all."""
    model, weights, reference = _build(arch, backend)
    x = _inputs(seed=2)
    expected = reference(weights, x)
    with ops.backend_scope(backend):
        standalone = ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(standalone, expected, **TOL)
    for name, out in _adapter_predictions(model, x).items():
        np.testing.assert_allclose(
            out, expected, **TOL, err_msg=f"{name} adapter disagrees ({arch}, weights in {backend})")


def _train_torch(module, x, steps=5):
    module.train()
    opt = torch.optim.Adam(module.parameters(), lr=0.05)
    xt = torch.from_numpy(x)
    for _ in range(steps):
        opt.zero_grad()
        module(xt).pow(2).mean().backward()
        opt.step()
    module.eval()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_two_adapters_live_at_once_independently(arch, backend):
    model, weights, reference = _build(arch, backend)
    x = _inputs(seed=3)
    expected = reference(weights, x)
    t = to_torch(model)
    f = to_flax(model)
    f.eval()
    tfm = to_tf(model)
    compiled = uov.compile(model)
    t.eval()
    np.testing.assert_allclose(t(torch.from_numpy(x)).detach().numpy(), expected, **TOL)

    _train_torch(t, x)
    trained = t(torch.from_numpy(x)).detach().numpy()
    assert not np.allclose(trained, expected, atol=1e-4), "torch training changed nothing"
    if backend == "torch":
        # to_torch shares weights that already live in torch: the model sees the training.
        for a, b in zip(model.get_weights(), t.get_weights()):
            np.testing.assert_array_equal(a, b)
    else:
        # Weights held elsewhere are copied in: the model keeps its own.
        for a, b in zip(model.get_weights(), weights):
            np.testing.assert_array_equal(a, b)

    # The other adapters hold their own copies: untouched by torch's optimizer.
    np.testing.assert_allclose(np.asarray(f(jnp.asarray(x))), expected, **TOL)
    np.testing.assert_allclose(tfm(tf.constant(x)).numpy(), expected, **TOL)
    np.testing.assert_allclose(compiled(x), expected, **TOL)
    for got, want in zip(f.get_weights(), weights):
        np.testing.assert_array_equal(got, want)

    # And a fresh adapter of the torch-trained weights agrees with the torch module.
    trained_weights = t.get_weights()
    fresh, _, _ = _build(arch, "numpy", seed=7)
    fresh.set_weights(trained_weights)
    g = to_flax(fresh)
    g.eval()
    np.testing.assert_allclose(np.asarray(g(jnp.asarray(x))), trained, **TOL)


def _perturb_natively(name, module, x):
    """Change the module's weights the way that framework's user would."""
    if name == "torch":
        _train_torch(module, x, steps=3)
    elif name == "flax":
        params = nnx.state(module, nnx.Param)
        nnx.update(module, jax.tree.map(lambda p: p * 1.5 + 0.01, params))
    else:
        for v in module.trainable_variables:
            v.assign_sub(0.1 * tf.ones_like(v))


def _native_predict(name, module, x):
    if name == "torch":
        module.eval()
        return module(torch.from_numpy(x)).detach().numpy()
    if name == "flax":
        module.eval()
        return np.asarray(module(jnp.asarray(x)))
    return module(tf.constant(x)).numpy()


@pytest.mark.parametrize("adapter", ["torch", "flax", "tf"])
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_native_get_weights_round_trip_into_model(arch, adapter):
    model, weights, _ = _build(arch, "numpy")
    convert = {"torch": to_torch, "flax": to_flax, "tf": to_tf}[adapter]
    module = convert(model)
    x = _inputs(seed=4)

    got = module.get_weights()
    assert [w.shape for w in got] == [w.shape for w in weights]
    for a, b in zip(got, weights):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)

    _perturb_natively(adapter, module, x)
    native = _native_predict(adapter, module, x)
    changed = module.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(changed, weights))

    target, _, _ = _build(arch, "numpy", seed=5)
    target.set_weights(changed)
    for a, b in zip(target.get_weights(), changed):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(_numpy_predict(target, x), native, **TOL)
    # ... and back out through a different adapter.
    np.testing.assert_allclose(uov.compile(target)(x), native, **TOL)
