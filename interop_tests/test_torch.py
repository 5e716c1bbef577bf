"""unikeras and PyTorch, both ways, used the way a PyTorch user writes PyTorch code.

- `to_torch(model)` is a genuine `nn.Module`: inside `nn.Sequential`, trained by
  `torch.optim` (or a unikeras optimizer), `state_dict` / `load_state_dict(strict=True)`,
  `named_parameters` / `named_buffers` / `children`, `.to(dtype)` / `.to(device)`,
  `train()` / `eval()` driving Dropout and BatchNormalization statistics, forward and full
  backward hooks, `torch.func.functional_call` (gradients equal to plain backward and to
  `jax.grad` of the same model on the jax backend), `torch.compile(fullgraph=True)` with no
  graph break, `torch.export` with a dynamic batch, DistributedDataParallel over gloo.
- `TorchModuleWrapper(module)` puts any `nn.Module` inside a unikeras model trained by `fit`.

The catalog model (every layer family, `catalog_model.py`) carries the big cases; small
models check the details. Compiles and exports dominate the cost, so each is done once.
"""
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import unikeras as uk  # noqa: E402
from unikeras.adapters.torch_nn import to_torch  # noqa: E402

from catalog_model import (CLASSES, TIME, VOCAB, build_catalog_model,  # noqa: E402
                           sample_tokens)

def _regression_data(n=128, d=5):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, 1, generator=g)
    y = x @ w + 0.3 * torch.tanh(x[:, :1])
    return x, y


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 5),
        to_torch(uk.layers.Dense(8, name="uk_dense"), input_shape=(None, 5)),
        nn.ReLU(),
        nn.Linear(8, 1),
    )


# --- (a) drop-in inside nn.Sequential, trained by torch.optim ------------------------------------

def test_dense_inside_nn_sequential_trains_with_adam():
    net = _net()
    x, y = _regression_data()
    opt = torch.optim.Adam(net.parameters(), lr=3e-2)
    uk_module = net[1]
    kernel_before = uk_module.kernel.detach().clone()

    # The unikeras parameters are among those torch.optim sees.
    param_ids = {id(p) for p in net.parameters()}
    assert id(uk_module.kernel) in param_ids and id(uk_module.bias) in param_ids
    assert sum(p.numel() for p in net.parameters()) == (5 * 5 + 5) + (5 * 8 + 8) + (8 + 1)

    loss_fn = nn.MSELoss()
    with torch.no_grad():
        first = loss_fn(net(x), y).item()
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = loss_fn(net(x), y).item()
    assert np.isfinite(last)
    assert last < first / 10, (first, last)
    # The unikeras kernel received gradients and moved.
    assert uk_module.kernel.grad is not None
    assert not torch.allclose(uk_module.kernel.detach(), kernel_before)
    # And the unikeras layer sees the trained values (its weights live in the module).
    np.testing.assert_allclose(uk_module.layer.get_weights()[0], uk_module.kernel.detach().numpy())


def test_unikeras_optimizer_drives_a_to_torch_module_in_a_plain_loop():
    """A PyTorch loop (backward, then step) where the step is a unikeras optimizer updating
    the module's own parameters in place; the same net in torch.nn with torch.optim.SGD is
    the reference (the two momentum formulas are equal for a constant learning rate)."""
    x, y = _regression_data()
    with uk.ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((5,)), uk.layers.Dense(8, activation="relu"),
                               uk.layers.Dense(1)])
    module = to_torch(model)
    twin = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
    k1, b1, k2, b2 = model.get_weights()
    with torch.no_grad():
        for layer, k, b in ((twin[0], k1, b1), (twin[2], k2, b2)):
            layer.weight.copy_(torch.from_numpy(k.T))
            layer.bias.copy_(torch.from_numpy(b))
    reference_opt = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
    uk_opt = uk.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    variables = model.trainable_variables
    params = list(module.parameters())
    assert all(v.value is p for v, p in zip(variables, params)), "the Variables are the Parameters"
    for _ in range(20):
        for net in (twin, module):
            net.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
        reference_opt.step()
        uk_opt.apply_gradients(zip([p.grad for p in params], variables))
    for (name, p), ref in zip(module.named_parameters(), (twin[0].weight.T, twin[0].bias,
                                                          twin[2].weight.T, twin[2].bias)):
        np.testing.assert_allclose(p.detach().numpy(), ref.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=name)
    assert int(uk_opt.iterations.numpy()) == 20


def test_state_dict_keys_and_keras_layout():
    net = _net()
    sd = net.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.kernel", "1.bias", "3.weight", "3.bias"]
    # Keras layout: Dense kernel is (in, out); torch Linear weight is (out, in).
    assert tuple(sd["1.kernel"].shape) == (5, 8)
    assert tuple(sd["1.bias"].shape) == (8,)
    assert tuple(sd["0.weight"].shape) == (5, 5)
    # The forward math is x @ kernel + bias with that layout.
    x = torch.randn(3, 5)
    expected = x @ sd["1.kernel"] + sd["1.bias"]
    torch.testing.assert_close(net[1](x), expected)
    # get_weights gives the same arrays, in Keras order.
    kernel, bias = net[1].get_weights()
    np.testing.assert_array_equal(kernel, sd["1.kernel"].numpy())
    np.testing.assert_array_equal(bias, sd["1.bias"].numpy())


