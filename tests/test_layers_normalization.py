"""Normalization layers on torch, jax and tensorflow vs NumPy formulas (float64), vs torch.nn's
own layers (BatchNorm1d/2d, LayerNorm, GroupNorm, RMSNorm) given the same weights, and vs
Keras 3 given the same weights (training cases on Keras's jax backend); moving statistics
held natively and updated: torch buffers in train() only, nnx.BatchStat inside nnx.jit,
tf.Variable inside tf.function, and in model.fit on every backend; structure vs Keras;
gradients across backends; OpenVINO graphs vs the NumPy backend; bad input."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-5, atol=1e-5)

# id: (class, constructor arguments, input shape with the batch dim, training, mask shape)
CASES = {
    "bn": ("BatchNormalization", {"epsilon": 1e-2}, (4, 3, 5), False, None),
    "bn_axis1_no_center": ("BatchNormalization", {"axis": 1, "center": False}, (4, 3, 2, 2),
                           False, None),
    "bn_train": ("BatchNormalization", {"momentum": 0.8}, (6, 5), True, None),
    "bn_train_axis2_no_affine": ("BatchNormalization", {"axis": 2, "center": False,
                                                        "scale": False}, (4, 3, 5, 2), True, None),
    "bn_train_mask": ("BatchNormalization", {"momentum": 0.5}, (4, 3, 5), True, (4, 3)),
    "bn_renorm_train": ("BatchNormalization", {
        "renorm": True, "momentum": 0.7, "renorm_momentum": 0.6,
        "renorm_clipping": {"rmax": 1.3, "rmin": 0.8, "dmax": 0.2}}, (8, 3), True, None),
    "ln": ("LayerNormalization", {}, (4, 3, 5), False, None),
    "ln_axes": ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5}, (4, 3, 5), False, None),
    "ln_axis1_no_center": ("LayerNormalization", {"axis": 1, "center": False}, (4, 3, 5),
                           False, None),
    "ln_rms_scaling": ("LayerNormalization", {"rms_scaling": True, "epsilon": 0.1}, (4, 6),
                       False, None),
    "gn": ("GroupNormalization", {"groups": 2}, (4, 3, 6), False, None),
    "gn_instance": ("GroupNormalization", {"groups": -1, "epsilon": 1e-5}, (2, 3, 3, 4),
                    False, None),
    "gn_axis1_no_scale": ("GroupNormalization", {"groups": 3, "axis": 1, "scale": False},
                          (2, 6, 4), False, None),
    "rms": ("RMSNormalization", {}, (4, 3, 5), False, None),
    "rms_axes": ("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, (4, 3, 5), False, None),
    "unit": ("UnitNormalization", {}, (4, 5), False, None),
    "unit_axes": ("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4), False, None),
}


def _np(x):
    return ops.convert_to_numpy(x)


def _make(case, backend, weights=None):
    """The layer of `case`, built on `backend` (with `weights` if given)."""
    cls, config, shape, _, _ = CASES[case]
    with ops.backend_scope(backend):
        layer = getattr(layers, cls)(**config)
        layer.build(shape)
    if weights is not None:
        layer.set_weights(weights)
    return layer


def _call(layer, case, backend, x, mask):
    training, mask_shape = CASES[case][3], CASES[case][4]
    kwargs = {"training": True} if training else {}
    if mask_shape is not None:
        kwargs["mask"] = to_backend(mask, backend)
    with ops.backend_scope(backend):
        return layer(to_backend(x, backend), **kwargs)


@pytest.fixture(scope="module")
def prepared():
    """Per case: inputs, mask and weights (positive, so variances are valid), fixed seeds."""
    out = {}
    for i, (case, (_, _, shape, _, mask_shape)) in enumerate(CASES.items()):
        rng = np.random.default_rng(i)
        x = (2 * rng.standard_normal(shape) + 1).astype("float32")
        mask = None if mask_shape is None else rng.random(mask_shape) > 0.4
        weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32")
                   for w in _make(case, "numpy").get_weights()]
        out[case] = (x, mask, weights)
    return out


SN_CASES = {   # id: (wrapped layer, input shape, the wrapped layer's Keras config)
    "dense": (lambda: layers.Dense(3), (4, 5),
              {"module": "keras.layers", "class_name": "Dense", "config": {"units": 3}}),
    "conv2d": (lambda: layers.Conv2D(2, 3), (2, 5, 5, 3),
               {"module": "keras.layers", "class_name": "Conv2D",
                "config": {"filters": 2, "kernel_size": 3}}),
}


def _sn(case, backend, weights=None):
    make, shape, _ = SN_CASES[case]
    with ops.backend_scope(backend):
        layer = layers.SpectralNormalization(make(), power_iterations=2)
        layer.build(shape)
    if weights is not None:
        layer.set_weights(weights)
    return layer


@pytest.fixture(scope="module")
def sn_prepared():
    out = {}
    for i, case in enumerate(SN_CASES):
        rng = np.random.default_rng(10 + i)
        x = rng.standard_normal(SN_CASES[case][1]).astype("float32")
        out[case] = (x, [rng.standard_normal(w.shape).astype("float32")
                         for w in _sn(case, "numpy").get_weights()])
    return out


@pytest.fixture(scope="module")
def keras_results(prepared, sn_prepared):
    """Keras 3 (jax backend) on every case, the SpectralNormalization ones included, in one
    subprocess."""
    cases = []
    for case, (cls, config, _, training, _) in CASES.items():
        x, mask, weights = prepared[case]
        cases.append({"layer": cls, "config": config, "inputs": x, "mask": mask,
                      "call_kwargs": {"training": True} if training else {}, "weights": weights})
    for case, (_, _, keras_layer) in SN_CASES.items():
        x, weights = sn_prepared[case]
        for training in (True, False):
            cases.append({"layer": "SpectralNormalization", "inputs": x, "weights": weights,
                          "config": {"layer": keras_layer, "power_iterations": 2},
                          "call_kwargs": {"training": training}})
    names = list(CASES) + [f"sn_{c}_{mode}" for c in SN_CASES for mode in ("train", "infer")]
    return dict(zip(names, run_layer_cases(cases, backend="jax")))


# --- the independent reference: NumPy formulas in float64 --------------------------------
def _along(v, axes, rank, shape):
    target = [1] * rank
    for a in axes:
        target[a] = shape[a]
    return np.reshape(v, target)


def _bn_reference(config, x, mask, weights, training):
    rank = x.ndim
    axis = config.get("axis", -1) % rank
    eps, momentum = config.get("epsilon", 1e-3), config.get("momentum", 0.99)
    names = (["gamma"] if config.get("scale", True) else []) + (
        ["beta"] if config.get("center", True) else []) + ["moving_mean", "moving_variance"]
    if config.get("renorm"):
        names += ["moving_stddev", "renorm_mean", "renorm_stddev"]
    w = dict(zip(names, [v.astype("float64") for v in weights]))
    gamma = w.get("gamma", np.ones(x.shape[axis]))
    beta = w.get("beta", np.zeros(x.shape[axis]))
    b = lambda v: _along(v, (axis,), rank, x.shape)  # noqa: E731
    if not training:
        return b(gamma) * (x - b(w["moving_mean"])) / np.sqrt(b(w["moving_variance"]) + eps) \
            + b(beta), weights
    rows = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    if mask is not None:
        rows = np.moveaxis(x, axis, -1)[mask]
    mean, var = rows.mean(0), rows.var(0)
    new = dict(w, moving_mean=momentum * w["moving_mean"] + (1 - momentum) * mean,
               moving_variance=momentum * w["moving_variance"] + (1 - momentum) * var)
    correction_scale, correction_shift = 1.0, 0.0
    if config.get("renorm"):
        clip, rmom = config["renorm_clipping"], config["renorm_momentum"]
        std = np.sqrt(var + eps)
        r = np.clip(std / w["renorm_stddev"], clip["rmin"], clip["rmax"])
        d = np.clip((mean - w["renorm_mean"]) / w["renorm_stddev"], -clip["dmax"], clip["dmax"])
        correction_scale, correction_shift = b(r), b(d)
        stddev = momentum * w["moving_stddev"] + (1 - momentum) * std
        new.update(moving_stddev=stddev, moving_variance=stddev ** 2 - eps,
                   renorm_mean=rmom * w["renorm_mean"] + (1 - rmom) * mean,
                   renorm_stddev=rmom * w["renorm_stddev"] + (1 - rmom) * std)
    normalized = (x - b(mean)) / np.sqrt(b(var) + eps) * correction_scale + correction_shift
    return b(gamma) * normalized + b(beta), [new[n] for n in names]


def _reference(case, x, mask, weights):
    """(outputs, weights after the call) of `case` in float64."""
    cls, config, shape, training, _ = CASES[case]
    x = x.astype("float64")
    rank = x.ndim
    if cls == "BatchNormalization":
        return _bn_reference(config, x, mask, weights, training)
    axis = config.get("axis", -1)
    axes = tuple(sorted(a % rank for a in (axis if isinstance(axis, list) else [axis])))
    eps = config.get("epsilon", 1e-6 if cls == "RMSNormalization" else 1e-3)
    params = [_along(w.astype("float64"), axes, rank, shape) for w in weights]
    if cls == "LayerNormalization":
        if config.get("rms_scaling"):
            out = x / np.sqrt(x.var(axis=axes, keepdims=True) + eps) * params[0]
        else:
            out = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
            out = out * params[0] if config.get("scale", True) else out
            out = out + params[-1] if config.get("center", True) else out
    elif cls == "GroupNormalization":
        (a,) = axes
        groups = config["groups"] if config["groups"] != -1 else shape[a]
        moved = np.moveaxis(x, a, -1)
        split = moved.reshape(moved.shape[:-1] + (groups, -1))
        reduce = tuple(range(1, split.ndim - 2)) + (split.ndim - 1,)
        norm = (split - split.mean(reduce, keepdims=True)) / np.sqrt(
            split.var(reduce, keepdims=True) + eps)
        out = np.moveaxis(norm.reshape(moved.shape), -1, a)
        out = out * params[0] if config.get("scale", True) else out
        out = out + params[-1] if config.get("center", True) else out
    elif cls == "RMSNormalization":
        out = x / np.sqrt(np.mean(x ** 2, axis=axes, keepdims=True) + eps) * params[0]
    else:
        out = x / np.sqrt(np.sum(x ** 2, axis=axes, keepdims=True))
    return out, weights


@pytest.mark.parametrize("case", CASES)
def test_matches_numpy_formula_and_keras(case, backend, prepared, keras_results):
    """Outputs and the weights after the call (moving statistics) against the float64 NumPy
    formula and against Keras 3 given the same weights."""
    x, mask, weights = prepared[case]
    result = keras_results[case]
    assert "error" not in result, result.get("error")
    layer = _make(case, backend, weights)
    out = _np(_call(layer, case, backend, x, mask))
    expected, expected_weights = _reference(case, x, mask, weights)
    np.testing.assert_allclose(out, expected, **TOL)
    np.testing.assert_allclose(out, result["outputs"], **TOL)
    assert len(layer.get_weights()) == len(expected_weights) == len(result["weights"])
    for got, want, keras_w in zip(layer.get_weights(), expected_weights, result["weights"]):
        np.testing.assert_allclose(got, want, **TOL)
        np.testing.assert_allclose(got, keras_w, **TOL)


@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, keras_results):
    result = keras_results[case]
    layer = _make(case, "numpy")
    cls, _, shape, _, _ = CASES[case]
    assert [w.path.split("/")[-1] for w in layer.weights] == [
        n.split("/")[-1] for n in result["weight_names"]]
    assert [list(w.shape) for w in layer.weights] == result["weight_shapes"]
    assert [w.trainable for w in layer.weights] == [
        n.split("/")[-1] in ("gamma", "beta", "scale") for n in result["weight_names"]]
    config = layer.get_config()
    assert set(config) == set(result["config"])
    clone = getattr(layers, cls).from_config(config)
    assert clone.get_config() == config
    assert tuple(layer.compute_output_shape(shape)) == tuple(result["output_shape"])
    symbolic = getattr(layers, cls).from_config(config)(uk.Input(shape[1:]))
    assert symbolic.shape == (None,) + shape[1:]


# --- torch.nn's own layers given the same weights ------------------------------------------
def _torch_module(layer):
    from unikeras.adapters.torch_nn import to_torch
    return to_torch(layer)


# id: (BatchNormalization axis, input shape, torch layer, permutation to torch's NC... layout)
TORCH_BN = {
    "1d": (-1, (8, 4), torch.nn.BatchNorm1d, (0, 1)),
    "2d_channels_first": (1, (4, 3, 5, 5), torch.nn.BatchNorm2d, (0, 1, 2, 3)),
    "2d_channels_last": (-1, (4, 5, 5, 3), torch.nn.BatchNorm2d, (0, 3, 1, 2)),
}


@pytest.mark.parametrize("variant", TORCH_BN)
def test_batchnorm_in_torch_train_and_eval_matches_nn_batchnorm(variant):
    """torch's momentum is 1 - Keras's; its running_var uses the unbiased batch variance
    (n / (n - 1)), Keras's moving_variance the biased one: compared with that in mind."""
    axis, shape, native_cls, perm = TORCH_BN[variant]
    rng = np.random.default_rng(1)
    channels = shape[axis]
    with ops.backend_scope("torch"):
        layer = layers.BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-5)
        layer.build(shape)
    weights = [rng.uniform(0.5, 1.5, channels).astype("float32") for _ in range(4)]
    layer.set_weights(weights)
    module = _torch_module(layer)
    native = native_cls(channels, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        for p, w in zip((native.weight, native.bias, native.running_mean, native.running_var),
                        weights):
            p.copy_(torch.from_numpy(w))
    to_native = lambda t: t.permute(*perm)  # noqa: E731
    assert {"moving_mean", "moving_variance"} <= dict(module.named_buffers()).keys()
    module.train()
    native.train()
    for step in range(2):
        x = torch.from_numpy((3 * rng.standard_normal(shape) + 2).astype("float32"))
        with torch.no_grad():
            native.running_var.copy_(module.moving_variance)   # compare one update at a time
        out = module(x)
        expected = native(to_native(x))
        np.testing.assert_allclose(to_native(out).detach().numpy(), expected.detach().numpy(),
                                   **TOL)
        n = x.numel() // channels
        batch_var = np.moveaxis(x.numpy().astype("float64"), axis, -1).reshape(-1, channels).var(0)
        np.testing.assert_allclose(module.moving_mean.numpy(), native.running_mean.numpy(), **TOL)
        np.testing.assert_allclose(module.moving_variance.numpy(),
                                   native.running_var.numpy() - 0.1 * batch_var / (n - 1), **TOL)
    module.eval()
    native.eval()
    before = [b.clone() for b in module.buffers()]
    x = torch.from_numpy(rng.standard_normal(shape).astype("float32"))
    with torch.no_grad():
        native.running_var.copy_(module.moving_variance)
    np.testing.assert_allclose(to_native(module(x)).detach().numpy(),
                               native(to_native(x)).detach().numpy(), **TOL)
    for a, b in zip(before, module.buffers()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("which", ["layer_norm", "layer_norm_2_axes", "group_norm_cf",
                                   "group_norm_cl", "rms_norm"])
def test_matches_torch_native_layers(which):
    rng = np.random.default_rng(2)
    perm = None
    if which == "layer_norm":
        shape, ours = (4, 3, 6), layers.LayerNormalization(epsilon=1e-5)
        native = torch.nn.LayerNorm(6, eps=1e-5)
    elif which == "layer_norm_2_axes":
        shape, ours = (4, 3, 6), layers.LayerNormalization(axis=[1, 2], epsilon=1e-5)
        native = torch.nn.LayerNorm((3, 6), eps=1e-5)
    elif which == "group_norm_cf":
        shape, ours = (2, 6, 4, 3), layers.GroupNormalization(groups=3, axis=1, epsilon=1e-5)
        native = torch.nn.GroupNorm(3, 6, eps=1e-5)
    elif which == "group_norm_cl":
        shape, ours = (2, 4, 3, 6), layers.GroupNormalization(groups=2, epsilon=1e-5)
        native, perm = torch.nn.GroupNorm(2, 6, eps=1e-5), (0, 3, 1, 2)
    else:
        shape, ours = (4, 3, 6), layers.RMSNormalization(epsilon=1e-6)
        native = torch.nn.RMSNorm(6, eps=1e-6)
    with ops.backend_scope("torch"):
        ours.build(shape)
    weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    params = [native.weight] + ([native.bias] if getattr(native, "bias", None) is not None else [])
    with torch.no_grad():
        for p, w in zip(params, weights):
            p.copy_(torch.from_numpy(w))
    x = torch.from_numpy((2 * rng.standard_normal(shape) + 1).astype("float32"))
    expected = native(x.permute(*perm) if perm else x)
    out = _torch_module(ours)(x)
    out = out.permute(*perm) if perm else out
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL)


# --- moving statistics inside compiled steps -------------------------------------------------
def _moments(batches, momentum=0.5, start=(0.0, 1.0)):
    """Expected moving (mean, variance) after one update per batch."""
    mean, var = np.full(batches[0].shape[-1], start[0]), np.full(batches[0].shape[-1], start[1])
    for b in batches:
        b = b.astype("float64")
        mean = momentum * mean + (1 - momentum) * b.mean(0)
        var = momentum * var + (1 - momentum) * b.var(0)
    return mean, var


def _bn_model(backend):
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((3,)), layers.BatchNormalization(momentum=0.5, name="bn"),
                              layers.Dense(1, name="head")])


