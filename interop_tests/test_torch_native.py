"""unikeras layers used the way a PyTorch user writes PyTorch code.

Everything here is plain torch: `nn.Sequential`, `torch.optim`, `state_dict`,
`torch.func.functional_call`, `.train()/.eval()`. The unikeras objects must behave as
genuine `nn.Module`s inside it.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import unikeras as uk  # noqa: E402
from unikeras.adapters.torch_nn import to_torch  # noqa: E402


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