def test_load_state_dict_round_trip():
    src, dst = _net(seed=0), _net(seed=1)
    x = torch.randn(7, 5)
    assert not torch.allclose(src(x), dst(x))
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=True)
    assert not missing and not unexpected
    torch.testing.assert_close(dst(x), src(x))
    np.testing.assert_array_equal(dst[1].get_weights()[0], src[1].get_weights()[0])

    # Round trip through a saved file (what torch.save/torch.load users do).
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    with torch.no_grad():
        for p in src.parameters():
            p.add_(1.0)
    assert not torch.allclose(src(x), dst(x))
    src.load_state_dict(sd)
    torch.testing.assert_close(src(x), dst(x))


def test_load_state_dict_rejects_wrong_shape():
    net = _net()
    sd = net.state_dict()
    sd["1.kernel"] = torch.zeros(8, 5)  # torch-style (out, in) layout is wrong here
    with pytest.raises(RuntimeError, match="1.kernel|kernel"):
        net.load_state_dict(sd)


# --- (b) torch.func.functional_call uses the swapped tensors --------------------------------------

def _dense_model(units=3, in_dim=4, activation=None):
    model = uk.Sequential([uk.Input((in_dim,)), uk.layers.Dense(units, activation=activation,
                                                                 name="dense")])
    return to_torch(model)


def test_functional_call_zero_kernel_gives_bias_only():
    module = _dense_model()
    assert sorted(dict(module.named_parameters())) == ["dense.bias", "dense.kernel"]
    x = torch.randn(6, 4)
    kernel = torch.zeros(4, 3, requires_grad=True)
    bias = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    out = torch.func.functional_call(module, {"dense.kernel": kernel, "dense.bias": bias}, (x,))
    torch.testing.assert_close(out.detach(), bias.detach().expand(6, 3))
    # d/dK sum(out * w) = x^T w and d/db = sum_rows(w): the swapped tensors are in the graph.
    w = torch.randn(6, 3)
    gk, gb = torch.autograd.grad((out * w).sum(), (kernel, bias))
    torch.testing.assert_close(gk, x.T @ w)
    torch.testing.assert_close(gb, w.sum(0))
    # The module's own parameters are untouched and used again afterwards.
    own = module.dense.kernel.detach()
    assert own.abs().sum() > 0
    torch.testing.assert_close(module(x), x @ own + module.dense.bias.detach())


def test_functional_call_gradients_flow_to_swapped_tensors():
    module = _dense_model(activation="tanh")
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 4, generator=g)
    target = torch.randn(6, 3, generator=g)
    kernel = torch.randn(4, 3, generator=g, requires_grad=True)
    bias = torch.randn(3, generator=g, requires_grad=True)

    out = torch.func.functional_call(module, {"dense.kernel": kernel, "dense.bias": bias}, (x,))
    loss = ((out - target) ** 2).sum()
    gk, gb = torch.autograd.grad(loss, (kernel, bias))

    # Hand computation: out = tanh(x K + b); dL/dz = 2 (out - t) (1 - out^2).
    with torch.no_grad():
        z = x @ kernel + bias
        o = torch.tanh(z)
        torch.testing.assert_close(out.detach(), o)
        dz = 2 * (o - target) * (1 - o ** 2)
        torch.testing.assert_close(gk, x.T @ dz)
        torch.testing.assert_close(gb, dz.sum(0))
    assert gk.abs().sum() > 0
    # The real Parameters were not part of the graph.
    assert module.dense.kernel.grad is None and module.dense.bias.grad is None


def test_torch_func_grad_over_parameters_dict():
    module = _dense_model()
    x = torch.randn(5, 4)
    params = {k: v.detach() for k, v in module.named_parameters()}

    def loss_fn(p):
        return torch.func.functional_call(module, p, (x,)).sum()

    grads = torch.func.grad(loss_fn)(params)
    torch.testing.assert_close(grads["dense.kernel"], x.sum(0)[:, None].expand(4, 3))
    torch.testing.assert_close(grads["dense.bias"], torch.full((3,), 5.0))


# --- (c) train() / eval() toggle Dropout ----------------------------------------------------------

def test_train_eval_toggle_dropout():
    drop = to_torch(uk.layers.Dropout(0.5, seed=7))
    x = torch.ones(16, 32)
    assert drop.training  # torch default
    a, b = drop(x), drop(x)
    assert not torch.equal(a, b)
    for out in (a, b):
        values = set(torch.unique(out).tolist())
        assert values <= {0.0, 2.0} and values == {0.0, 2.0}
    drop.eval()
    torch.testing.assert_close(drop(x), x)
    drop.train()
    assert not torch.equal(drop(x), x)


