"""unikeras and Flax/JAX, both ways, used the way a Flax user writes code.

- `to_flax(model)` is a genuine `nnx.Module` (`NnxModule`): trained by `nnx.Optimizer` +
  optax under `nnx.jit`, differentiated by `nnx.grad` / `nnx.value_and_grad` (which call a
  *copy* of the module holding tracers), split / merged / updated, vmapped, mixed with
  `nnx.Linear` / `nnx.Conv`, switched by `.train()` / `.eval()`.
- `functional(model)` is a pure function of a pytree for `jax.jit` / `jax.grad` /
  `jax.vmap` / optax, equal to the nnx path.
- `FlaxLayer` / `JaxLayer` put nnx and linen modules and jax functions inside unikeras
  models trained by `fit`.

The catalog model (every layer family) carries the big cases; jit compiles dominate the
cost, so each compiled step is built once (module fixtures) and shared by the assertions.
"""
import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")
nnx = pytest.importorskip("flax.nnx")
linen = pytest.importorskip("flax.linen")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

import unikeras as uk  # noqa: E402
from unikeras import ops  # noqa: E402
from unikeras.adapters.flax import assign_variables, functional, to_flax  # noqa: E402
from unikeras.adapters.flax.module import NnxModule, SeedState  # noqa: E402
from unikeras.layers import FlaxLayer, JaxLayer  # noqa: E402

from catalog_model import build_catalog_model, sample_labels, sample_tokens  # noqa: E402

STEPS = 12
TOL = dict(rtol=1e-4, atol=1e-6)


def _mlp(hidden=16, dropout=None, seed=None):
    """Built on the NumPy reference backend: no jax op runs (nor compiles) until to_flax."""
    with ops.backend_scope("numpy"):
        layers = [uk.Input((3,)), uk.layers.Dense(hidden, activation="relu", name="dense")]
        if dropout is not None:
            layers.append(uk.layers.Dropout(dropout, seed=seed, name="drop"))
        layers.append(uk.layers.Dense(1, name="out"))
        return uk.Sequential(layers)


def _mlp_reference(w, x):
    return np.maximum(np.asarray(x) @ w[0] + w[1], 0) @ w[2] + w[3]


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = x @ rng.normal(size=(3, 1)).astype("float32") + 0.3 * np.tanh(x[:, :1])
    return jnp.asarray(x), jnp.asarray(y)


def _mse(module, x, y):
    return jnp.mean((module(x) - y) ** 2)


