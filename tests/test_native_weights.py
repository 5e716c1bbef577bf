"""Weights from native frameworks: torch state_dicts and flax nnx states load into the same
architecture written in unikeras, which then predicts what the native module computes (on
every backend), and `export_torch_state_dict` gives torch twins their weights back."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nnx = pytest.importorskip("flax.nnx")

import jax.numpy as jnp  # noqa: E402
from torch import nn  # noqa: E402

import unikeras as uk  # noqa: E402
from unikeras import layers, ops  # noqa: E402
from unikeras.adapters.flax import load_nnx_state  # noqa: E402
from unikeras.adapters.torch_nn import export_torch_state_dict, load_torch_state_dict  # noqa: E402
from tests.conftest import FRAMEWORKS  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


def _randomize(module, seed):
    """Random weights and running statistics (torch's initial ones are too regular), eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.5)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) * 1.5 + 0.5)
    return module.eval()


# --- torch twins: each case is (torch module class, unikeras builder, input shapes) ----------
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(),
                                      nn.ConvTranspose2d(6, 4, 3, stride=2), nn.GroupNorm(2, 4),
                                      nn.Conv2d(4, 8, 3, groups=4))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.features(x.permute(0, 3, 1, 2)).mean(dim=(2, 3)))


def cnn():
    return uk.Sequential([uk.Input((7, 7, 3)), layers.Conv2D(6, 3),
                          layers.BatchNormalization(epsilon=1e-5), layers.ReLU(),
                          layers.Conv2DTranspose(4, 3, strides=2), layers.GroupNormalization(2, epsilon=1e-5),
                          layers.DepthwiseConv2D(3, depth_multiplier=2), layers.GlobalAveragePooling2D(),
                          layers.Dense(2)])


class Signal(nn.Module):
    """1-D and 3-D convolutions, their transposes and batch norms, LayerNorm, RMSNorm."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3)
        self.bn = nn.BatchNorm1d(6)
        self.up = nn.ConvTranspose1d(6, 5, 2, stride=2)
        self.depthwise = nn.Conv1d(5, 10, 3, groups=5)
        self.ln = nn.LayerNorm(10)
        self.rms = nn.RMSNorm(10, eps=1e-5)
        self.conv3 = nn.Conv3d(2, 3, 2)
        self.bn3 = nn.BatchNorm3d(3)
        self.up3 = nn.ConvTranspose3d(3, 2, 2, stride=2)

    def forward(self, x, v):
        y = self.depthwise(self.up(self.bn(self.conv(x.transpose(1, 2))))).transpose(1, 2)
        w = self.up3(self.bn3(self.conv3(v.permute(0, 4, 1, 2, 3)))).permute(0, 2, 3, 4, 1)
        return self.rms(self.ln(y)), w


def signal():
    x, v = uk.Input((9, 4)), uk.Input((4, 4, 4, 2))
    y = layers.Conv1D(6, 3)(x)
    y = layers.BatchNormalization(epsilon=1e-5)(y)
    y = layers.Conv1DTranspose(5, 2, strides=2)(y)
    y = layers.DepthwiseConv1D(3, depth_multiplier=2)(y)
    y = layers.RMSNormalization(epsilon=1e-5)(layers.LayerNormalization(epsilon=1e-5)(y))
    w = layers.Conv3DTranspose(2, 2, strides=2)(layers.BatchNormalization(epsilon=1e-5)(layers.Conv3D(3, 2)(v)))
    return uk.Model([x, v], [y, w])


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.lstm = nn.LSTM(6, 5, num_layers=2, batch_first=True)
        self.out = nn.Linear(5, 3)

    def forward(self, tokens):
        return self.out(self.lstm(self.embed(tokens))[0][:, -1])


def classifier():
    return uk.Sequential([uk.Input((7,), dtype="int32"), layers.Embedding(20, 6),
                          layers.LSTM(5, return_sequences=True), layers.LSTM(5), layers.Dense(3)])


class Recurrent(nn.Module):
    """Two bidirectional LSTM layers, a bidirectional GRU and a ReLU RNN."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 3, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(6, 5, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(10, 4, nonlinearity="relu", batch_first=True)

    def forward(self, x):
        return self.rnn(self.gru(self.lstm(x)[0])[0])[0]


def recurrent():
    seq = dict(return_sequences=True)
    return uk.Sequential([uk.Input((6, 4)), layers.Bidirectional(layers.LSTM(3, **seq)),
                          layers.Bidirectional(layers.LSTM(3, **seq)),
                          layers.Bidirectional(layers.GRU(5, **seq)),
                          layers.SimpleRNN(4, activation="relu", **seq)])