def test_train_eval_propagates_from_parent_container():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 64), to_torch(uk.layers.Dropout(0.5)), nn.Linear(64, 2))
    x = torch.randn(8, 4)
    net.train()
    assert not torch.equal(net(x), net(x))
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    torch.testing.assert_close(net(x), net[2](net[0](x)))


def test_model_with_dropout_follows_module_mode():
    model = uk.Sequential([uk.Input((10,)), uk.layers.Dense(64, name="hidden"),
                           uk.layers.Dropout(0.5, name="drop"), uk.layers.Dense(1, name="out")])
    module = to_torch(model)
    x = torch.randn(4, 10)
    module.eval()
    ref = module(x)
    torch.testing.assert_close(module(x), ref)
    w = {k: v.detach() for k, v in module.named_parameters()}
    expected = (x @ w["hidden.kernel"] + w["hidden.bias"]) @ w["out.kernel"] + w["out.bias"]
    torch.testing.assert_close(ref, expected)
    module.train()
    assert not torch.allclose(module(x), ref)


# --- (d) seed state: non-persistent buffers advancing per training call ---------------------------

def test_seed_state_buffer_non_persistent_and_advances():
    model = uk.Sequential([uk.Input((8,)), uk.layers.Dense(8, name="dense"),
                           uk.layers.Dropout(0.5, seed=11, name="drop")])
    module = to_torch(model)
    buffers = dict(module.named_buffers())
    assert list(buffers) == ["drop.seed_generator_state"]
    assert "drop.seed_generator_state" not in module.state_dict()
    assert sorted(module.state_dict()) == ["dense.bias", "dense.kernel"]
    state = module.drop.seed_generator_state
    assert state.dtype == torch.int32 and tuple(state.shape) == (2,)

    start = state.clone()
    x = torch.randn(3, 8)
    module.train()
    module(x)
    np.testing.assert_array_equal(module.drop.seed_generator_state.numpy(),
                                  (start + torch.tensor([0, 1], dtype=torch.int32)).numpy())
    module(x)
    np.testing.assert_array_equal(module.drop.seed_generator_state.numpy(),
                                  (start + torch.tensor([0, 2], dtype=torch.int32)).numpy())
    module.eval()
    module(x)
    np.testing.assert_array_equal(module.drop.seed_generator_state.numpy(),
                                  (start + torch.tensor([0, 2], dtype=torch.int32)).numpy())
    # A state_dict round trip neither needs nor resets the seed state.
    module.load_state_dict(module.state_dict(), strict=True)
    assert module.drop.seed_generator_state[1].item() == 2


def test_same_seed_state_gives_same_mask():
    module = to_torch(uk.layers.Dropout(0.5, seed=5))
    x = torch.ones(4, 50)
    module(x)  # materialized by now, whether or not Dropout is built at construction
    start = module.seed_generator_state.clone()
    first = module(x)
    with torch.no_grad():
        module.seed_generator_state.copy_(start)
    torch.testing.assert_close(module(x), first)


# --- (e) lazy materialization -----------------------------------------------------------------

def test_unbuilt_layer_materializes_on_first_forward():
    layer = uk.layers.Dense(4, name="lazy_dense")
    module = to_torch(layer)
    assert list(module.parameters()) == []
    assert not layer.built
    x = torch.randn(2, 6)
    out = module(x)
    assert layer.built
    params = dict(module.named_parameters())
    assert sorted(params) == ["bias", "kernel"]
    assert tuple(params["kernel"].shape) == (6, 4)
    assert tuple(out.shape) == (2, 4)
    torch.testing.assert_close(out, x @ params["kernel"] + params["bias"])
    # Parameters exist now: a torch optimizer created after the first call trains them.
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    before = params["kernel"].detach().clone()
    module(x).pow(2).sum().backward()
    opt.step()
    assert not torch.allclose(module.kernel.detach(), before)
    assert sorted(module.state_dict()) == ["bias", "kernel"]


def test_lazy_layer_inside_nn_sequential():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 7), to_torch(uk.layers.Dense(2)))
    x = torch.randn(5, 3)
    y = net(x)
    assert tuple(y.shape) == (5, 2)
    assert tuple(net.state_dict()["1.kernel"].shape) == (7, 2)


def test_deepcopy_gives_an_independent_module():
    """`copy.deepcopy` (EMA / target networks) copies parameters; the copy trains alone."""
    import copy
    module = _dense_model()
    x = torch.randn(4, 4)
    clone = copy.deepcopy(module)
    torch.testing.assert_close(clone(x), module(x))
    assert clone.dense.kernel.data_ptr() != module.dense.kernel.data_ptr()
    opt = torch.optim.SGD(clone.parameters(), lr=0.5)
    clone(x).sum().backward()
    opt.step()
    assert not torch.allclose(clone(x), module(x))
    torch.testing.assert_close(module(x), x @ module.dense.kernel + module.dense.bias)