def _xent(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


# --- the catalog model trained both ways: nnx.Optimizer under nnx.jit, functional + optax --------

@pytest.fixture(scope="module")
def catalog():
    model = build_catalog_model("numpy", seed=0)  # to_flax / functional copy it to jax
    variables, apply = functional(model)  # a snapshot of the initial values
    return dict(model=model, variables=variables, apply=apply,
                x=jnp.asarray(sample_tokens(16)), y=jnp.asarray(sample_labels(16)))


@pytest.fixture(scope="module")
def nnx_run(catalog):
    module = to_flax(catalog["model"])
    initial = {path: np.asarray(v.get_value()).copy()
               for path, v in nnx.to_flat_state(nnx.state(module))}
    opt = nnx.Optimizer(module, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(module, opt, x, y):
        loss, grads = nnx.value_and_grad(lambda m: _xent(m(x), y))(module)
        opt.update(module, grads)
        return loss, grads

    losses, first_grads = [], None
    for _ in range(STEPS):
        loss, grads = step(module, opt, catalog["x"], catalog["y"])
        losses.append(float(loss))
        first_grads = grads if first_grads is None else first_grads
    return dict(module=module, initial=initial, losses=losses,
                grads={"/".join(p): np.asarray(v.get_value())
                       for p, v in nnx.to_flat_state(first_grads)})


@pytest.fixture(scope="module")
def functional_run(catalog):
    apply, tx = catalog["apply"], optax.adam(1e-2)

    def loss_fn(params, state, x, y):
        logits, new_state = apply({"params": params, "state": state}, x, training=True)
        return _xent(logits, y), new_state

    @jax.jit
    def step(params, state, opt_state, x, y):
        (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), new_state, opt_state, loss, grads

    params, state = catalog["variables"]["params"], catalog["variables"]["state"]
    opt_state = tx.init(params)
    losses, states, first_grads = [], [], None
    for _ in range(STEPS):
        params, state, opt_state, loss, grads = step(params, state, opt_state,
                                                     catalog["x"], catalog["y"])
        losses.append(float(loss))
        states.append(state)
        first_grads = grads if first_grads is None else first_grads
    return dict(params=params, state=state, states=states, losses=losses, grads=first_grads)


def test_catalog_nnx_state_paths_and_kinds(catalog):
    module = to_flax(catalog["model"])
    assert isinstance(module, NnxModule) and isinstance(module, nnx.Module)
    kinds = {path: type(v) for path, v in nnx.to_flat_state(nnx.state(module))}
    assert kinds[("lstm", "lstm_cell", "recurrent_kernel")] is nnx.Param
    assert kinds[("mha", "query", "kernel")] is nnx.Param
    assert kinds[("bn", "moving_mean")] is nnx.BatchStat
    assert kinds[("drop", "seed_generator_state")] is SeedState
    params = {"/".join(p) for p, _ in nnx.to_flat_state(nnx.state(module, nnx.Param))}
    assert params == set(catalog["variables"]["params"])
    assert {"/".join(p) for p, t in kinds.items() if t is not nnx.Param} == \
        set(catalog["variables"]["state"])
    assert nnx.state(module, nnx.Param)["conv"]["kernel"][...].shape == (3, 8, 8)  # Keras layout


def test_catalog_trains_with_nnx_optimizer_under_nnx_jit(nnx_run):
    module, initial, losses = nnx_run["module"], nnx_run["initial"], nnx_run["losses"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0], losses
    # Every Param got a gradient, and the optimizer moved the module's own Params.
    for path, grad in nnx_run["grads"].items():
        assert np.abs(grad).sum() > 0, path
    for path, v in nnx.to_flat_state(nnx.state(module, nnx.Param)):
        assert not np.allclose(np.asarray(v.get_value()), initial[path]), path
    # BatchStats were updated under nnx.jit; one dropout seed draw per step.
    assert not np.allclose(np.asarray(module.bn.moving_mean[...]), initial[("bn", "moving_mean")])
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]),
                                  initial[("drop", "seed_generator_state")] + [0, STEPS])
    # get_weights reads the trained nnx values, in the layer's weights order.
    np.testing.assert_array_equal(module.get_weights()[0], np.asarray(module.embed.embeddings[...]))


def test_functional_grads_equal_nnx_grads(nnx_run, functional_run):
    grads = functional_run["grads"]
    assert set(grads) == set(nnx_run["grads"])
    for path, grad in grads.items():
        np.testing.assert_allclose(np.asarray(grad), nnx_run["grads"][path], err_msg=path, **TOL)
    # Same weights, same dropout seeds, same optimizer: the two loops train alike.
    np.testing.assert_allclose(functional_run["losses"], nnx_run["losses"], rtol=1e-3)
    np.testing.assert_allclose(np.asarray(functional_run["state"]["bn/moving_mean"]),
                               np.asarray(nnx_run["module"].bn.moving_mean[...]), rtol=1e-3,
                               atol=1e-5)


def test_functional_optax_loop_returns_updated_state(catalog, functional_run):
    losses = functional_run["losses"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0], losses
    # The first step's BN update, from a NumPy forward of Embedding -> Conv1D(same) + relu.
    p = {k: np.asarray(v) for k, v in catalog["variables"]["params"].items()}
    h = p["embed/embeddings"][np.asarray(catalog["x"])]
    padded = np.pad(h, ((0, 0), (1, 1), (0, 0)))
    conv = sum(padded[:, k:k + h.shape[1]] @ p["conv/kernel"][k] for k in range(3))
    conv = np.maximum(conv + p["conv/bias"], 0)
    first = functional_run["states"][0]
    np.testing.assert_allclose(np.asarray(first["bn/moving_mean"]),
                               0.01 * conv.mean(axis=(0, 1)), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.asarray(first["bn/moving_variance"]),
                               0.99 + 0.01 * conv.var(axis=(0, 1)), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(functional_run["state"]["drop/seed_generator_state"]),
                                  np.asarray(catalog["variables"]["state"]
                                             ["drop/seed_generator_state"]) + [0, STEPS])
    # The input variables are untouched (pure), the layer's own weights too.
    np.testing.assert_array_equal(np.asarray(catalog["variables"]["state"]["bn/moving_mean"]),
                                  np.zeros(8, np.float32))
    np.testing.assert_array_equal(catalog["model"].get_layer("bn").get_weights()[2], np.zeros(8))