def _data(n=12):
    rng = np.random.default_rng(3)
    x = (2 * rng.standard_normal((n, 3)) + 4).astype("float32")
    return x, (x.sum(1, keepdims=True) / 10).astype("float32")


def test_batchnorm_updates_batch_stats_inside_nnx_jit_steps():
    jax = pytest.importorskip("jax")
    nnx = pytest.importorskip("flax.nnx")
    optax = pytest.importorskip("optax")
    from unikeras.adapters.flax import to_flax
    model = to_flax(_bn_model("jax"))
    optimizer = nnx.Optimizer(model, optax.sgd(0.01), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
        optimizer.update(model, grads)
        return loss

    @nnx.jit
    def predict(model, x):
        return model(x)

    x, y = _data()
    model.train()
    for i in range(0, 12, 4):
        train_step(model, optimizer, jax.numpy.asarray(x[i:i + 4]), jax.numpy.asarray(y[i:i + 4]))
    stats = nnx.state(model, nnx.BatchStat)
    mean, var = _moments([x[i:i + 4] for i in range(0, 12, 4)])
    np.testing.assert_allclose(np.asarray(stats["bn"]["moving_mean"].get_value()), mean, **TOL)
    np.testing.assert_allclose(np.asarray(stats["bn"]["moving_variance"].get_value()), var, **TOL)
    model.eval()
    assert model.deterministic
    out = predict(model, jax.numpy.asarray(x))
    after = nnx.state(model, nnx.BatchStat)
    np.testing.assert_allclose(np.asarray(after["bn"]["moving_mean"].get_value()), mean, **TOL)
    gamma, beta, _, _, kernel, bias = model.get_weights()
    expected = ((x - mean) / np.sqrt(var + 1e-3) * gamma + beta) @ kernel + bias
    np.testing.assert_allclose(np.asarray(out), expected, **TOL)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_batchnorm_updates_tf_variables_inside_tf_function(jit_compile):
    tf = pytest.importorskip("tensorflow")
    from unikeras.adapters.tf_module import to_tf
    module = to_tf(_bn_model("tensorflow"))
    step = tf.function(lambda x, training: module(x, training=training), jit_compile=jit_compile)
    x, _ = _data(8)
    step(tf.constant(x[:4]), True)
    step(tf.constant(x[4:]), True)
    mean, var = _moments([x[:4], x[4:]])
    stats = {v.name.split(":")[0].split("/")[-1]: v for v in module.variables if not v.trainable}
    np.testing.assert_allclose(stats["moving_mean"].numpy(), mean, **TOL)
    np.testing.assert_allclose(stats["moving_variance"].numpy(), var, **TOL)
    step(tf.constant(x), False)
    np.testing.assert_allclose(stats["moving_mean"].numpy(), mean, **TOL)


@pytest.mark.parametrize("fit_backend", FRAMEWORKS)
def test_batchnorm_moving_statistics_update_in_fit(fit_backend):
    model = _bn_model(fit_backend)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    mean, var = _moments([x[i:i + 4] for i in range(0, 12, 4)])
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, **TOL)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var, **TOL)
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]