def test_weightless_layer_needs_no_input_shape():
    """Like Keras (and nn.Dropout), a Dropout is ready at construction: its seed state is
    a registered buffer before any call, so `.to()` / `named_buffers()` see it."""
    module = to_torch(uk.layers.Dropout(0.5, seed=3))
    assert [name for name, _ in module.named_buffers()] == ["seed_generator_state"]
    assert list(module.state_dict()) == []


# --- the catalog model as an nn.Module ------------------------------------------------------------

CATALOG_PARAMS = [
    "embed.embeddings", "conv.kernel", "conv.bias", "bn.gamma", "bn.beta",
    "lstm.lstm_cell.kernel", "lstm.lstm_cell.recurrent_kernel", "lstm.lstm_cell.bias",
    "mha.query.kernel", "mha.query.bias", "mha.key.kernel", "mha.key.bias",
    "mha.value.kernel", "mha.value.bias", "mha.attention_output.kernel",
    "mha.attention_output.bias", "ln.gamma", "ln.beta", "head.kernel", "head.bias"]
CATALOG_STATS = ["bn.moving_mean", "bn.moving_variance"]
CATALOG_SEED = "drop.seed_generator_state"
BN_MOMENTUM = 0.99  # BatchNormalization's default


def _catalog(seed=0, time=TIME):
    return to_torch(build_catalog_model("torch", seed=seed, time=time))


def _tokens(batch, seed=0, time=TIME):
    return torch.from_numpy(sample_tokens(batch, seed=seed, time=time))


def test_catalog_module_tree_and_strict_state_dict_round_trip():
    src, dst = _catalog(seed=0), _catalog(seed=1)
    assert [n for n, _ in src.named_parameters()] == CATALOG_PARAMS
    assert [n for n, _ in src.named_buffers()] == CATALOG_STATS + [CATALOG_SEED]
    assert [n for n, _ in src.named_children()] == ["embed", "conv", "bn", "lstm", "mha", "ln",
                                                    "drop", "head"]
    assert [n for n, _ in src.mha.named_children()] == ["query", "key", "value",
                                                        "attention_output"]
    assert isinstance(src.bn.gamma, nn.Parameter) and not isinstance(src.bn.moving_mean,
                                                                      nn.Parameter)
    # state_dict: every weight (not the seed state), in Keras weight order, Keras layouts.
    sd = src.state_dict()
    assert list(sd) == ["embed.embeddings", "conv.kernel", "conv.bias", "bn.gamma", "bn.beta",
                        *CATALOG_STATS] + CATALOG_PARAMS[5:]
    assert tuple(sd["conv.kernel"].shape) == (3, 8, 8) and tuple(sd["head.kernel"].shape) == (8, 3)
    for array, tensor in zip(src.layer.get_weights(), sd.values(), strict=True):
        np.testing.assert_array_equal(array, tensor.numpy())

    x = _tokens(5)
    src.eval(), dst.eval()
    assert not torch.allclose(src(x), dst(x))
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=True)
    assert not missing and not unexpected
    torch.testing.assert_close(dst(x), src(x), rtol=0, atol=0)
    for a, b in zip(dst.layer.get_weights(), src.layer.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the unikeras model holds the loaded weights

    incomplete = {k: v for k, v in sd.items() if k != "bn.moving_mean"}
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*bn\.moving_mean"):
        dst.load_state_dict(incomplete, strict=True)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\).*head\.extra"):
        dst.load_state_dict({**sd, "head.extra": torch.zeros(1)}, strict=True)


def test_catalog_to_float64_and_to_device():
    module = _catalog().eval()
    x = _tokens(4)
    out32 = module(x)
    assert module.to(torch.float64) is module
    assert {p.dtype for p in module.parameters()} == {torch.float64}
    assert module.bn.moving_mean.dtype == torch.float64
    assert module.drop.seed_generator_state.dtype == torch.int32  # integer state unchanged
    # The unikeras model shares the converted tensors.
    assert all(w.dtype == np.float64 for w in module.layer.get_weights())
    out64 = module(x)
    assert out64.dtype == torch.float64
    torch.testing.assert_close(out64.float(), out32, rtol=1e-4, atol=1e-6)

    floatx = uk.config.floatx()
    uk.config.set_floatx("float64")
    try:
        reference = build_catalog_model("torch")
    finally:
        uk.config.set_floatx(floatx)
    reference.set_weights(module.layer.get_weights())
    torch.testing.assert_close(out64, to_torch(reference).eval()(x), rtol=1e-12, atol=1e-12)

    # `.to(device)`: the meta device stands in for an accelerator here (no data, so any CPU
    # tensor made during the call would fail loudly): the forward runs on the input's device.
    module.to("meta")
    assert module.layer.weights[0].value.device.type == "meta"
    out = module(x.to("meta"))
    assert out.device.type == "meta" and tuple(out.shape) == (4, CLASSES)
    assert out.dtype == torch.float64