def test_catalog_nnx_vmap_split_merge_update(nnx_run, catalog):
    module, x = nnx_run["module"], catalog["x"]
    module.eval()

    @nnx.jit
    def forward(m, x):
        per_example = nnx.vmap(lambda m, xi: m(xi[None])[0], in_axes=(None, 0))(m, x)
        return m(x), per_example

    batched, per_example = forward(module, x)
    np.testing.assert_allclose(np.asarray(per_example), np.asarray(batched), rtol=1e-5, atol=1e-6)
    seed = np.asarray(module.drop.seed_generator_state[...])
    # split/merge gives the same function (and eval mode kept: no seed drawn).
    merged = nnx.merge(*nnx.split(nnx.clone(module), nnx.Param, ...))
    np.testing.assert_allclose(np.asarray(forward(merged, x)[0]), np.asarray(batched), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]), seed)
    # nnx.update swaps values in: a zero head kernel leaves only the head bias.
    params = nnx.state(merged, nnx.Param)
    params["head"]["kernel"] = nnx.Param(jnp.zeros_like(params["head"]["kernel"][...]))
    nnx.update(merged, params)
    bias = np.asarray(merged.head.bias[...])
    np.testing.assert_allclose(np.asarray(forward(merged, x)[0]), np.broadcast_to(bias, (16, 3)),
                               rtol=1e-6)
    assert not np.allclose(np.asarray(module.head.kernel[...]), 0)  # the original is untouched
    module.train()


# --- the small MLP: hand-written references ---------------------------------------------------

def _mse_and_grads_reference(w, x, y):
    """MSE of the relu MLP and its gradients, by hand in NumPy."""
    x, y = np.asarray(x), np.asarray(y)
    pre = x @ w[0] + w[1]
    hidden = np.maximum(pre, 0)
    err = hidden @ w[2] + w[3] - y
    d_out = 2 * err / err.size
    d_pre = (d_out @ w[2].T) * (pre > 0)
    return np.mean(err ** 2), [x.T @ d_pre, d_pre.sum(0), hidden.T @ d_out, d_out.sum(0)]


def test_nnx_grad_under_nnx_jit_matches_hand_written_grad():
    module = to_flax(_mlp())
    x, y = _data()
    ref_loss, ref = _mse_and_grads_reference(module.get_weights(), x, y)
    loss, grads = nnx.jit(nnx.value_and_grad(_mse))(module, x, y)
    np.testing.assert_allclose(float(loss), ref_loss, rtol=1e-5)
    got = [grads["dense"]["kernel"][...], grads["dense"]["bias"][...],
           grads["out"]["kernel"][...], grads["out"]["bias"][...]]
    for g, r in zip(got, ref):
        assert g.shape == r.shape and float(jnp.abs(g).sum()) > 0
        np.testing.assert_allclose(np.asarray(g), r, rtol=1e-5, atol=1e-6)


def test_grad_sees_values_swapped_in_through_state():
    """Weights changed through nnx.update are what the next call and grad use."""
    module = to_flax(_mlp(hidden=4))
    x, y = _data()
    zeroed = jax.tree.map(jnp.zeros_like, nnx.state(module, nnx.Param))
    nnx.update(module, zeroed)
    np.testing.assert_allclose(np.asarray(module(x)), np.zeros((32, 1)))
    grads = nnx.jit(nnx.grad(_mse))(module, x, y)
    # With every weight zero: only the output bias gets a gradient, -2 mean(y).
    np.testing.assert_allclose(np.asarray(grads["out"]["bias"][...]),
                               np.asarray([-2 * jnp.mean(y)]), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grads["dense"]["kernel"][...]), np.zeros((3, 4)))