def test_frozen_batchnorm_uses_moving_statistics_in_training(backend):
    x, _ = _data(6)
    with ops.backend_scope(backend):
        bn = layers.BatchNormalization()
        bn.build(x.shape)
        bn.trainable = False
        out = bn(to_backend(x, backend), training=True)
    np.testing.assert_allclose(_np(out), x / np.sqrt(1 + 1e-3), **TOL)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))


# --- SpectralNormalization -----------------------------------------------------------------
def _sn_reference(kernel, u, iterations):
    w = kernel.astype("float64").reshape(-1, kernel.shape[-1])
    u = u.astype("float64")
    for _ in range(iterations):
        v = u @ w.T
        v /= np.linalg.norm(v)
        u = v @ w
        u /= np.linalg.norm(u)
    return u, kernel / (v @ w @ u.T).item()


@pytest.mark.parametrize("case", SN_CASES)
def test_spectral_normalization_vs_numpy_and_keras(case, backend, sn_prepared, keras_results):
    x, weights = sn_prepared[case]
    kernel, u, bias = weights
    train, infer = keras_results[f"sn_{case}_train"], keras_results[f"sn_{case}_infer"]
    assert "error" not in train and "error" not in infer, (train.get("error"), infer.get("error"))
    layer = _sn(case, backend, weights)
    with ops.backend_scope(backend):
        raw = _np(layer(to_backend(x, backend), training=False))
        trained = _np(layer(to_backend(x, backend), training=True))
        after = _np(layer(to_backend(x, backend), training=False))
    new_u, new_kernel = _sn_reference(kernel, u, 2)
    got_kernel, got_u, got_bias = layer.get_weights()
    np.testing.assert_allclose(got_u, new_u, **TOL)
    np.testing.assert_allclose(got_kernel, new_kernel, **TOL)
    np.testing.assert_array_equal(got_bias, bias)
    np.testing.assert_allclose(after, trained, **TOL)   # inference uses the assigned kernel
    np.testing.assert_allclose(raw, infer["outputs"], **TOL)
    np.testing.assert_allclose(trained, train["outputs"], **TOL)
    for got, want in zip(layer.get_weights(), train["weights"]):
        np.testing.assert_allclose(got, want, **TOL)
    assert [w.path.split("/")[-1] for w in layer.weights] == [
        n.split("/")[-1] for n in train["weight_names"]]
    assert [list(w.shape) for w in layer.weights] == train["weight_shapes"]
    assert set(layer.get_config()) == set(train["config"])
    assert tuple(layer.compute_output_shape(x.shape)) == tuple(train["output_shape"])


