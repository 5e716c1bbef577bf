"""Tapes (unikeras/common/ops/tape.py): a `to_torch` module records its backend calls once
per input signature and replays them; replays must equal the ordinary path exactly, see the
values the host supplies at call time, and refuse whatever they cannot reproduce."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unikeras as uk  # noqa: E402
from unikeras import layers, ops  # noqa: E402
from unikeras.adapters import hosting  # noqa: E402
from unikeras.adapters.torch_nn import to_torch  # noqa: E402
from unikeras.common.ops import tape  # noqa: E402


# The same kernels on the same values; BLAS may still pick another code path for a buffer of
# other alignment, so allow a few ulps rather than demanding identical bits.
SAME = dict(rtol=1e-6, atol=1e-7)


def _mlp(dropout=0.0):
    uk.utils.set_random_seed(0)
    with ops.backend_scope("torch"):
        return uk.Sequential([uk.Input((6,)), layers.Dense(8, activation="relu"),
                              layers.Dropout(dropout, seed=3), layers.Dense(3, activation="softmax")])


def _reference(model, x):
    k1, b1, k2, b2 = model.get_weights()
    h = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    e = np.exp(h - h.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _untaped(module, x, training=False):
    values = module._values()
    out, _ = hosting.run_hosted(module.layer, module._hosted, values, "torch", (x,),
                                {"training": training})
    return out


def test_replay_equals_the_ordinary_path_and_is_cached_per_signature():
    model = _mlp()
    module = to_torch(model).eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((4, 6)).astype("float32"))
    first = module(x)
    assert len(module._taped.tapes) == 1 and not module._taped.refusals
    x2 = x * 3 - 1
    replayed = module(x2)
    assert len(module._taped.tapes) == 1, "same signature: the tape is reused"
    torch.testing.assert_close(replayed, _untaped(module, x2), **SAME)
    np.testing.assert_allclose(replayed.detach().numpy(), _reference(model, x2.numpy()),
                               rtol=1e-5, atol=1e-6)
    assert first.shape == (4, 3)
    module(x[:1])
    assert len(module._taped.tapes) == 2, "a new batch size is a new signature"


def test_gradients_flow_through_a_replay():
    module = to_torch(_mlp()).eval()
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((5, 6)).astype("float32"))
    module(x)  # records
    loss = module(x).pow(2).sum()  # replays
    grads = torch.autograd.grad(loss, list(module.parameters()))
    expected = torch.autograd.grad(_untaped(module, x).pow(2).sum(), list(module.parameters()))
    for g, e in zip(grads, expected):
        torch.testing.assert_close(g, e, **SAME)
        assert g.abs().sum() > 0


def test_replay_reads_the_values_the_host_supplies():
    module = to_torch(_mlp()).eval()
    x = torch.ones(2, 6)
    module(x)
    module(x)
    zeros = {name: torch.zeros_like(p) for name, p in module.named_parameters()}
    out = torch.func.functional_call(module, zeros, (x,))
    torch.testing.assert_close(out, torch.full((2, 3), 1 / 3))
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(0)
    torch.testing.assert_close(module(x), torch.full((2, 3), 1 / 3))


def test_random_layers_replay_with_their_seed_state():
    """Seeds are explicit state (SeedGenerator): a replay advances it like a fresh call."""
    model = _mlp(dropout=0.5)
    module = to_torch(model).train()
    seed_state = getattr(module, model.layers[1].name).seed_generator_state
    x = torch.ones(64, 6)
    module(x)  # records
    state = seed_state.clone()
    a = module(x)  # replays
    assert not torch.equal(seed_state, state), "the replay advanced the seed state"
    b = module(x)
    assert not torch.equal(a, b), "dropout must draw new masks every call"
    with torch.no_grad():
        seed_state.copy_(state)
    torch.testing.assert_close(_untaped(module, x, training=True), a, **SAME)
    assert len(module._taped.tapes) == 1 and not module._taped.refusals


def test_user_layers_are_not_taped():
    class Doubler(uk.Layer):
        def call(self, x):
            return x * 2  # backend arithmetic outside unikeras.ops: invisible to a tape

    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((3,)), layers.Dense(2), Doubler()])
    module = to_torch(model)
    x = torch.ones(1, 3)
    module(x)
    torch.testing.assert_close(module(x), _untaped(module, x))
    assert not module._taped.enabled and not module._taped.tapes


def test_a_tensor_from_outside_the_ops_is_refused():
    known = torch.ones(3)
    stranger = torch.ones(3) * 2  # computed without unikeras.ops

    def run():
        y = ops.add(known, 1.0)
        return ops.multiply(y, stranger), []

    outputs, _, recorded, refusal = tape.record(run, [known])
    assert recorded is None and "no op produced" in refusal
    torch.testing.assert_close(outputs, torch.full((3,), 4.0))


def test_an_output_from_outside_the_ops_is_refused():
    known = torch.ones(3)

    def run():
        return known * 5, []

    _, _, recorded, refusal = tape.record(run, [known])
    assert recorded is None and "no op produced" in refusal


def test_escaping_ops_are_refused():
    known = torch.ones(3)

    def run():
        return ops.add(known, float(ops.convert_to_numpy(known).sum())), []

    _, _, recorded, refusal = tape.record(run, [known])
    assert recorded is None and "convert_to_numpy" in refusal


def test_layers_that_add_losses_keep_the_ordinary_path():
    with ops.backend_scope("torch"):
        model = uk.Sequential([uk.Input((4,)), layers.Dense(3), layers.ActivityRegularization(l2=1.0)])
    module = to_torch(model)
    x = torch.ones(2, 4)
    module(x)
    first = float(model.losses[0])
    module(x * 2)
    assert not module._taped.tapes and module._taped.refusals
    assert float(model.losses[0]) == pytest.approx(4 * first, rel=1e-5), "losses of the new call"