def test_split_merge_round_trip_and_pure_function_under_jax_jit():
    module = to_flax(_mlp())
    x, _ = _data()
    expected = np.asarray(module(x))
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)

    @jax.jit
    def apply(params, rest, x):  # the fast path nnx recommends: a pure function of the state
        return nnx.merge(graphdef, params, rest)(x)

    np.testing.assert_allclose(np.asarray(apply(params, rest, x)), expected, rtol=1e-6)
    # Merged with different params, the new module computes with them ...
    doubled = jax.tree.map(lambda p: 2 * p, params)
    w = [2 * np.asarray(a) for a in module.get_weights()]
    np.testing.assert_allclose(np.asarray(nnx.merge(graphdef, doubled, rest)(x)),
                               _mlp_reference(w, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(apply(doubled, rest, x)), _mlp_reference(w, x),
                               rtol=1e-5, atol=1e-5)
    # ... and the original module is unchanged.
    np.testing.assert_allclose(np.asarray(module(x)), expected, rtol=1e-6)


def test_nnx_clone_is_independent():
    module = to_flax(_mlp())
    x, _ = _data()
    clone = nnx.clone(module)
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(module(x)), rtol=1e-6)
    clone.out.bias[...] = clone.out.bias[...] + 1.0
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(module(x)) + 1.0, rtol=1e-5,
                               atol=1e-5)


# --- mixing with native nnx modules, both directions --------------------------------------------

class _Mixed(nnx.Module):
    """nnx.Conv -> to_flax(Conv1D + pooling + Dense) -> nnx.Linear."""

    def __init__(self, rngs):
        self.proj = nnx.Conv(3, 4, kernel_size=(3,), padding="SAME", rngs=rngs)
        with ops.backend_scope("numpy"):
            body = uk.Sequential([uk.Input((5, 4)), uk.layers.Conv1D(6, 2, name="body_conv"),
                                  uk.layers.GlobalAveragePooling1D(),
                                  uk.layers.Dense(8, activation="tanh", name="body_dense")])
        self.body = to_flax(body)
        self.head = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.head(self.body(nnx.relu(self.proj(x))))


def test_to_flax_inside_nnx_module_between_nnx_conv_and_linear():
    net = _Mixed(nnx.Rngs(0))
    paths = {path for path, _ in nnx.to_flat_state(nnx.state(net, nnx.Param))}
    assert {("proj", "kernel"), ("body", "body_conv", "kernel"), ("body", "body_dense", "bias"),
            ("head", "kernel")} <= paths
    x = np.random.default_rng(1).normal(size=(32, 5, 3)).astype("float32")
    x, y = jnp.asarray(x), jnp.asarray(np.sin(x.sum(axis=(1, 2)))[:, None])
    opt = nnx.Optimizer(net, optax.adam(2e-2), wrt=nnx.Param)

    @nnx.jit
    def step(net, opt, x, y):
        loss, grads = nnx.value_and_grad(_mse)(net, x, y)
        opt.update(net, grads)
        return loss, grads

    before = np.asarray(net.body.body_dense.kernel[...]).copy()
    first, grads = step(net, opt, x, y)
    assert float(jnp.abs(grads["body"]["body_conv"]["kernel"][...]).sum()) > 0
    assert float(jnp.abs(grads["proj"]["kernel"][...]).sum()) > 0  # flows through the host
    for _ in range(25):
        last, _ = step(net, opt, x, y)
    assert float(last) < 0.5 * float(first), (float(first), float(last))
    assert not np.allclose(np.asarray(net.body.body_dense.kernel[...]), before)