def test_spectral_normalization_converges_to_unit_spectral_norm(rng):
    with ops.backend_scope("numpy"):
        layer = layers.SpectralNormalization(layers.Dense(4), power_iterations=50)
        layer.build((None, 6))
    layer.set_weights([rng.standard_normal((6, 4)).astype("float32"),
                       rng.standard_normal((1, 4)).astype("float32"), np.zeros(4, "float32")])
    with ops.backend_scope("numpy"):
        layer(np.ones((1, 6), "float32"), training=True)
    np.testing.assert_allclose(np.linalg.svd(layer.get_weights()[0], compute_uv=False)[0], 1.0,
                               rtol=1e-5)
    clone = layers.SpectralNormalization.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and isinstance(clone.layer, layers.Dense)


def test_spectral_normalization_in_torch_train_and_eval(sn_prepared):
    x, weights = sn_prepared["dense"]
    layer = _sn("dense", "numpy", weights)
    module = _torch_module(layer)
    inner = layer.layer.name
    assert {"vector_u"} == set(dict(module.named_buffers())) and {
        f"{inner}.kernel", f"{inner}.bias"} == set(dict(module.named_parameters()))
    module.train()
    out = module(torch.from_numpy(x))
    new_u, new_kernel = _sn_reference(weights[0], weights[1], 2)
    np.testing.assert_allclose(module.vector_u.numpy(), new_u, **TOL)
    np.testing.assert_allclose(out.detach().numpy(), x @ new_kernel + weights[2], **TOL)
    out.sum().backward()   # the gradient reaches the raw kernel through kernel / sigma
    kernel = dict(module.named_parameters())[f"{inner}.kernel"]
    assert kernel.grad is not None and float(kernel.grad.abs().sum()) > 0
    module.eval()
    u_before = module.vector_u.clone()
    module(torch.from_numpy(x))
    torch.testing.assert_close(module.vector_u, u_before, rtol=0, atol=0)


