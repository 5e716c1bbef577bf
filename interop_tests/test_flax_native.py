"""unikeras models used the way a Flax nnx user writes nnx code.

`to_flax(model)` must be a genuine `nnx.Module`: trained by `nnx.Optimizer` + optax under
`nnx.jit`, differentiated by `nnx.grad` / `nnx.value_and_grad` (which call a *copy* of
the module holding tracers: weights must resolve through the object being called),
split and merged, mixed with `nnx.Linear`, switched by `.train()` / `.eval()`.
"""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

import unikeras as uk  # noqa: E402
from unikeras.adapters.flax import to_flax  # noqa: E402


def _mlp(hidden=16, dropout=None, seed=None):
    layers = [uk.Input((3,)), uk.layers.Dense(hidden, activation="relu", name="dense")]
    if dropout is not None:
        layers.append(uk.layers.Dropout(dropout, seed=seed, name="drop"))
    layers.append(uk.layers.Dense(1, name="out"))
    return uk.Sequential(layers)


def _data(n=32):
    key_x, key_w = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(key_x, (n, 3))
    w = jax.random.normal(key_w, (3, 1))
    y = x @ w + 0.3 * jnp.tanh(x[:, :1])
    return x, y


def _mse(module, x, y):
    return jnp.mean((module(x) - y) ** 2)


# --- training with nnx.Optimizer under nnx.jit -------------------------------------------------

def test_trains_with_nnx_optimizer_under_nnx_jit():
    module = to_flax(_mlp())
    assert isinstance(module, nnx.Module)
    opt = nnx.Optimizer(module, optax.adam(1e-2), wrt=nnx.Param)
    x, y = _data()

    @nnx.jit
    def train_step(module, opt, x, y):
        loss, grads = nnx.value_and_grad(_mse)(module, x, y)
        opt.update(module, grads)
        return loss

    kernel_before = np.asarray(module.dense.kernel[...]).copy()
    first = float(_mse(module, x, y))
    for _ in range(100):
        train_step(module, opt, x, y)
    last = float(_mse(module, x, y))
    assert np.isfinite(last)
    assert last < first / 10, (first, last)
    # The optimizer updated the module's own Params in place.
    assert not np.allclose(np.asarray(module.dense.kernel[...]), kernel_before)
    np.testing.assert_allclose(module.get_weights()[0], np.asarray(module.dense.kernel[...]))


def _pure_mse(kernel1, bias1, kernel2, bias2, x, y):
    hidden = jax.nn.relu(x @ kernel1 + bias1)
    return jnp.mean((hidden @ kernel2 + bias2 - y) ** 2)


def test_nnx_grad_matches_hand_written_jax_grad():
    module = to_flax(_mlp())
    x, y = _data()
    grads = nnx.grad(_mse)(module, x, y)

    weights = [jnp.asarray(w) for w in module.get_weights()]
    ref = jax.grad(_pure_mse, argnums=(0, 1, 2, 3))(*weights, x, y)
    got = [grads["dense"]["kernel"][...], grads["dense"]["bias"][...],
           grads["out"]["kernel"][...], grads["out"]["bias"][...]]
    for g, r in zip(got, ref):
        assert g.shape == r.shape
        assert float(jnp.abs(g).sum()) > 0  # gradients must flow, not silently vanish
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-5, atol=1e-6)