def test_nnx_modules_inside_to_flax_through_flax_layer():
    """The other nesting: nnx.Conv / nnx.Linear wrapped by FlaxLayer in a unikeras model,
    the whole model materialized by to_flax and differentiated by nnx."""
    rngs = nnx.Rngs(0)
    conv, linear = nnx.Conv(2, 4, kernel_size=(3,), rngs=rngs), nnx.Linear(24, 1, rngs=rngs)
    with ops.backend_scope("jax"):
        inputs = uk.Input((6, 2))
        h = uk.layers.Flatten()(FlaxLayer(conv, name="conv")(inputs))
        model = uk.Model(inputs, FlaxLayer(linear, name="linear")(h))
    module = to_flax(model)
    x = np.random.default_rng(2).normal(size=(3, 6, 2)).astype("float32")

    @nnx.jit
    def forward_and_grads(m, x):
        return m(x), nnx.grad(lambda m: jnp.sum(m(x)))(m)

    out, grads = forward_and_grads(module, jnp.asarray(x))
    # NumPy: nnx.Conv (padding SAME, kernel (3, in, out)), flatten, nnx.Linear.
    k, padded = np.asarray(conv.kernel[...]), np.pad(x, ((0, 0), (1, 1), (0, 0)))
    h = sum(padded[:, i:i + 6] @ k[i] for i in range(3)) + np.asarray(conv.bias[...])
    h = h.reshape(3, -1)
    expected = h @ np.asarray(linear.kernel[...]) + np.asarray(linear.bias[...])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)
    # d sum(linear(h)) / d linear.bias = batch size; d / d kernel = sum of h over the batch.
    np.testing.assert_allclose(np.asarray(grads["linear"]["bias"][...]), [3.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(grads["linear"]["kernel"][...]), h.sum(0)[:, None],
                               rtol=1e-5, atol=1e-5)


# --- train / eval, seed state -----------------------------------------------------------------

def test_eval_disables_dropout_and_explicit_training_wins():
    with ops.backend_scope("jax"):
        model = uk.Sequential([uk.Input((64,)), uk.layers.Dropout(0.5, seed=1, name="drop")])
    module = to_flax(model)
    x = jnp.ones((4, 64))
    module.train()
    a, b = module(x), module(x)
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    assert set(np.unique(np.asarray(a)).tolist()) == {0.0, 2.0}
    module.eval()
    np.testing.assert_array_equal(np.asarray(module(x)), np.asarray(x))
    # The explicit call argument wins over the mode, as with nnx.Dropout(deterministic=...).
    assert not np.array_equal(np.asarray(module(x, training=True)), np.asarray(x))
    # Like nnx.Dropout, a weightless layer materializes without an input shape.
    bare = to_flax(uk.layers.Dropout(0.5, seed=1))
    assert set(np.unique(np.asarray(bare(x))).tolist()) == {0.0, 2.0}
    bare.eval()
    np.testing.assert_array_equal(np.asarray(bare(x)), np.asarray(x))


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
    ref = _mlp_reference(net.inner.get_weights(), x)
    np.testing.assert_allclose(np.asarray(net(x)), ref, rtol=1e-5, atol=1e-6)
    net.train()
    assert not np.allclose(np.asarray(net(x)), ref)


def test_seed_state_advances_under_nnx_jit():
    module = to_flax(_mlp(dropout=0.5, seed=4))
    x, _ = _data()
    forward = nnx.jit(lambda module, x: module(x))
    start = np.asarray(module.drop.seed_generator_state[...]).copy()
    a = forward(module, x)
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]), start + [0, 1])
    b = forward(module, x)
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]), start + [0, 2])
    assert not np.allclose(np.asarray(a), np.asarray(b))  # a fresh mask each step
    module.eval()
    forward(module, x)
    np.testing.assert_array_equal(np.asarray(module.drop.seed_generator_state[...]), start + [0, 2])


# --- functional: vmap, ensembles, assigning back ------------------------------------------------

def test_functional_vmap_over_inputs_params_and_seeds():
    models = [_mlp(hidden=5, dropout=0.5, seed=i) for i in range(2)]
    (first, apply), (second, _) = functional(models[0]), functional(models[1])
    assert set(first["state"]) == {"drop/seed_generator_state"}
    x, _ = _data(8)

    @jax.jit
    def run(stacked, single, seeds, x):
        per_example = jax.vmap(lambda xi: apply(single, xi[None])[0][0])(x)  # inference
        ensemble = jax.vmap(lambda v: apply(v, x)[0])(stacked)
        dropped = jax.vmap(lambda s: apply({"params": single["params"],
                                            "state": {"drop/seed_generator_state": s}},
                                           x, training=True))(seeds)
        return per_example, ensemble, dropped

    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), first, second)
    seeds = jnp.asarray([[7, 0], [7, 0], [8, 0]], "int32")
    per_example, ensemble, (dropped, new_states) = run(stacked, first, seeds, x)
    np.testing.assert_allclose(np.asarray(per_example), _mlp_reference(models[0].get_weights(), x),
                               rtol=1e-5, atol=1e-6)
    for i, model in enumerate(models):
        np.testing.assert_allclose(np.asarray(ensemble[i]), _mlp_reference(model.get_weights(), x),
                                   rtol=1e-5, atol=1e-6)
    # The seed state picks the dropout mask, and comes back advanced by one draw.
    dropped = np.asarray(dropped)
    np.testing.assert_array_equal(dropped[0], dropped[1])
    assert not np.allclose(dropped[0], dropped[2])
    np.testing.assert_array_equal(np.asarray(new_states["drop/seed_generator_state"]),
                                  np.asarray(seeds) + [0, 1])
    # Variables trained outside go back into the model.
    doubled = {"params": jax.tree.map(lambda a: 2 * a, first["params"]), "state": first["state"]}
    assign_variables(models[0], doubled)
    np.testing.assert_allclose(models[0].get_weights()[0],
                               2 * np.asarray(first["params"]["dense/kernel"]))
    with pytest.raises(ValueError, match="variables"):
        apply({"params": {}, "state": {}}, x)


