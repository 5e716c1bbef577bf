"""Live native modules of one model stay in step through `unikeras.adapters.sync`.

`to_torch(model)`, `to_flax(model)` and `to_tf(model)` start from the model's weights; after
training one with its own framework's optimizer, `sync(trained, *others)` brings the model
and the other modules up to date, sharing memory where it says it does.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")
tf = pytest.importorskip("tensorflow")
import jax.numpy as jnp  # noqa: E402

import unikeras as uk  # noqa: E402
from unikeras import layers as L, ops  # noqa: E402
from unikeras.adapters import sync  # noqa: E402
from unikeras.adapters.flax import to_flax  # noqa: E402
from unikeras.adapters.tf_module import to_tf  # noqa: E402
from unikeras.adapters.torch_nn import to_torch  # noqa: E402

EPS = 1e-3  # BatchNormalization's default epsilon


def _model(backend, seed=0, name="net"):
    uk.utils.set_random_seed(seed)
    with ops.backend_scope(backend):
        return uk.Sequential([uk.Input((6,)), L.Dense(8, activation="relu", name="hidden"),
                              L.BatchNormalization(name="bn"), L.Dense(3, name="head")],
                             name=name)


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n).astype("int64")


def _numpy_forward(w, x):
    """The model's inference output from a {canonical path: array} dict, in NumPy."""
    h = np.maximum(x @ w["hidden.kernel"] + w["hidden.bias"], 0.0)
    h = ((h - w["bn.moving_mean"]) / np.sqrt(w["bn.moving_variance"] + EPS) * w["bn.gamma"]
         + w["bn.beta"])
    return h @ w["head.kernel"] + w["head.bias"]


def _nnx_weights(module):
    flat = nnx.to_flat_state(nnx.state(module, (nnx.Param, nnx.BatchStat)))
    return {".".join(path): np.asarray(v.get_value()) for path, v in flat}


def _tf_weights(module, paths):
    out = {}
    for path in paths:
        obj = module
        for part in path.split("."):
            obj = getattr(obj, part)
        out[path] = obj.numpy()
    return out


def _torch_weights(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def _outputs(model, torch_module, nnx_module, tf_module, x):
    torch_module.eval()
    nnx_module.eval()
    with torch.no_grad():
        from_torch = torch_module(torch.from_numpy(x)).numpy()
    return {"torch": from_torch, "model": ops.convert_to_numpy(model(x, training=False)),
            "flax": np.asarray(nnx_module(jnp.asarray(x))),
            "tf": tf_module(tf.constant(x)).numpy()}


def _assert_agree(outputs, expected, atol=1e-6):
    for name, out in outputs.items():
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=atol, err_msg=name)