def _conv_block_numpy(weights, tokens):
    """Embedding -> Conv1D(3, 'same') -> relu in NumPy: the BatchNormalization's input."""
    h = weights["embed.embeddings"][tokens]
    kernel, bias = weights["conv.kernel"], weights["conv.bias"]
    padded = np.pad(h, ((0, 0), (1, 1), (0, 0)))
    steps = h.shape[1]
    conv = sum(padded[:, k:k + steps] @ kernel[k] for k in range(kernel.shape[0])) + bias
    return np.maximum(conv, 0.0)


def test_catalog_train_eval_drive_dropout_and_batchnorm_statistics():
    module = _catalog()
    x = _tokens(8)
    weights = {k: v.numpy().copy() for k, v in module.state_dict().items()}
    bn_input = _conv_block_numpy(weights, x.numpy())
    mean, var = bn_input.mean(axis=(0, 1)), bn_input.var(axis=(0, 1))
    seed0 = module.drop.seed_generator_state.clone()

    module.eval()
    first = module(x)
    torch.testing.assert_close(module(x), first, rtol=0, atol=0)
    np.testing.assert_array_equal(module.bn.moving_mean.numpy(), np.zeros(8, np.float32))
    np.testing.assert_array_equal(module.bn.moving_variance.numpy(), np.ones(8, np.float32))
    assert torch.equal(module.drop.seed_generator_state, seed0)

    module.train()
    a = module(x)
    expected_mean = (1 - BN_MOMENTUM) * mean
    expected_var = BN_MOMENTUM + (1 - BN_MOMENTUM) * var
    np.testing.assert_allclose(module.bn.moving_mean.numpy(), expected_mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(module.bn.moving_variance.numpy(), expected_var, rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_array_equal(module.drop.seed_generator_state.numpy(), seed0.numpy() + [0, 1])
    b = module(x)
    assert not torch.allclose(a, b)  # a new dropout mask
    np.testing.assert_allclose(module.bn.moving_mean.numpy(),
                               BN_MOMENTUM * expected_mean + (1 - BN_MOMENTUM) * mean,
                               rtol=1e-5, atol=1e-7)
    # The unikeras layer sees the statistics the module's calls wrote.
    np.testing.assert_array_equal(module.layer.get_layer("bn").moving_mean.numpy(),
                                  module.bn.moving_mean.numpy())

    module.eval()
    stats = module.bn.moving_mean.clone()
    c = module(x)
    torch.testing.assert_close(module(x), c, rtol=0, atol=0)
    assert not torch.allclose(c, first)  # the new moving statistics are in use
    assert torch.equal(module.bn.moving_mean, stats)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing when gradients are computed "
                            "with respect to module outputs")  # token ids: no input gradient
def test_forward_and_full_backward_hooks_fire_with_the_right_tensors():
    """Hooks on the unikeras module, alone and as a child of a native container. (Its own
    children only hold the sublayers' weights, like nn.ParameterDict: they are never called,
    so hooks on them would not fire.)"""
    torch.manual_seed(0)
    uk_module = _catalog().eval()
    linear = nn.Linear(CLASSES, 2)
    net = nn.Sequential(uk_module, linear)
    x = _tokens(4)
    w = torch.randn(4, 2)
    with torch.no_grad():
        expected_out = uk_module(x)

    seen = {}

    def forward_hook(name):
        def hook(mod, inputs, output):
            seen[name] = (inputs, output.detach().clone())
        return hook

    def backward_hook(name):
        def hook(mod, grad_input, grad_output):
            seen[name + "/grad"] = (grad_input, grad_output)
        return hook
    handles = [m.register_forward_hook(forward_hook(n)) for n, m in (("uk", uk_module),
                                                                       ("linear", linear))]
    handles += [m.register_full_backward_hook(backward_hook(n))
                for n, m in (("uk", uk_module), ("linear", linear))]
    (net(x) * w).sum().backward()

    inputs, out = seen["uk"]
    assert len(inputs) == 1 and torch.equal(inputs[0], x)
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-7)  # no_grad kernels
    assert torch.equal(seen["linear"][0][0].detach(), out)
    dy = w @ linear.weight.detach()  # d loss / d (unikeras output)
    grad_input, grad_output = seen["uk/grad"]
    torch.testing.assert_close(grad_output[0], dy)
    assert grad_input == (None,)  # token ids carry no gradient
    grad_input, grad_output = seen["linear/grad"]
    torch.testing.assert_close(grad_output[0], w)
    torch.testing.assert_close(grad_input[0], dy)
    assert uk_module.head.kernel.grad is not None
    for h in handles:
        h.remove()
    seen.clear()
    net(x)
    assert not seen

    # A float input: the full backward hook's grad_input is d loss / d x.
    dense = to_torch(uk.layers.Dense(3, name="dense"), input_shape=(None, 4))
    dense.register_full_backward_hook(backward_hook("dense"))
    dense.register_forward_hook(forward_hook("dense"))
    xf = torch.randn(5, 4, requires_grad=True)
    g = torch.randn(5, 3)
    (dense(xf) * g).sum().backward()
    kernel, bias = dense.kernel.detach(), dense.bias.detach()
    torch.testing.assert_close(seen["dense"][1], xf.detach() @ kernel + bias)
    grad_input, grad_output = seen["dense/grad"]
    torch.testing.assert_close(grad_output[0], g)
    torch.testing.assert_close(grad_input[0], g @ kernel.T)
    torch.testing.assert_close(xf.grad, g @ kernel.T)