# --- FlaxLayer / JaxLayer: flax and jax inside unikeras models ---------------------------------

class _NnxNet(nnx.Module):
    def __init__(self, rngs):
        self.lin = nnx.Linear(3, 8, rngs=rngs)
        self.bn = nnx.BatchNorm(8, rngs=rngs)
        self.drop = nnx.Dropout(0.2, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(self.drop(nnx.relu(self.bn(self.lin(x)))))


class _LinenNet(linen.Module):
    @linen.compact
    def __call__(self, inputs, training=False):
        h = linen.BatchNorm(use_running_average=not training)(linen.Dense(4)(inputs))
        h = linen.Dropout(0.3, deterministic=not training)(h)
        return linen.Dense(1)(h)


def _linear_call(params, inputs):
    return inputs @ params["w"] + params["b"]


@pytest.fixture(scope="module")
def wrapped():
    uk.utils.set_random_seed(0)   # the linen init and the batch order, whatever ran before
    net = _NnxNet(nnx.Rngs(0))
    initial = {"lin.kernel": np.asarray(net.lin.kernel[...]).copy(),
               "count": int(net.drop.rngs.count[...])}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    with ops.backend_scope("jax"):
        inputs = uk.Input((3,))
        a = FlaxLayer(net, name="nnx_part")(inputs)
        b = FlaxLayer(_LinenNet(), name="linen_part")(inputs)
        c = JaxLayer(_linear_call, params={"w": jnp.full((3, 1), 0.1), "b": jnp.zeros((1,))},
                     name="jax_part")(inputs)
        model = uk.Model(inputs, uk.layers.Add()([a, b, c]))
        before = {w.path: w.numpy() for w in model.variables}
        model.compile(optimizer=uk.optimizers.Adam(0.05), loss="mse")   # 16 steps: a clear fall
        history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    return dict(net=net, initial=initial, model=model, x=x, before=before,
                losses=history.history["loss"])


def test_flax_and_jax_layers_train_inside_fit(wrapped):
    model, before = wrapped["model"], wrapped["before"]
    kinds = {w.path: w.trainable for w in model.weights}
    assert kinds["nnx_part/lin.kernel"] and kinds["linen_part/Dense_0.kernel"]
    assert kinds["jax_part/w"]
    assert not kinds["nnx_part/bn.mean"] and not kinds["linen_part/batch_stats.BatchNorm_0.var"]
    losses = wrapped["losses"]
    assert losses[-1] < 0.9 * losses[0], losses
    after = {w.path: w.numpy() for w in model.variables}
    for path in ("nnx_part/lin.kernel", "nnx_part/bn.mean", "linen_part/Dense_1.kernel",
                 "linen_part/batch_stats.BatchNorm_0.mean", "jax_part/w"):
        assert not np.allclose(after[path], before[path]), path
    # 4 batches x 4 epochs: the nnx Dropout's Rngs stream counted every training call.
    assert int(after["nnx_part/drop.rngs.count"]) == \
        wrapped["initial"]["count"] + 16


def test_flax_layer_syncs_the_nnx_module_and_predicts_like_it(wrapped):
    model, net, x = wrapped["model"], wrapped["net"], wrapped["x"]
    layer = model.get_layer("nnx_part")
    np.testing.assert_array_equal(np.asarray(net.lin.kernel[...]),
                                  wrapped["initial"]["lin.kernel"])  # untouched until synced
    assert layer.sync_module() is net
    trained = {w.path: w.numpy() for w in layer.variables}
    np.testing.assert_array_equal(np.asarray(net.lin.kernel[...]), trained["nnx_part/lin.kernel"])
    np.testing.assert_array_equal(np.asarray(net.bn.mean[...]), trained["nnx_part/bn.mean"])
    # predict (training=False) = the synced nnx module in eval mode + linen apply + x @ w + b.
    linen_layer, jax_layer = model.get_layer("linen_part"), model.get_layer("jax_part")
    lv = {w.path.split("/", 1)[1]: w.numpy() for w in linen_layer.weights}
    variables = {"params": {"Dense_0": {"kernel": lv["Dense_0.kernel"], "bias": lv["Dense_0.bias"]},
                            "BatchNorm_0": {"scale": lv["BatchNorm_0.scale"],
                                            "bias": lv["BatchNorm_0.bias"]},
                            "Dense_1": {"kernel": lv["Dense_1.kernel"],
                                        "bias": lv["Dense_1.bias"]}},
                 "batch_stats": {"BatchNorm_0": {"mean": lv["batch_stats.BatchNorm_0.mean"],
                                                 "var": lv["batch_stats.BatchNorm_0.var"]}}}
    jw = {w.path: w.numpy() for w in jax_layer.weights}
    net.eval()
    expected = (np.asarray(net(x)) + np.asarray(_LinenNet().apply(variables, x, training=False))
                + x @ jw["jax_part/w"] + jw["jax_part/b"])
    net.train()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_jax_layer_init_fn_state_rng_and_training():
    def init_fn(rng, inputs):
        params = {"w": jax.random.normal(rng, (inputs.shape[-1], 2))}
        return params, {"calls": jnp.zeros((), "int32")}

    def call_fn(params, state, rng, inputs, training):
        out = inputs @ params["w"]
        if training:
            out = out * jax.random.bernoulli(rng, 0.5, out.shape)
        return out, {"calls": state["calls"] + 1}

    with ops.backend_scope("jax"):
        layer = JaxLayer(call_fn, init_fn=init_fn, seed=3)
        symbolic = layer(uk.Input((4,)))
    assert symbolic.shape == (None, 2)
    assert [w.trainable for w in layer.weights] == [True, False]
    assert layer.weights[0].shape == (4, 2)
    x = jnp.ones((64, 4))
    w = layer.weights[0].numpy()
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), np.ones((64, 4)) @ w,
                               rtol=1e-5)
    a, b = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert not np.array_equal(a, b)  # a fresh rng per call
    assert set(np.unique(a == 0).tolist()) == {True, False}
    assert int(layer.weights[1].numpy()) == 3