def _train_torch(module, x, y, steps=5):
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    module.train()  # BatchNormalization updates its moving statistics too
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(module(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
    return opt


def test_native_modules_start_from_the_same_weights():
    for backend in ("torch", "jax"):
        model = _model(backend)
        torch_weights = _torch_weights(to_torch(model))
        nnx_weights = _nnx_weights(to_flax(model))
        tf_weights = _tf_weights(to_tf(model), list(torch_weights))
        by_path = {p.replace("/", "."): w for p, w in zip(
            [v.path for v in model.weights], model.get_weights())}
        assert sorted(torch_weights) == sorted(nnx_weights) == sorted(by_path), backend
        for path, expected in by_path.items():
            for name, weights in (("torch", torch_weights), ("flax", nnx_weights),
                                  ("tf", tf_weights)):
                np.testing.assert_array_equal(weights[path], expected, err_msg=f"{backend} {name} {path}")


def test_sync_after_torch_training_brings_model_flax_and_tf_up_to_date():
    x, y = _data()
    model = _model("jax")  # the model's own storage in another framework than the trainer
    torch_module, nnx_module, tf_module = to_torch(model), to_flax(model), to_tf(model)
    before = _torch_weights(torch_module)
    _train_torch(torch_module, x, y)
    trained = _torch_weights(torch_module)
    assert not np.allclose(trained["bn.moving_mean"], before["bn.moving_mean"])
    assert not np.allclose(trained["head.kernel"], before["head.kernel"])
    assert np.allclose(_nnx_weights(nnx_module)["head.kernel"], before["head.kernel"])

    sync(torch_module, model, nnx_module, tf_module)
    for name, weights in (("flax", _nnx_weights(nnx_module)),
                          ("tf", _tf_weights(tf_module, list(trained))),
                          ("model", {v.path.replace("/", "."): w for v, w in
                                     zip(model.weights, model.get_weights())})):
        for path, expected in trained.items():
            np.testing.assert_array_equal(weights[path], expected, err_msg=f"{name} {path}")
    _assert_agree(_outputs(model, torch_module, nnx_module, tf_module, x), _numpy_forward(trained, x))


def test_sync_shares_torch_memory_with_flax_tf_and_the_torch_backed_model():
    x, y = _data()
    model = _model("torch")
    torch_module, nnx_module, tf_module = to_torch(model), to_flax(model), to_tf(model)
    opt = _train_torch(torch_module, x, y)
    sync(torch_module, model, nnx_module, tf_module)
    kernel = torch_module.state_dict()["head.kernel"]
    flax_kernel = nnx_module.head.kernel.get_value()
    assert flax_kernel.unsafe_buffer_pointer() == kernel.data_ptr()  # zero-copy
    tf_kernel = torch.from_dlpack(tf_module.head.kernel.read_value())  # views tf's buffer
    assert tf_kernel.data_ptr() == kernel.data_ptr()
    # A torch-backed model's to_torch module holds the model's own parameters.
    assert model.layers[-1].kernel.value.data_ptr() == kernel.data_ptr()

    # Shared memory: further in-place torch steps show in flax and tf with no second sync.
    opt.zero_grad()
    torch.nn.functional.cross_entropy(torch_module(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    opt.step()
    trained = _torch_weights(torch_module)
    np.testing.assert_array_equal(np.asarray(nnx_module.head.kernel.get_value()), trained["head.kernel"])
    _assert_agree(_outputs(model, torch_module, nnx_module, tf_module, x), _numpy_forward(trained, x))

    # tf never writes into torch's memory: its first write makes its own buffer.
    tf_module.head.kernel.assign_add(tf.ones_like(tf_module.head.kernel))
    np.testing.assert_array_equal(kernel.numpy(), trained["head.kernel"])
    np.testing.assert_array_equal(tf_module.head.kernel.numpy(), trained["head.kernel"] + 1)


def test_sync_after_flax_training_copies_into_torch_parameters_in_place():
    x, y = _data()
    model = _model("torch")
    torch_module, nnx_module, tf_module = to_torch(model), to_flax(model), to_tf(model)
    torch_opt = torch.optim.SGD(torch_module.parameters(), lr=0.1)
    params_before = list(torch_module.parameters())
    opt = nnx.Optimizer(nnx_module, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def train_step(module, opt, x, y):
        def loss_fn(module):
            return optax.softmax_cross_entropy_with_integer_labels(module(x), y).mean()
        loss, grads = nnx.value_and_grad(loss_fn)(module)
        opt.update(module, grads)
        return loss

    nnx_module.train()
    for _ in range(5):
        train_step(nnx_module, opt, jnp.asarray(x), jnp.asarray(y))
    trained = _nnx_weights(nnx_module)
    sync(nnx_module, torch_module, model, tf_module)

    # Same Parameter objects (the torch optimizer still holds them), now with flax's values,
    # in torch's own memory (jax buffers are never written by torch).
    assert all(a is b for a, b in zip(params_before, torch_module.parameters()))
    assert torch_opt.param_groups[0]["params"][0] is params_before[0]
    kernel = torch_module.state_dict()["head.kernel"]
    assert kernel.data_ptr() != nnx_module.head.kernel.get_value().unsafe_buffer_pointer()
    for path, expected in trained.items():
        np.testing.assert_array_equal(_torch_weights(torch_module)[path], expected, err_msg=path)
    _assert_agree(_outputs(model, torch_module, nnx_module, tf_module, x), _numpy_forward(trained, x))


def test_sync_from_tf_is_a_snapshot_of_its_variables():
    x, y = _data()
    model = _model("tensorflow")
    torch_module, nnx_module, tf_module = to_torch(model), to_flax(model), to_tf(model)

    def tf_step():
        with tf.GradientTape() as tape:
            logits = tf_module(tf.constant(x), training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        variables = tf_module.trainable_variables
        for v, g in zip(variables, tape.gradient(loss, variables)):
            v.assign_sub(0.1 * g)

    for _ in range(3):
        tf_step()
    trained = _tf_weights(tf_module, list(_torch_weights(torch_module)))
    sync(tf_module, torch_module, nnx_module, model)
    tf_kernel = torch.from_dlpack(tf_module.head.kernel.read_value())  # views tf's buffer
    assert nnx_module.head.kernel.get_value().unsafe_buffer_pointer() == tf_kernel.data_ptr()
    _assert_agree(_outputs(model, torch_module, nnx_module, tf_module, x), _numpy_forward(trained, x))
    tf_step()  # tf copies a variable's buffer before writing it while others hold it
    np.testing.assert_array_equal(_nnx_weights(nnx_module)["head.kernel"], trained["head.kernel"])
    assert not np.array_equal(tf_module.head.kernel.numpy(), trained["head.kernel"])


def test_sync_pairs_a_sublayer_module_and_separate_models_by_path():
    model = _model("torch")
    head = to_flax(model.layers[-1])  # one sublayer: pairs through the shared variables
    with torch.no_grad():
        model.layers[-1].kernel.value.mul_(2.0)
    sync(model, head)
    np.testing.assert_array_equal(np.asarray(head.kernel.get_value()), model.layers[-1].kernel.numpy())

    twin = _model("jax", seed=1)  # same layer names, other variables: pairs by path
    sync(model, twin)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sync_refuses_what_it_cannot_update():
    model = _model("torch")
    other = uk.Sequential([uk.Input((6,)), L.Dense(4, name="hidden")], name="other")
    with pytest.raises(ValueError, match=r"'hidden.kernel' has shape \(6, 4\).*'hidden.bias'"):
        sync(model, to_torch(other))
    with pytest.raises(TypeError, match="not made by unikeras"):
        sync(model, torch.nn.Linear(6, 8))
    with pytest.raises(TypeError, match="expected a unikeras layer"):
        sync(model, np.zeros(3))
    from unikeras.adapters import openvino as uov
    with pytest.raises(TypeError, match="compile it again"):
        sync(model, uov.compile(model))