def test_nnx_grad_under_nnx_jit_matches_hand_written_jax_grad():
    module = to_flax(_mlp())
    x, y = _data()

    @nnx.jit
    def grads_of(module, x, y):
        return nnx.value_and_grad(_mse)(module, x, y)

    loss, grads = grads_of(module, x, y)
    weights = [jnp.asarray(w) for w in module.get_weights()]
    ref_loss, ref = jax.value_and_grad(_pure_mse, argnums=(0, 1, 2, 3))(*weights, x, y)
    np.testing.assert_allclose(float(loss), float(ref_loss), rtol=1e-5)
    flat = dict(nnx.to_flat_state(grads))
    np.testing.assert_allclose(np.asarray(flat[("dense", "kernel")][...]), np.asarray(ref[0]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(flat[("out", "bias")][...]), np.asarray(ref[3]),
                               rtol=1e-5, atol=1e-6)
    assert float(jnp.abs(flat[("dense", "kernel")][...]).sum()) > 0


def test_grad_sees_values_swapped_in_through_state():
    """Weights changed through nnx.update are what the next call and grad use."""
    module = to_flax(_mlp(hidden=4))
    x, y = _data()
    state = nnx.state(module, nnx.Param)
    zeroed = jax.tree.map(jnp.zeros_like, state)
    nnx.update(module, zeroed)
    np.testing.assert_allclose(np.asarray(module(x)), np.zeros((32, 1)))
    grads = nnx.grad(_mse)(module, x, y)
    # With every weight zero: only the output bias gets a gradient, -2 mean(y).
    np.testing.assert_allclose(np.asarray(grads["out"]["bias"][...]),
                               np.asarray([-2 * jnp.mean(y)]), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grads["dense"]["kernel"][...]), np.zeros((3, 4)))


# --- split / merge / state paths ---------------------------------------------------------------

def test_state_paths_are_canonical_weight_paths():
    module = to_flax(_mlp(dropout=0.5, seed=3))
    flat = {path: type(v) for path, v in nnx.to_flat_state(nnx.state(module))}
    params = {path for path, v in nnx.to_flat_state(nnx.state(module, nnx.Param))}
    assert params == {("dense", "kernel"), ("dense", "bias"), ("out", "kernel"), ("out", "bias")}
    assert ("drop", "seed_generator_state") in flat
    assert not issubclass(flat[("drop", "seed_generator_state")], nnx.Param)
    assert nnx.state(module, nnx.Param)["dense"]["kernel"][...].shape == (3, 16)  # (in, out)


def test_split_merge_round_trip_gives_same_outputs():
    module = to_flax(_mlp())
    x, _ = _data()
    expected = module(x)
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    merged = nnx.merge(graphdef, params, rest)
    np.testing.assert_allclose(np.asarray(merged(x)), np.asarray(expected), rtol=1e-6)

    # Merged with different params, the new module computes with them.
    doubled = jax.tree.map(lambda p: 2 * p, params)
    other = nnx.merge(graphdef, doubled, rest)
    w = [2 * np.asarray(a) for a in module.get_weights()]
    ref = np.maximum(np.asarray(x) @ w[0] + w[1], 0) @ w[2] + w[3]
    np.testing.assert_allclose(np.asarray(other(x)), ref, rtol=1e-5, atol=1e-5)
    # ... and the original module is unchanged.
    np.testing.assert_allclose(np.asarray(module(x)), np.asarray(expected), rtol=1e-6)


def test_pure_function_of_state_under_jax_jit():
    """The fast path nnx recommends: split once, jax.jit a pure function of the state."""
    module = to_flax(_mlp())
    x, _ = _data()
    graphdef, state = nnx.split(module)

    @jax.jit
    def apply(state, x):
        return nnx.merge(graphdef, state)(x)

    np.testing.assert_allclose(np.asarray(apply(state, x)), np.asarray(module(x)), rtol=1e-6)


# --- mixing with native nnx modules --------------------------------------------------------------

class _Mixed(nnx.Module):
    def __init__(self, rngs):
        self.proj = nnx.Linear(3, 8, rngs=rngs)
        self.body = to_flax(uk.layers.Dense(8, activation="tanh", name="body_dense"),
                            input_shape=(None, 8))
        self.head = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.head(self.body(nnx.relu(self.proj(x))))