def test_catalog_functional_call_gradients_equal_backward_and_jax_grad_of_functional():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    short = 4  # time steps (fewer ops to trace for jax.jit)
    module = _catalog(time=short).eval()
    x = _tokens(4, time=short)
    w = torch.from_numpy(np.random.default_rng(7).normal(size=(4, CLASSES)).astype("float32"))

    out = module(x)
    (out * w).sum().backward()
    backward = {n: p.grad.clone() for n, p in module.named_parameters()}
    assert all(g.abs().sum() > 0 for g in backward.values())

    params = {n: p.detach().clone().requires_grad_(True) for n, p in module.named_parameters()}
    out_f = torch.func.functional_call(module, params, (x,))
    torch.testing.assert_close(out_f, out)
    grads = torch.autograd.grad((out_f * w).sum(), list(params.values()))
    for name, g in zip(params, grads, strict=True):
        torch.testing.assert_close(g, backward[name], rtol=1e-6, atol=1e-7, msg=name)

    # The same model on jax, with the module's weights: jax.grad of its pure function.
    from unikeras.adapters.flax import functional
    jmodel = build_catalog_model("jax", time=short)
    jmodel.set_weights(module.get_weights())
    variables, apply = functional(jmodel)
    xj, wj = jnp.asarray(x.numpy()), jnp.asarray(w.numpy())

    def loss(params):
        y, _ = apply({"params": params, "state": variables["state"]}, xj, training=False)
        return jnp.sum(y * wj), y
    (_, yj), jgrads = jax.jit(jax.value_and_grad(loss, has_aux=True))(variables["params"])
    np.testing.assert_allclose(np.asarray(yj), out.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert sorted(k.replace("/", ".") for k in jgrads) == sorted(CATALOG_PARAMS)
    for path, g in jgrads.items():
        name = path.replace("/", ".")
        np.testing.assert_allclose(np.asarray(g), backward[name].numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


class _NativeHead(nn.Module):
    """A plain nn.Module holding a unikeras module between torch layers."""

    def __init__(self, uk_module):
        super().__init__()
        self.body = uk_module
        self.out = nn.Linear(CLASSES, 2)

    def forward(self, tokens):
        return self.out(torch.tanh(self.body(tokens)))


def test_torch_compile_fullgraph_without_graph_breaks():
    """The unikeras module traces to one graph (`explain`: no break); a native module holding
    it compiles with fullgraph=True (which raises on any break) into one graph that equals
    eager. aot_eager (dynamo + AOTAutograd, no code generation): inductor adds ~90 s of C++
    compilation on CPU and nothing the graph capture checked here depends on."""
    from torch._dynamo.testing import CompileCounterWithBackend
    torch._dynamo.reset()
    short = 4  # time steps: the LSTM's loop unrolls in the graph
    module = _catalog(time=short).eval()
    x = _tokens(4, time=short)
    explained = torch._dynamo.explain(module)(x)
    assert explained.graph_break_count == 0 and explained.graph_count == 1, \
        explained.break_reasons

    torch.manual_seed(0)
    net = _NativeHead(module).eval()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(net, fullgraph=True, backend=counter)
    for _ in range(3):   # later calls reuse the graph: no guard on per-call bookkeeping
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-5, atol=1e-6)
    assert counter.frame_count == 1 and counter.op_count > 20

    # Training mode, dropout included (it draws from torch's global RNG under compile): one
    # graph, and the compiled forward writes the moving statistics as eager does.
    explained = torch._dynamo.explain(module.train())(x)
    assert explained.graph_break_count == 0, explained.break_reasons
    module.eval()
    eager, traced = (to_torch(_dense_bn_model()) for _ in range(2))
    xf = torch.from_numpy(np.random.default_rng(2).normal(size=(8, 4)).astype("float32"))
    compiled = torch.compile(traced, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(xf), eager(xf), rtol=1e-5, atol=1e-6)
    for name in ("bn.moving_mean", "bn.moving_variance"):
        moved = traced.get_buffer(name)
        torch.testing.assert_close(moved, eager.get_buffer(name), rtol=1e-5, atol=1e-7)
        assert not torch.equal(moved, torch.full_like(moved, name == "bn.moving_variance"))


def _dense_bn_model():
    uk.utils.set_random_seed(0)
    with uk.ops.backend_scope("torch"):
        return uk.Sequential([uk.Input((4,)), uk.layers.Dense(5, name="dense"),
                              uk.layers.BatchNormalization(name="bn")])


@pytest.mark.filterwarnings("ignore:While compiling, we found certain side effects")  # caches
@pytest.mark.parametrize("strict", [True, False])
def test_export_with_a_dynamic_batch(strict):
    """`torch.export.export` of the catalog model (strict: through dynamo; non-strict, torch's
    default: Python runs with symbolic sizes) with the batch dim dynamic; the program runs at
    batch sizes other than the traced one and equals eager."""
    module = _catalog().eval()
    x = _tokens(4)
    batch = torch.export.Dim("batch", min=2, max=1024)
    program = torch.export.export(module, (x,), dynamic_shapes=(({0: batch},),), strict=strict)
    run = program.module()
    for size in (3, 9):
        xb = _tokens(size, seed=size)
        out = run(xb)
        assert tuple(out.shape) == (size, CLASSES)
        torch.testing.assert_close(out, module(xb), rtol=1e-5, atol=1e-6)
    # The program's weights are the module's (state_dict keys), lifted as parameters.
    assert set(program.state_dict) >= set(CATALOG_PARAMS) | set(CATALOG_STATS)


# --- DistributedDataParallel over gloo --------------------------------------------------------

DDP_STEPS, DDP_BATCH, DDP_LR = 3, 8, 0.5


def _ddp_model():
    """Embedding -> Conv1D -> pooling -> Dense: no BatchNormalization (each DDP process
    would normalize by its own shard's statistics, so the step would differ from one process
    on the full batch) and no Dropout (each process draws its own mask)."""
    import unikeras as uk
    from unikeras import layers as L
    uk.utils.set_random_seed(0)
    with uk.ops.backend_scope("torch"):
        return uk.Sequential([uk.Input((10,), dtype="int32"), L.Embedding(40, 8, name="embed"),
                              L.Conv1D(8, 3, activation="relu", name="conv"),
                              L.GlobalAveragePooling1D(name="pool"), L.Dense(3, name="head")])


def _ddp_data():
    rng = np.random.default_rng(3)
    return (rng.integers(0, 40, (DDP_BATCH, 10)).astype("int64"),
            rng.integers(0, 3, (DDP_BATCH,)).astype("int64"))


def _train(module, x, y, steps, lr):
    """Plain SGD on the mean cross-entropy."""
    opt = torch.optim.SGD(module.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(module(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()


def _ddp_rank(rank, world, store):
    """One DDP process: trains on its shard of the batch; returns its final state_dict."""
    import datetime
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method="file://" + store, rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=60))
    try:
        model = nn.parallel.DistributedDataParallel(to_torch(_ddp_model()))
        x, y = _ddp_data()
        shard = slice(rank * DDP_BATCH // world, (rank + 1) * DDP_BATCH // world)
        _train(model, x[shard], y[shard], DDP_STEPS, DDP_LR)
        return {k: v.detach().clone() for k, v in model.module.state_dict().items()}
    finally:
        dist.destroy_process_group()


_DDP_RANK = """
import sys
import numpy as np
import torch
from torch import nn
from unikeras.adapters.torch_nn import to_torch
DDP_STEPS, DDP_BATCH, DDP_LR = {steps}, {batch}, {lr}
{sources}
state = _ddp_rank(int(sys.argv[1]), 2, sys.argv[2])
np.savez(sys.argv[3], **{{k: v.numpy() for k, v in state.items()}})
"""


def test_distributed_data_parallel_on_two_processes_equals_one_process(tmp_path):
    """Two gloo processes, each on half the batch: DDP averages the gradients, so after
    `DDP_STEPS` SGD steps both hold the weights of one process trained on the full batch.
    Both ranks are subprocesses on the loopback interface, so a rank that dies fails the
    test (with its log) instead of leaving the other waiting for it."""
    sources = "\n".join(inspect.getsource(f) for f in (_ddp_model, _ddp_data, _train, _ddp_rank))
    code = _DDP_RANK.format(steps=DDP_STEPS, batch=DDP_BATCH, lr=DDP_LR, sources=sources)
    root = os.path.dirname(os.path.dirname(os.path.abspath(uk.__file__)))
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    store = str(tmp_path / "store")
    outs = [str(tmp_path / f"rank{r}.npz") for r in range(2)]
    ranks = [subprocess.Popen([sys.executable, "-c", code, str(r), store, outs[r]], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]
    logs = []
    try:
        for peer in ranks:
            logs.append(peer.communicate(timeout=120)[0].decode())
    finally:
        for peer in ranks:
            peer.kill()
    for peer, log in zip(ranks, logs):
        assert peer.returncode == 0, log
    rank0 = {k: torch.from_numpy(v) for k, v in np.load(outs[0]).items()}
    rank1 = np.load(outs[1])

    module = to_torch(_ddp_model())
    initial = {k: v.clone() for k, v in module.state_dict().items()}
    x, y = _ddp_data()
    _train(module, x, y, DDP_STEPS, DDP_LR)
    assert sorted(rank0) == sorted(rank1.files) == sorted(module.state_dict())
    for name, value in module.state_dict().items():
        assert not torch.allclose(value, initial[name]), name  # training moved every weight
        for distributed in (rank0[name].numpy(), rank1[name]):
            np.testing.assert_allclose(distributed, value.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=name)


# --- TorchModuleWrapper: a torch module inside a unikeras model -------------------------------

def _wrapped_linear_model():
    torch.manual_seed(0)
    linear = nn.Linear(4, 8)
    with uk.ops.backend_scope("torch"):
        wrapper = uk.layers.TorchModuleWrapper(linear, name="torch_linear")
        model = uk.Sequential([uk.Input((4,)), wrapper, uk.layers.Dense(1, name="out")])
    return model, wrapper, linear


def test_torch_module_wrapper_shares_tensors_and_trains_with_fit():
    model, wrapper, linear = _wrapped_linear_model()
    # The module's tensors are the layer's weights (no copies), Keras names and order.
    assert [v.path for v in model.weights] == ["torch_linear/weight", "torch_linear/bias",
                                               "out/kernel", "out/bias"]
    assert wrapper.weights[0].value is linear.weight and wrapper.weights[1].value is linear.bias
    assert wrapper.compute_output_shape((None, 4)) == (None, 8)  # by probing the module
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")).astype("float32")
    with torch.no_grad():
        expected = (torch.from_numpy(x) @ linear.weight.T + linear.bias) @ \
            model.layers[1].kernel.value + model.layers[1].bias.value
    torch.testing.assert_close(model.predict(x, verbose=0), expected.numpy(), rtol=1e-5,
                               atol=1e-6, check_dtype=False)

    before = linear.weight.detach().clone()
    with uk.ops.backend_scope("torch"):
        model.compile(optimizer=uk.optimizers.SGD(0.05), loss="mse")
        history = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0] / 3, history
    assert not torch.allclose(linear.weight.detach(), before)
    np.testing.assert_array_equal(wrapper.get_weights()[0], linear.weight.detach().numpy())


def test_torch_module_wrapper_buffers_and_safetensors_round_trip(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with uk.ops.backend_scope("torch"):
        wrapper = uk.layers.TorchModuleWrapper(net, name="block", output_shape=(None, 4))
        model = uk.Sequential([uk.Input((3,)), wrapper])
    assert [v.name for v in wrapper.trainable_weights] == ["0.weight", "0.bias", "1.weight",
                                                           "1.bias"]
    assert [v.name for v in wrapper.non_trainable_weights] == [
        "1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert wrapper.non_trainable_weights[0].value is net[1].running_mean

    # A training call updates the module's running statistics, which are the layer's weights.
    x = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    with torch.no_grad():
        h = torch.from_numpy(x) @ net[0].weight.T + net[0].bias
    model(torch.from_numpy(x), training=True)
    np.testing.assert_allclose(wrapper.non_trainable_weights[0].numpy(),
                               0.1 * h.mean(0).numpy(), rtol=1e-5, atol=1e-7)
    assert net.training
    model(torch.from_numpy(x), training=False)
    assert not net.training

    path = str(tmp_path / "w.safetensors")
    model.save_weights(path)
    saved = [w.copy() for w in model.get_weights()]
    with torch.no_grad():
        for t in net.state_dict().values():
            t.zero_()
    model.load_weights(path)
    for a, b in zip(model.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), saved[0])  # in the module

    # Back to torch: `to_torch` of the model nests the wrapped module's names as torch does.
    module = to_torch(model).eval()
    assert list(module.state_dict()) == ["block." + k for k in net.state_dict()]
    assert module.block.get_submodule("0").weight is net[0].weight
    xt = torch.from_numpy(x)
    torch.testing.assert_close(module(xt), net.eval()(xt), rtol=0, atol=0)


def test_torch_module_wrapper_config_and_errors():
    model, wrapper, linear = _wrapped_linear_model()
    config = wrapper.get_config()
    assert config == {"name": "torch_linear", "trainable": True, "dtype": "float32",
                      "module_class": "torch.nn.modules.linear.Linear", "output_shape": None}
    with pytest.raises(ValueError, match="pass `module=`.*torch.nn.modules.linear.Linear"):
        uk.layers.TorchModuleWrapper.from_config(config)
    with uk.ops.backend_scope("torch"):
        other = nn.Linear(4, 8)
        rebuilt = uk.layers.TorchModuleWrapper.from_config(config, module=other)
    assert rebuilt.name == "torch_linear" and rebuilt.module is other
    assert rebuilt.weights[0].value is other.weight
    with uk.ops.backend_scope("jax"):
        with pytest.raises(ValueError, match="needs the torch backend.*'jax'"):
            uk.layers.TorchModuleWrapper(nn.Linear(2, 2))
    with uk.ops.backend_scope("torch"):
        with pytest.raises(TypeError, match="must be a torch.nn.Module, got function"):
            uk.layers.TorchModuleWrapper(lambda t: t)
        with pytest.raises(ValueError, match="failed on inputs of shapes.*output_shape="):
            uk.Sequential([uk.Input((5,)), uk.layers.TorchModuleWrapper(nn.Linear(4, 8))])