# --- gradients across backends -----------------------------------------------------------
def _grads(case, backend, x, mask, weights, cotangent):
    layer = _make(case, backend, weights)
    n_train = len(layer.trainable_variables)
    train_w, stats = weights[:n_train], weights[n_train:]
    training, has_mask = CASES[case][3], CASES[case][4] is not None
    kwargs = {"training": True} if training else {}
    if backend == "torch":
        values = [torch.tensor(w, requires_grad=True) for w in train_w]
        xt = torch.tensor(x, requires_grad=True)
        if has_mask:
            kwargs["mask"] = torch.from_numpy(mask)
        out, _ = layer.stateless_call(values, [torch.from_numpy(s) for s in stats], xt, **kwargs)
        (out * torch.from_numpy(cotangent)).sum().backward()
        return [v.grad.numpy() for v in values] + [xt.grad.numpy()]
    if backend == "jax":
        import jax
        import jax.numpy as jnp
        if has_mask:
            kwargs["mask"] = jnp.asarray(mask)

        def loss(values, xj):
            out, _ = layer.stateless_call(values, [jnp.asarray(s) for s in stats], xj, **kwargs)
            return jnp.sum(out * cotangent)
        gw, gx = jax.grad(loss, argnums=(0, 1))([jnp.asarray(w) for w in train_w], jnp.asarray(x))
        return [np.asarray(g) for g in gw] + [np.asarray(gx)]
    import tensorflow as tf
    values = [tf.Variable(w) for w in train_w]
    xt = tf.Variable(x)
    if has_mask:
        kwargs["mask"] = tf.constant(mask)
    with tf.GradientTape() as tape:
        out, _ = layer.stateless_call(values, [tf.constant(s) for s in stats], xt, **kwargs)
        loss = tf.reduce_sum(out * cotangent)
    return [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, values + [xt])]