class Attention(nn.Module):
    """Self-attention (packed in_proj_weight), then cross-attention (kdim/vdim differ)."""

    def __init__(self):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(8, 2, kdim=6, vdim=3, batch_first=True)

    def forward(self, q, k, v):
        a = self.self_attn(q, q, q, need_weights=False)[0]
        return self.cross_attn(a, k, v, need_weights=False)[0]


def attention():
    q, k, v = uk.Input((5, 8)), uk.Input((4, 6)), uk.Input((4, 3))
    a = layers.MultiHeadAttention(2, 4)(q, q)
    return uk.Model([q, k, v], layers.MultiHeadAttention(2, 4)(a, v, key=k))


TORCH_CASES = [
    (lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)),
     lambda: uk.Sequential([uk.Input((5,)), layers.Dense(8, activation="relu"), layers.Dense(3)]), [(4, 5)]),
    (CNN, cnn, [(2, 7, 7, 3)]),
    (Signal, signal, [(2, 9, 4), (2, 4, 4, 4, 2)]),
    (Classifier, classifier, ["tokens"]),
    (Recurrent, recurrent, [(2, 6, 4)]),
    (Attention, attention, [(2, 5, 8), (2, 4, 6), (2, 4, 3)]),
]


def _torch_outputs(module, inputs):
    with torch.no_grad():
        out = module(*[torch.from_numpy(x) for x in inputs])
    return [o.numpy() for o in out] if isinstance(out, tuple) else [out.numpy()]


@pytest.fixture(scope="module")
def torch_twins():
    """(module class, unikeras builder, inputs, torch module, its outputs) per case."""
    rng, cases = np.random.default_rng(0), []
    for seed, (make, build, shapes) in enumerate(TORCH_CASES):
        inputs = [rng.integers(0, 20, (2, 7)) if s == "tokens" else rng.standard_normal(s).astype("float32")
                  for s in shapes]
        module = _randomize(make(), seed)
        cases.append((make, build, inputs, module, _torch_outputs(module, inputs)))
    return cases


def _predict(model, inputs):
    out = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    return list(out) if isinstance(out, (list, tuple)) else [out]


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_torch_weights_predict_the_same_and_export_back(backend, torch_twins):
    for make, build, inputs, module, expected in torch_twins:
        with ops.backend_scope(backend):
            model = build()
        assert load_torch_state_dict(model, module.state_dict()) == ([], [])
        for got, want in zip(_predict(model, inputs), expected, strict=True):
            np.testing.assert_allclose(got, want, **TOL, err_msg=f"{model.name} on {backend}")
        exported = export_torch_state_dict(model, template=module)
        assert list(exported) == list(module.state_dict())
        twin = _randomize(make(), 99)
        twin.load_state_dict(exported, strict=True)
        for got, want in zip(_torch_outputs(twin, inputs), expected, strict=True):
            np.testing.assert_allclose(got, want, **TOL, err_msg=f"export of {model.name} on {backend}")


def test_default_export_keys_load_into_a_torch_twin_and_back():
    with ops.backend_scope("numpy"):
        model = uk.Sequential([uk.Input((6, 4)), layers.Bidirectional(layers.LSTM(3), name="rnn"),
                               layers.Dense(2, name="fc")])
    exported = export_torch_state_dict(model)
    rnn_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    assert list(exported) == [f"rnn.{w}_l0{d}" for d in ("", "_reverse") for w in rnn_names] + [
        "fc.weight", "fc.bias"]
    holder = nn.Module()
    holder.rnn, holder.fc = nn.LSTM(4, 3, batch_first=True, bidirectional=True), nn.Linear(6, 2)
    holder.load_state_dict(exported, strict=True)
    kernel, recurrent_kernel, bias = model.get_weights()[:3]
    np.testing.assert_array_equal(holder.rnn.weight_ih_l0.detach().numpy(), kernel.T)
    np.testing.assert_array_equal(holder.rnn.weight_hh_l0.detach().numpy(), recurrent_kernel.T)
    np.testing.assert_array_equal((holder.rnn.bias_ih_l0 + holder.rnn.bias_hh_l0).detach().numpy(), bias)
    np.testing.assert_array_equal(holder.fc.weight.detach().numpy(), model.get_weights()[-2].T)
    with ops.backend_scope("numpy"):
        again = uk.Sequential([uk.Input((6, 4)), layers.Bidirectional(layers.LSTM(3)), layers.Dense(2)])
    load_torch_state_dict(again, holder)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