def test_wrapped_layers_refuse_other_backends_and_never_pickle_modules():
    net = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    with ops.backend_scope("numpy"):
        with pytest.raises(ValueError, match="jax backend"):
            FlaxLayer(net)
        with pytest.raises(ValueError, match="jax backend"):
            JaxLayer(_linear_call, init_fn=lambda rng, inputs: {})(uk.Input((3,)))
    with ops.backend_scope("jax"):
        layer = FlaxLayer(net, name="wrapped")
    config = layer.get_config()
    json.dumps(config)  # plain data: the module is named, not stored
    assert config["module"] == {"module": "flax.nnx.nn.linear", "class_name": "Linear"}
    with pytest.raises(ValueError, match="custom_objects"):
        FlaxLayer.from_config(config)
    with ops.backend_scope("jax"):
        rebuilt = FlaxLayer.from_config(config, custom_objects={"Linear": net})
    assert rebuilt.name == "wrapped" and [w.shape for w in rebuilt.weights] == [(2,), (3, 2)]
    with ops.backend_scope("jax"):
        with pytest.raises(ValueError, match="registered name"):
            JaxLayer(lambda params, inputs: inputs, params={}).get_config()
        with pytest.raises(ValueError, match="`params`"):
            JaxLayer(lambda weights, inputs: inputs, params={})
