"""unikeras models used the way a TensorFlow user writes TF code, without tf.keras.

`to_tf(model)` must be a genuine `tf.Module`: trained with `tf.GradientTape` in a
`tf.function` (also `jit_compile=True`) by plain `assign_sub` over
`trainable_variables`, exported with `tf.saved_model`, checkpointed with
`tf.train.Checkpoint`, fed by `tf.data`.
"""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import unikeras as uk  # noqa: E402
from unikeras.adapters.tf_module import to_tf  # noqa: E402


def _mlp(dropout=None, seed=None, hidden=16):
    layers = [uk.Input((3,)), uk.layers.Dense(hidden, activation="relu", name="dense")]
    if dropout is not None:
        layers.append(uk.layers.Dropout(dropout, seed=seed, name="drop"))
    layers.append(uk.layers.Dense(1, name="out"))
    return uk.Sequential(layers)


def _data(n=128):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    w = rng.normal(size=(3, 1)).astype("float32")
    y = (x @ w + 0.3 * np.tanh(x[:, :1])).astype("float32")
    return tf.constant(x), tf.constant(y)


def _numpy_forward(weights, x):
    k1, b1, k2, b2 = weights
    return np.maximum(np.asarray(x) @ k1 + b1, 0) @ k2 + b2


def _sgd_step_fn(module, lr, jit_compile=False):
    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(module(x) - y))
        grads = tape.gradient(loss, module.trainable_variables)
        for v, g in zip(module.trainable_variables, grads):
            v.assign_sub(lr * g)
        return loss
    return step


def _mse(module, x, y):
    return float(tf.reduce_mean(tf.square(module(x) - y)))


# --- training -------------------------------------------------------------------------------

def test_is_tf_module_with_named_variables():
    module = to_tf(_mlp(dropout=0.5, seed=1))
    assert isinstance(module, tf.Module)
    trainable = module.trainable_variables
    assert len(trainable) == 4
    assert all(isinstance(v, tf.Variable) and v.trainable for v in trainable)
    names = {v.name for v in trainable}
    assert names == {"dense/kernel:0", "dense/bias:0", "out/kernel:0", "out/bias:0"}
    by_name = {v.name: v for v in trainable}
    assert tuple(by_name["dense/kernel:0"].shape) == (3, 16)  # Keras layout (in, out)
    non_trainable = module.non_trainable_variables
    assert [v.name for v in non_trainable] == ["drop/seed_generator_state:0"]
    assert non_trainable[0].dtype == tf.int32
    assert len(module.variables) == 5