# --- nnx twins ----------------------------------------------------------------------------------
class NnxConvNet(nnx.Module):
    def __init__(self, rngs):
        self.conv = nnx.Conv(3, 6, (3, 3), padding="VALID", rngs=rngs)
        self.bn = nnx.BatchNorm(6, use_running_average=True, rngs=rngs)
        self.ln = nnx.LayerNorm(6, rngs=rngs)
        self.gn = nnx.GroupNorm(6, num_groups=2, rngs=rngs)
        self.head = nnx.Linear(6, 2, rngs=rngs)

    def __call__(self, x):
        y = self.gn(self.ln(nnx.relu(self.bn(self.conv(x)))))
        return self.head(y.mean(axis=(1, 2)))


def nnx_conv_net():
    return uk.Sequential([uk.Input((7, 7, 3)), layers.Conv2D(6, 3), layers.BatchNormalization(epsilon=1e-5),
                          layers.ReLU(), layers.LayerNormalization(epsilon=1e-6),
                          layers.GroupNormalization(2, epsilon=1e-6), layers.GlobalAveragePooling2D(),
                          layers.Dense(2)])


def nnx_tokens():
    rngs = nnx.Rngs(1)
    return nnx.Sequential(nnx.Embed(20, 6, rngs=rngs), nnx.Conv(6, 4, (3,), padding="VALID", rngs=rngs),
                          nnx.Linear(4, 3, rngs=rngs))


def uk_tokens():
    return uk.Sequential([uk.Input((7,), dtype="int32"), layers.Embedding(20, 6), layers.Conv1D(4, 3),
                          layers.Dense(3)])


def _randomize_nnx(module, seed):
    rng = np.random.default_rng(seed)
    state = nnx.state(module)
    for path, v in nnx.to_flat_state(state):
        value = rng.standard_normal(v.get_value().shape).astype("float32") * 0.4
        v.set_value(jnp.asarray(np.abs(value) + 0.5 if path[-1] == "var" else value))
    nnx.update(module, state)
    return module


@pytest.fixture(scope="module")
def nnx_twins():
    rng = np.random.default_rng(1)
    # eval_shape skips nnx's initializers (their eager compiles cost seconds): all is random here.
    conv_net = _randomize_nnx(nnx.eval_shape(lambda: NnxConvNet(nnx.Rngs(0))), 0)
    tokens = _randomize_nnx(nnx.eval_shape(nnx_tokens), 1)
    x, ids = rng.standard_normal((2, 7, 7, 3)).astype("float32"), rng.integers(0, 20, (2, 7))
    from_tokens = np.asarray(nnx.jit(lambda m, ids: m(ids))(tokens, jnp.asarray(ids)))
    return [(conv_net, nnx_conv_net, x, np.asarray(nnx.jit(lambda m, x: m(x))(conv_net, jnp.asarray(x)))),
            (tokens, uk_tokens, ids, from_tokens), (nnx.state(tokens), uk_tokens, ids, from_tokens),
            (nnx.to_pure_dict(nnx.state(tokens)), uk_tokens, ids, from_tokens)]


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_nnx_weights_predict_the_same(backend, nnx_twins):
    """A module (definition order), its State and the State's pure dict all load."""
    for source, build, x, expected in nnx_twins:
        with ops.backend_scope(backend):
            model = build()
        assert load_nnx_state(model, source) == ([], [])
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, **TOL,
                                   err_msg=f"{type(source).__name__} on {backend}")


# --- errors: one clear ValueError, the model unchanged ------------------------------------------
def _numpy_model(*layer_list, shape=(5,)):
    with ops.backend_scope("numpy"):
        return uk.Sequential([uk.Input(shape), *layer_list])