def test_mixed_with_nnx_linear_in_user_module():
    net = _Mixed(nnx.Rngs(0))
    paths = {path for path, _ in nnx.to_flat_state(nnx.state(net, nnx.Param))}
    assert {("proj", "kernel"), ("body", "kernel"), ("body", "bias"), ("head", "kernel")} <= paths

    x, y = _data()
    opt = nnx.Optimizer(net, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(net, opt, x, y):
        loss, grads = nnx.value_and_grad(_mse)(net, x, y)
        opt.update(net, grads)
        return loss, grads

    body_before = np.asarray(net.body.kernel[...]).copy()
    first = float(_mse(net, x, y))
    _, grads = step(net, opt, x, y)
    assert float(jnp.abs(grads["body"]["kernel"][...]).sum()) > 0
    for _ in range(80):
        step(net, opt, x, y)
    last = float(_mse(net, x, y))
    assert last < first / 5, (first, last)
    assert not np.allclose(np.asarray(net.body.kernel[...]), body_before)


# --- train / eval, seed state -----------------------------------------------------------------

def test_eval_disables_dropout():
    module = to_flax(uk.Sequential([uk.Input((64,)), uk.layers.Dropout(0.5, seed=1, name="drop")]))
    x = jnp.ones((4, 64))
    module.train()
    a, b = module(x), module(x)
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    assert set(np.unique(np.asarray(a)).tolist()) == {0.0, 2.0}
    module.eval()
    np.testing.assert_array_equal(np.asarray(module(x)), np.asarray(x))
    # The explicit call argument wins over the mode, as with nnx.Dropout(deterministic=...).
    assert not np.array_equal(np.asarray(module(x, training=True)), np.asarray(x))


def test_eval_propagates_from_parent_nnx_module():
    class Net(nnx.Module):
        def __init__(self):
            self.inner = to_flax(_mlp(dropout=0.5, seed=2))

        def __call__(self, x):
            return self.inner(x)

    net = Net()
    x, _ = _data()
    net.eval()
    np.testing.assert_array_equal(np.asarray(net(x)), np.asarray(net(x)))
    w = net.inner.get_weights()
    ref = np.maximum(np.asarray(x) @ w[0] + w[1], 0) @ w[2] + w[3]
    np.testing.assert_allclose(np.asarray(net(x)), ref, rtol=1e-5, atol=1e-6)
    net.train()
    assert not np.allclose(np.asarray(net(x)), ref)


def test_seed_state_advances_under_nnx_jit():
    module = to_flax(_mlp(dropout=0.5, seed=4))
    module.train()
    x, _ = _data()

    @nnx.jit
    def forward(module, x):
        return module(x)

    start = np.asarray(module.drop.seed_generator_state[...]).copy()
    a = forward(module, x)
    after_one = np.asarray(module.drop.seed_generator_state[...])
    np.testing.assert_array_equal(after_one, start + np.array([0, 1], dtype=np.int32))
    b = forward(module, x)
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]),
                                  start + np.array([0, 2], dtype=np.int32))
    assert not np.allclose(np.asarray(a), np.asarray(b))  # a fresh mask each step
    module.eval()
    forward(module, x)
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]),
                                  start + np.array([0, 2], dtype=np.int32))


def test_seed_state_update_inside_value_and_grad_training_step():
    module = to_flax(_mlp(dropout=0.2, seed=5))
    opt = nnx.Optimizer(module, optax.sgd(1e-2), wrt=nnx.Param)
    x, y = _data()

    @nnx.jit
    def step(module, opt, x, y):
        loss, grads = nnx.value_and_grad(_mse)(module, x, y)
        opt.update(module, grads)
        return loss

    start = int(module.drop.seed_generator_state[...][1])
    for _ in range(3):
        step(module, opt, x, y)
    assert int(module.drop.seed_generator_state[...][1]) == start + 3


def test_nnx_clone_is_independent():
    module = to_flax(_mlp())
    x, _ = _data()
    clone = nnx.clone(module)
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(module(x)), rtol=1e-6)
    clone.out.bias[...] = clone.out.bias[...] + 1.0
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(module(x)) + 1.0, rtol=1e-5,
                               atol=1e-5)


def test_weightless_layer_needs_no_input_shape():
    """Like `nnx.Dropout` (and a Keras Dropout, built at construction), a unikeras Dropout
    materializes without an input shape."""
    module = to_flax(uk.layers.Dropout(0.5, seed=1))
    x = jnp.ones((4, 64))
    module.train()
    assert set(np.unique(np.asarray(module(x))).tolist()) == {0.0, 2.0}
    module.eval()
    np.testing.assert_array_equal(np.asarray(module(x)), np.asarray(x))