def test_trains_with_gradient_tape_and_plain_sgd_in_tf_function():
    module = to_tf(_mlp())
    x, y = _data()
    step = _sgd_step_fn(module, lr=0.05)
    first = _mse(module, x, y)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    for _ in range(40):
        for xb, yb in ds:
            loss = step(xb, yb)
    assert np.isfinite(float(loss))
    last = _mse(module, x, y)
    assert last < first / 10, (first, last)
    # get_weights reads the trained tf.Variables; the NumPy math agrees with the module.
    np.testing.assert_allclose(_numpy_forward(module.get_weights(), x), module(x).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_trains_under_jit_compile():
    module = to_tf(_mlp())
    x, y = _data()
    step = _sgd_step_fn(module, lr=0.05, jit_compile=True)
    first = _mse(module, x, y)
    for _ in range(150):
        loss = step(x, y)
    last = _mse(module, x, y)
    assert np.isfinite(float(loss))
    assert last < first / 10, (first, last)

    forward = tf.function(lambda x: module(x), jit_compile=True)
    np.testing.assert_allclose(forward(x).numpy(), module(x).numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_tape_matches_hand_computation():
    model = uk.Sequential([uk.Input((4,)), uk.layers.Dense(2, name="dense")])
    module = to_tf(model)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(5, 4)).astype("float32"))
    t = tf.constant(rng.normal(size=(5, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(module(x) - t))
    kernel, bias = module.dense.kernel, module.dense.bias
    gk, gb = tape.gradient(loss, [kernel, bias])
    dz = 2 * (x.numpy() @ kernel.numpy() + bias.numpy() - t.numpy())
    np.testing.assert_allclose(gk.numpy(), x.numpy().T @ dz, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb.numpy(), dz.sum(0), rtol=1e-5, atol=1e-5)


def test_training_flag_and_seed_state_in_tf_function():
    module = to_tf(uk.Sequential([uk.Input((64,)), uk.layers.Dropout(0.5, seed=3, name="drop")]))
    x = tf.ones((4, 64))
    # Keras convention: inference unless training=True.
    np.testing.assert_array_equal(module(x).numpy(), x.numpy())

    @tf.function
    def train_forward(x):
        return module(x, training=True)

    state = module.drop.seed_generator_state
    start = state.numpy().copy()
    a = train_forward(x).numpy()
    np.testing.assert_array_equal(state.numpy(), start + np.array([0, 1], np.int32))
    b = train_forward(x).numpy()
    np.testing.assert_array_equal(state.numpy(), start + np.array([0, 2], np.int32))
    assert set(np.unique(a).tolist()) == {0.0, 2.0}
    assert not np.array_equal(a, b)


# --- saved_model ---------------------------------------------------------------------------

class _Serving(tf.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        return {"y": self.inner(x)}


def test_saved_model_save_load_reproduces_outputs(tmp_path):
    module = to_tf(_mlp(dropout=0.5, seed=1))
    x, _ = _data(9)
    expected = module(x).numpy()
    kernel = module.dense.kernel.numpy().copy()
    wrapper = _Serving(module)
    path = str(tmp_path / "saved")
    tf.saved_model.save(wrapper, path, signatures={"serving_default": wrapper.serve})

    # Change the live weights: the export must not depend on them any more.
    for v in module.trainable_variables:
        v.assign(tf.zeros_like(v))

    loaded = tf.saved_model.load(path)
    np.testing.assert_allclose(loaded.serve(x)["y"].numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded.signatures["serving_default"](x=x)["y"].numpy(), expected,
                               rtol=1e-6)
    # Dynamic batch from the input_signature.
    np.testing.assert_allclose(loaded.serve(x[:1])["y"].numpy(), expected[:1], rtol=1e-6)
    # The attribute tree (canonical weight paths) survives the export.
    np.testing.assert_array_equal(loaded.inner.dense.kernel.numpy(), kernel)


# --- tf.train.Checkpoint -------------------------------------------------------------------

def test_checkpoint_save_restore_round_trip(tmp_path):
    module = to_tf(_mlp())
    x, _ = _data(6)
    expected = module(x).numpy()
    ckpt = tf.train.Checkpoint(model=module)
    path = ckpt.save(str(tmp_path / "ckpt"))

    keys = {name for name, _ in tf.train.list_variables(path)}
    assert "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE" in keys
    assert "model/out/bias/.ATTRIBUTES/VARIABLE_VALUE" in keys

    for v in module.trainable_variables:
        v.assign(tf.zeros_like(v))
    assert not np.allclose(module(x).numpy(), expected)
    ckpt.restore(path).assert_consumed()
    np.testing.assert_allclose(module(x).numpy(), expected, rtol=1e-6)


def test_checkpoint_restores_into_fresh_module(tmp_path):
    src = to_tf(_mlp())
    x, _ = _data(6)
    path = tf.train.Checkpoint(model=src).write(str(tmp_path / "w"))
    dst = to_tf(_mlp())
    assert not np.allclose(dst(x).numpy(), src(x).numpy())
    tf.train.Checkpoint(model=dst).read(path).assert_consumed()
    np.testing.assert_allclose(dst(x).numpy(), src(x).numpy(), rtol=1e-6)
    for a, b in zip(dst.get_weights(), src.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weightless_layer_needs_no_input_shape():
    """A Keras Dropout is built at construction: to_tf needs no input shape for it."""
    module = to_tf(uk.layers.Dropout(0.5, seed=2))
    assert [v.name for v in module.non_trainable_variables] == ["seed_generator_state:0"]
    x = tf.ones((4, 64))
    np.testing.assert_array_equal(module(x).numpy(), x.numpy())
    assert set(np.unique(module(x, training=True).numpy()).tolist()) == {0.0, 2.0}