def _raises_unchanged(model, pattern, load, *args, **kwargs):
    before = model.get_weights()
    with pytest.raises(ValueError, match=pattern):
        load(model, *args, **kwargs)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_wrong_shapes_and_wrong_types_are_clear():
    linear = nn.Sequential(nn.Linear(5, 4))
    _raises_unchanged(_numpy_model(layers.Dense(3, name="fc")),
                      r"fc/kernel has shape \(5, 3\) in the model; torch '0.weight' \(4, 5\) gives \(5, 4\)",
                      load_torch_state_dict, linear.state_dict())
    _raises_unchanged(_numpy_model(layers.Dense(5, name="fc")),
                      r"torch '0.weight' \(5,\) cannot fill 'fc' \(Dense\): a Linear 'weight' is 2-D",
                      load_torch_state_dict, nn.Sequential(nn.LayerNorm(5)).state_dict())
    _raises_unchanged(_numpy_model(layers.LayerNormalization(name="norm")),
                      r"torch '0' \(running_mean \(5,\), running_var \(5,\)\) does not fit 'norm' "
                      r"\(LayerNormalization\), the twin of LayerNorm \(tensors among \['bias', 'weight'\]\)",
                      load_torch_state_dict, nn.Sequential(nn.BatchNorm1d(5, affine=False)).state_dict())
    _raises_unchanged(_numpy_model(layers.Dense(5, use_bias=False, name="fc")),
                      r"torch '0' is a Embedding; 'fc' \(Dense\) needs a Linear", load_torch_state_dict,
                      nn.Sequential(nn.Embedding(5, 5)))
    _raises_unchanged(_numpy_model(layers.GRU(3, reset_after=False), shape=(4, 2)), "reset_after=False",
                      load_torch_state_dict, nn.GRU(2, 3).state_dict())
    _raises_unchanged(_numpy_model(layers.Dense(3, name="fc")),
                      r"fc/kernel has shape \(5, 3\) in the model; nnx 'kernel' \(5, 4\) gives \(5, 4\)",
                      load_nnx_state, nnx.Linear(5, 4, rngs=nnx.Rngs(0)))
    rngs = nnx.Rngs(0)
    norms = nnx.Dict(ln=nnx.LayerNorm(5, rngs=rngs), gn=nnx.GroupNorm(5, num_groups=5, rngs=rngs))
    _raises_unchanged(_numpy_model(layers.LayerNormalization(name="norm")),
                      r"nnx 'gn' and 'ln' all fit 'norm' \(LayerNormalization\): their attribute names do not "
                      r"tell which one it is", load_nnx_state, nnx.state(norms))
    loaded = _numpy_model(layers.LayerNormalization(name="norm"))
    assert load_nnx_state(loaded, norms, strict=False) == ([], ["gn.bias", "gn.scale"])


def test_extra_and_missing_keys_strict_or_not():
    two = _randomize(nn.Sequential(nn.Linear(5, 3), nn.Linear(3, 2)), 0)
    model = _numpy_model(layers.Dense(3, name="fc"))
    _raises_unchanged(model, r"torch '1' \(weight \(2, 3\), bias \(2,\)\) fills no layer",
                      load_torch_state_dict, two.state_dict())
    assert load_torch_state_dict(model, two, strict=False) == ([], ["1.weight", "1.bias"])
    np.testing.assert_array_equal(model.get_weights()[0], two[0].weight.detach().numpy().T)

    state = dict(two[0].state_dict(), scale=np.ones(3))
    _raises_unchanged(model, r"torch keys that fed nothing: \['scale'\]", load_torch_state_dict, state)
    assert load_torch_state_dict(model, state, mapping={"scale": None}) == ([], [])

    bigger = _numpy_model(layers.Dense(3, name="fc"), layers.Dense(2, name="out"), layers.PReLU(name="act"))
    _raises_unchanged(bigger, r"(?s)'out' \(Dense\) gets no torch tensors.*weights with no value: "
                      r"\['act/alpha'\]", load_torch_state_dict, two[0].state_dict())
    assert load_torch_state_dict(bigger, two[0], strict=False) == (["act/alpha", "out/kernel", "out/bias"], [])

    with ops.backend_scope("numpy"):
        unbuilt = uk.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="has no weights yet"):
        load_torch_state_dict(unbuilt, two)
    with pytest.raises(TypeError, match="expected a torch state_dict"):
        load_torch_state_dict(model, [1, 2])


class HeadFirst(nn.Module):
    """Registers its head before its body: the state_dict order differs from the data flow."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 2)
        self.body = nn.Linear(3, 4)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def test_mapping_pairs_modules_out_of_order():
    torch_model = _randomize(HeadFirst(), 3)
    x = np.random.default_rng(2).standard_normal((4, 3)).astype("float32")
    expected = _torch_outputs(torch_model, [x])[0]
    model = _numpy_model(layers.Dense(4, activation="relu", name="body"), layers.Dense(2, name="out"),
                         shape=(3,))
    _raises_unchanged(model, r"body/kernel has shape \(3, 4\) in the model; torch 'head.weight' \(2, 4\) gives "
                      r"\(4, 2\)", load_torch_state_dict, torch_model.state_dict())
    state = torch_model.state_dict()
    by_weight = {"head.weight": "out/kernel", "head.bias": "out/bias"}
    for mapping in (by_weight, {"head.weight": "out", "head.bias": "out"}):
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        assert load_torch_state_dict(model, state, mapping=mapping) == ([], [])
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, **TOL)
    renamed = {"w_out": state["head.weight"], "b_out": state["head.bias"], "body.weight": state["body.weight"],
               "body.bias": state["body.bias"]}
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    load_torch_state_dict(model, renamed, mapping={"w_out": "out/kernel", "b_out": "out/bias"})
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, **TOL)
    _raises_unchanged(model, r"(?s)mapping names 'nope', which is not a key of the torch state.*mapping sends "
                      r"'head.bias' to 'missing/bias', which is neither",
                      load_torch_state_dict, state, mapping={"nope": "out", "head.bias": "missing/bias"})