@pytest.mark.parametrize("case", ["bn", "bn_train_mask", "bn_renorm_train", "ln_axes",
                                  "ln_rms_scaling", "gn", "gn_axis1_no_scale", "rms_axes",
                                  "unit_axes"])
def test_gradients_agree_across_backends(case, prepared):
    if len(FRAMEWORKS) < 2:
        pytest.skip("needs two framework backends")
    x, mask, weights = prepared[case]
    cotangent = np.random.default_rng(7).standard_normal(x.shape).astype("float32")
    grads = {b: _grads(case, b, x, mask, weights, cotangent) for b in FRAMEWORKS}
    first = grads[FRAMEWORKS[0]]
    assert all(np.abs(g).sum() > 0 for g in first)
    for backend in FRAMEWORKS[1:]:
        assert len(grads[backend]) == len(first)
        for a, b in zip(first, grads[backend]):
            np.testing.assert_allclose(b, a, **TOL)


# --- OpenVINO -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES) + ["spectral_dense"])
def test_openvino_graph_matches_numpy_backend(case, prepared, sn_prepared):
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    with ops.backend_scope("numpy"):
        if case == "spectral_dense":
            (x, weights), layer = sn_prepared["dense"], _sn("dense", "numpy")
        else:
            (x, _, weights), layer = prepared[case], _make(case, "numpy")
        model = uk.Sequential([uk.Input(x.shape[1:]), layer])
    model.set_weights(weights)
    compiled = uov.compile(model)
    for batch in (x, np.concatenate([x, -x, 0.5 * x])):   # the batch dim is dynamic
        with ops.backend_scope("numpy"):
            expected = _np(model(batch))
        np.testing.assert_allclose(compiled(batch), expected, **TOL)


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,pattern", [
    (lambda: layers.BatchNormalization(axis=3, name="n")(uk.Input((3, 5))), ValueError,
     r"BatchNormalization 'n'.*axis 3.*\(None, 3, 5\)"),
    (lambda: layers.BatchNormalization(name="n")(uk.Input((3, None))), ValueError,
     r"BatchNormalization 'n'.*known sizes.*\(None, 3, None\)"),
    (lambda: layers.BatchNormalization(axis=[1, 2], name="n"), TypeError,
     r"BatchNormalization 'n'.*axis must be an int"),
    (lambda: layers.BatchNormalization(renorm=True, renorm_clipping={"rmaxx": 2}, name="n"),
     ValueError, r"BatchNormalization 'n'.*renorm_clipping.*\['rmaxx'\]"),
    (lambda: layers.LayerNormalization(axis=[1, 4], name="n")(uk.Input((3, 5))), ValueError,
     r"LayerNormalization 'n'.*axis \[1, 4\].*\(None, 3, 5\)"),
    (lambda: layers.GroupNormalization(groups=4, name="n")(uk.Input((3, 6))), ValueError,
     r"GroupNormalization 'n'.*6 channels.*\(None, 3, 6\).*4 equal groups"),
    (lambda: layers.GroupNormalization(groups=8, name="n")(uk.Input((3, 6))), ValueError,
     r"GroupNormalization 'n'.*8 equal groups"),
    (lambda: layers.GroupNormalization(groups=0, name="n"), ValueError,
     r"GroupNormalization 'n'.*groups.*0"),
    (lambda: layers.RMSNormalization(axis=[1, 2], name="n")(uk.Input((None, 5))), ValueError,
     r"RMSNormalization 'n'.*known sizes"),
    (lambda: layers.UnitNormalization(axis=2, name="n")(uk.Input((5,))), ValueError,
     r"UnitNormalization 'n'.*axis 2.*\(None, 5\)"),
    (lambda: layers.SpectralNormalization(3, name="n"), ValueError,
     r"SpectralNormalization 'n'.*Layer.*3"),
    (lambda: layers.SpectralNormalization(layers.Dense(2), power_iterations=0, name="n"),
     ValueError, r"SpectralNormalization 'n'.*power_iterations.*0"),
    (lambda: layers.SpectralNormalization(layers.Activation("relu", name="act"),
                                          name="n")(uk.Input((3,))),
     ValueError, r"SpectralNormalization 'n'.*Activation 'act'.*kernel"),
])
def test_bad_arguments_and_inputs(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_wrong_channel_count_and_mask_shape(backend):
    layer = layers.BatchNormalization(name="bn")
    with ops.backend_scope(backend):
        x = to_backend(np.ones((4, 3, 5), "float32"), backend)
        layer(x)
        with pytest.raises(ValueError, match=r"BatchNormalization 'bn'.*mask of shape \(4, 2\).*"
                                             r"\(4, 3, 5\)"):
            layer(x, training=True, mask=to_backend(np.ones((4, 2), bool), backend))
        with pytest.raises(ValueError, match=r"BatchNormalization 'bn'.*axis 2 of size 5.*"
                                             r"\(4, 3, 4\)"):
            layer(to_backend(np.ones((4, 3, 4), "float32"), backend), training=True)
        for other in (layers.LayerNormalization(name="o"), layers.RMSNormalization(name="o"),
                      layers.GroupNormalization(groups=5, name="o")):
            other(x)
            with pytest.raises(ValueError, match=r"Normalization 'o'.*rank 3.*\(4, 6\)"):
                other(to_backend(np.ones((4, 6), "float32"), backend))
            with pytest.raises(ValueError, match=r"Normalization 'o'.*axis 2 of size 5.*"
                                                 r"\(4, 3, 6\)"):
                other(to_backend(np.ones((4, 3, 6), "float32"), backend))
    with pytest.raises(ValueError, match=r"'bn'.*axis 2 of size 5.*\(None, 3, 4\)"):
        layer(uk.Input((3, 4)))
    with pytest.raises(ValueError, match=r"LayerNormalization 'o'.*axis 2 of size 5"):
        other = layers.LayerNormalization(name="o")
        other(uk.Input((3, 5)))
        other(uk.Input((3, 6)))
