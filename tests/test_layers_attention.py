"""Attention layers on torch, jax and tensorflow vs NumPy formulas, torch.nn.MultiheadAttention
with mapped weights and Keras 3 given the same weights (masks, causal, sliding windows,
scores); structure (weights, config, shapes) vs Keras; dropout under train()/eval();
gradients torch vs jax; OpenVINO graphs vs the NumPy backend; bad input."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_layer_cases

TOL = dict(rtol=1e-5, atol=1e-5)
R = np.random.default_rng(0)


def F(*shape):
    return R.standard_normal(shape).astype("float32")


def _mask(shape, hidden):
    """Boolean mask of `shape`, False at the (batch, step) pairs in `hidden`."""
    m = np.ones(shape, bool)
    for index in hidden:
        m[index] = False
    return m


Q, V, K, X = F(2, 5, 8), F(2, 6, 4), F(2, 6, 6), F(2, 5, 8)
Q4, V4, K4 = F(2, 5, 4), F(2, 6, 3), F(2, 6, 4)
X4D, Y4D = F(2, 3, 4, 8), F(2, 2, 4, 5)
QM = _mask((2, 5), [(1, slice(3, None))])
VM = _mask((2, 6), [(0, slice(4, None)), (1, 0)])
VM_FULL = _mask((2, 6), [(1, slice(None))])            # batch 1 sees no key at all
KM = _mask((2, 6), [(0, 1)])
VM_GRAD = _mask((2, 6), [(0, slice(4, None)), (1, 2)])  # causal rows all see key 0
AM = R.uniform(size=(2, 5, 6)) > 0.3
AM[:, :, 2] = True                                     # every query row sees a key

# id: (class, config, call inputs, call kwargs, array kwargs, Attention's mask list)
CASES = {
    "mha": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [Q, V], {}, {}, None),
    "mha_masks_scores": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [Q, V, K],
                         {"return_attention_scores": True},
                         {"query_mask": QM, "value_mask": VM, "key_mask": KM,
                          "attention_mask": AM}, None),
    "mha_fully_masked_row": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [Q, V], {},
                             {"value_mask": VM_FULL, "attention_mask": AM}, None),
    "mha_causal_self": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4}, [X, X],
                        {"use_causal_mask": True}, {"query_mask": QM}, None),
    "mha_causal_masked_scores": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4}, [X, V],
                                 {"use_causal_mask": True, "return_attention_scores": True},
                                 {"value_mask": VM}, None),
    "mha_gate_output_shape": ("MultiHeadAttention", {
        "num_heads": 2, "key_dim": 3, "value_dim": 5, "output_shape": [2, 3], "use_bias": False,
        "use_gate": True}, [Q, V, K], {}, {"value_mask": VM}, None),
    "mha_window_causal": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3,
                                                 "sliding_window": 2}, [Q, V],
                          {"use_causal_mask": True}, {}, None),
    "mha_window_scores": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3,
                                                 "sliding_window": 3}, [Q, V],
                          {"return_attention_scores": True}, {}, None),
    "mha_4d_axis2": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "attention_axes": [2]},
                     [X4D, X4D], {"return_attention_scores": True}, {}, None),
    "mha_4d_two_axes": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [X4D, Y4D],
                        {"return_attention_scores": True}, {}, None),
    "mha_dropout_inference": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3,
                                                     "dropout": 0.3}, [Q, V],
                              {"training": False}, {"value_mask": VM_FULL}, None),
    "gqa_causal_scores": ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 4,
                                                  "num_key_value_heads": 2}, [Q, V],
                          {"use_causal_mask": True, "return_attention_scores": True},
                          {"value_mask": VM}, None),
    "gqa_gate_key": ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 4,
                                             "num_key_value_heads": 2, "use_gate": True,
                                             "use_bias": False}, [Q, V, K], {},
                     {"attention_mask": AM}, None),
    "gqa_mqa_fully_masked_row": ("GroupQueryAttention", {
        "head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1, "sliding_window": 2},
        [Q, V], {}, {"value_mask": VM_FULL}, None),
    "attention_causal_scores": ("Attention", {}, [Q4, V4, K4],
                                {"use_causal_mask": True, "return_attention_scores": True},
                                {}, [QM, VM]),
    "attention_scaled_fused": ("Attention", {"use_scale": True}, [Q4, V4, K4], {}, {},
                               [QM, VM_FULL]),
    "attention_concat": ("Attention", {"use_scale": True, "score_mode": "concat"},
                         [Q4, V4, K4], {"return_attention_scores": True}, {}, [None, VM]),
    "additive_causal_scores": ("AdditiveAttention", {}, [Q4, V4, K4],
                               {"use_causal_mask": True, "return_attention_scores": True},
                               {}, [QM, VM]),
    "additive_no_scale": ("AdditiveAttention", {"use_scale": False}, [Q4, V4, K4], {}, {},
                          None),
}


def _np(x):
    return ops.convert_to_numpy(x)


def _positional(cls):
    return cls not in ("Attention", "AdditiveAttention")


def _call(layer, case, backend, inputs=None, **extra):
    """Call `layer` as `case` does, on `backend` tensors."""
    cls, _, case_inputs, kwargs, array_kwargs, mask = CASES[case]
    t = lambda a: None if a is None else to_backend(a, backend)  # noqa: E731
    inputs = [t(a) for a in (case_inputs if inputs is None else inputs)]
    kwargs = {**kwargs, **{k: t(v) for k, v in array_kwargs.items()}, **extra}
    with ops.backend_scope(backend):
        if _positional(cls):
            return layer(*inputs, **kwargs)
        if mask is not None:
            kwargs["mask"] = [t(m) for m in mask]
        return layer(inputs, **kwargs)


def _make(case, backend, weights=None, **config):
    cls, case_config, inputs, kwargs, array_kwargs, mask = CASES[case]
    layer = getattr(layers, cls)(**{**case_config, **config})
    _call(layer, case, backend)
    if weights is not None:
        layer.set_weights(weights)
    return layer


@pytest.fixture(scope="module")
def prepared():
    """Random weights of each case's shapes (the biases nonzero)."""
    rng = np.random.default_rng(1)
    return {case: [rng.standard_normal(w.shape).astype("float32") * 0.5
                   for w in _make(case, "numpy").weights] for case in CASES}


@pytest.fixture(scope="module")
def keras_results(prepared):
    cases = []
    for case, (cls, config, inputs, kwargs, array_kwargs, mask) in CASES.items():
        cases.append({"layer": cls, "config": config, "inputs": inputs, "call_kwargs": kwargs,
                      "array_kwargs": array_kwargs, "mask": mask,
                      "positional": _positional(cls), "weights": prepared[case]})
    return dict(zip(CASES, run_layer_cases(cases)))


# --- independent NumPy formulas ----------------------------------------------------------
def _softmax(x, allowed, zero_hidden_rows=False):
    x = np.where(allowed, x, -1e30)
    e = np.exp(x - x.max(-1, keepdims=True))
    w = e / e.sum(-1, keepdims=True)
    return w * allowed if zero_hidden_rows else w


def _visible(t, s, batch, value_mask=None, key_mask=None, attention_mask=None, causal=False,
             window=None):
    """(batch, T, S) booleans: which key each query step sees."""
    i, j = np.arange(t)[:, None], np.arange(s)[None, :]
    allowed = np.ones((batch, t, s), bool)
    for m in (value_mask, key_mask):
        if m is not None:
            allowed &= m[:, None, :]
    if attention_mask is not None:
        allowed &= attention_mask
    if causal:
        allowed &= j <= i
    if window is not None:
        allowed &= np.abs(i - j) < window
    return allowed


def np_head_attention(weights, query, value, key=None, heads=None, use_bias=True,
                      use_gate=False, explicit=False, query_mask=None, **mask_args):
    """MultiHeadAttention / GroupQueryAttention on rank-3 inputs, in float64."""
    key = value if key is None else key
    w = iter(np.asarray(a, "float64") for a in weights)

    def project(x):
        kernel = next(w)
        out = np.einsum("btd,dnh->btnh", x, kernel)
        return out + next(w) if use_bias else out

    q, k = project(query), project(key)
    g = project(query) if use_gate else None
    v = project(value)
    groups = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    allowed = _visible(q.shape[1], k.shape[1], q.shape[0], **mask_args)[:, None]
    scores = _softmax(logits, allowed, zero_hidden_rows=explicit)
    out = np.einsum("bnts,bsnh->btnh", scores, v)
    if use_gate:
        out = out / (1 + np.exp(-g))
    kernel = next(w)
    out = np.tensordot(out, kernel, axes=([2, 3], [0, 1]))
    out = out + next(w) if use_bias else out
    return out, scores


def np_attention(weights, query, value, key, mode, use_scale, mask=None, causal=False):
    """Attention ('dot', 'concat') and AdditiveAttention ('additive'), in float64."""
    query, value, key = (a.astype("float64") for a in (query, value, key))
    w = [np.asarray(a, "float64") for a in weights]
    if mode == "dot":
        logits = query @ key.transpose(0, 2, 1) * (w[0] if use_scale else 1.0)
    elif mode == "concat":
        scale = w[0] if use_scale else 1.0
        logits = w[-1] * np.tanh(scale * (query[:, :, None] + key[:, None])).sum(-1)
    else:
        logits = ((w[0] if use_scale else 1.0) * np.tanh(query[:, :, None] + key[:, None])).sum(-1)
    query_mask, value_mask = mask if mask is not None else (None, None)
    allowed = _visible(query.shape[1], key.shape[1], query.shape[0], value_mask=value_mask,
                       causal=causal)
    scores = _softmax(logits, allowed)
    out = scores @ value
    return (out if query_mask is None else out * query_mask[..., None]), scores


def numpy_reference(case, weights):
    """Expected outputs of `case` (list: output, then scores if returned); None for the
    N-d cases (checked against Keras only)."""
    cls, config, inputs, kwargs, array_kwargs, mask = CASES[case]
    if cls in ("Attention", "AdditiveAttention"):
        mode = "additive" if cls == "AdditiveAttention" else config.get("score_mode", "dot")
        use_scale = config.get("use_scale", cls == "AdditiveAttention")
        out, scores = np_attention(weights, *inputs, mode, use_scale, mask,
                                   kwargs.get("use_causal_mask", False))
    elif inputs[0].ndim != 3:
        return None
    else:
        explicit = kwargs.get("return_attention_scores", False) or config.get("dropout", 0) > 0
        out, scores = np_head_attention(
            weights, *inputs, use_bias=config.get("use_bias", True),
            use_gate=config.get("use_gate", False), explicit=explicit,
            causal=kwargs.get("use_causal_mask", False), window=config.get("sliding_window"),
            **{k: v for k, v in array_kwargs.items() if k != "query_mask"})
    return [out, scores] if kwargs.get("return_attention_scores") else [out]


# --- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_values_match_numpy_and_keras(case, backend, prepared, keras_results):
    weights = prepared[case]
    layer = _make(case, backend, weights)
    out = _call(layer, case, backend)
    got = [_np(o) for o in (out if isinstance(out, tuple) else (out,))]
    assert all(g.dtype == np.float32 for g in got)
    expected = numpy_reference(case, weights)
    if expected is not None:
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, **TOL)
    keras = keras_results[case]
    assert "error" not in keras, keras
    keras_out = keras["outputs"] if isinstance(keras["outputs"], list) else [keras["outputs"]]
    for g, e in zip(got, keras_out, strict=True):
        np.testing.assert_allclose(g, e, **TOL)


def test_fully_masked_rows_follow_keras_paths(prepared):
    """Keras 3 gives a query row that sees no key uniform weights on the fused path and zero
    weights on the explicit one (dropout > 0 or scores returned): so do we."""
    weights = prepared["mha_fully_masked_row"]
    v = weights[4].astype("float64")
    fused = _np(_call(_make("mha_fully_masked_row", "numpy", weights), "mha_fully_masked_row",
                      "numpy", attention_mask=None))
    values = np.einsum("sd,dnh->snh", V[1], v) + weights[5]
    uniform = np.einsum("nh,nhe->e", values.mean(0), weights[6]) + weights[7]
    np.testing.assert_allclose(fused[1], np.broadcast_to(uniform, (5, 8)), **TOL)
    explicit = _np(_call(_make("mha_dropout_inference", "numpy", prepared["mha_dropout_inference"]),
                         "mha_dropout_inference", "numpy"))
    np.testing.assert_allclose(explicit[1], np.broadcast_to(prepared["mha_dropout_inference"][7],
                                                            (5, 8)), **TOL)


def test_matches_torch_multihead_attention(rng):
    """nn.MultiheadAttention(embed 8, 2 heads, kdim 6, vdim 4) given our mapped weights, with a
    key padding mask and a causal mask, returning per-head weights."""
    torch = pytest.importorskip("torch")
    q, k, v = (rng.standard_normal(s).astype("float32") for s in ((2, 5, 8), (2, 5, 6), (2, 5, 4)))
    vm = _mask((2, 5), [(0, 4), (1, 3)])
    with ops.backend_scope("torch"):
        layer = layers.MultiHeadAttention(2, 4, bias_initializer="random_normal")
        layer(torch.from_numpy(q), torch.from_numpy(v), torch.from_numpy(k))
    qk, qb, kk, kb, vk, vb, ok, ob = layer.get_weights()
    native = torch.nn.MultiheadAttention(8, 2, kdim=6, vdim=4, batch_first=True)
    flat = lambda a: torch.from_numpy(a.reshape(a.shape[0], -1).T.copy())  # noqa: E731
    with torch.no_grad():
        native.q_proj_weight.copy_(flat(qk))
        native.k_proj_weight.copy_(flat(kk))
        native.v_proj_weight.copy_(flat(vk))
        native.in_proj_bias.copy_(torch.from_numpy(np.concatenate([qb.ravel(), kb.ravel(),
                                                                   vb.ravel()])))
        native.out_proj.weight.copy_(torch.from_numpy(ok.reshape(8, 8).T.copy()))
        native.out_proj.bias.copy_(torch.from_numpy(ob))
        expected, expected_scores = native(
            torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
            key_padding_mask=torch.from_numpy(~vm), attn_mask=torch.ones(5, 5).triu(1).bool(),
            average_attn_weights=False)
        for scores in (False, True):
            out = layer(torch.from_numpy(q), torch.from_numpy(v), torch.from_numpy(k),
                        value_mask=torch.from_numpy(vm), use_causal_mask=True,
                        return_attention_scores=scores)
            if scores:
                out, got_scores = out
                np.testing.assert_allclose(got_scores.numpy(), expected_scores.numpy(), **TOL)
            np.testing.assert_allclose(out.numpy(), expected.numpy(), **TOL)


# --- structure vs Keras -------------------------------------------------------------------
def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("case", CASES)
def test_structure_matches_keras(case, prepared, keras_results):
    weights = prepared[case]
    keras = keras_results[case]
    layer = _make(case, "numpy", weights)
    assert [w.shape for w in layer.weights] == [tuple(s) for s in keras["weight_shapes"]]
    for ours, theirs in zip(layer.weights, keras["weight_names"], strict=True):
        assert theirs.endswith(ours.path.split("/", 1)[1] if ours.path.startswith(layer.name)
                               else ours.path), (ours.path, theirs)
    for got, want in zip(layer.get_weights(), keras["weights"], strict=True):
        np.testing.assert_array_equal(got, want)
    config = layer.get_config()
    assert list(config) == list(keras["config"])
    for key, value in config.items():
        if key not in ("name", "dtype") and not key.endswith(("initializer", "regularizer",
                                                               "constraint")):
            assert _plain(value) == keras["config"][key], key
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("case", ["mha_masks_scores", "mha_gate_output_shape", "mha_4d_axis2",
                                  "mha_4d_two_axes", "gqa_causal_scores",
                                  "attention_causal_scores", "additive_no_scale"])
def test_symbolic_shapes_match_eager(case, prepared, keras_results):
    cls, config, inputs, kwargs, array_kwargs, mask = CASES[case]
    layer = _make(case, "numpy", prepared[case])
    eager = _call(layer, case, "numpy")
    eager = [tuple(o.shape) for o in (eager if isinstance(eager, tuple) else (eager,))]
    shapes = [tuple(a.shape) for a in inputs]
    keras_shape = keras_results[case]["output_shape"]
    if cls == "GroupQueryAttention":  # Keras's rule (not its call) wants query dim == value dim
        assert "must be equal" in keras_shape["error"]
        keras_shape = eager[0]
    if _positional(cls):
        assert tuple(keras_shape) == eager[0] == layer.compute_output_shape(*shapes)
        symbolic = layer(*[uk.Input((None,) * (a.ndim - 2) + a.shape[-1:]) for a in inputs],
                         return_attention_scores=kwargs.get("return_attention_scores", False))
    else:
        assert tuple(keras_results[case]["output_shape"]) == eager[0] == (
            layer.compute_output_shape(shapes))
        symbolic = layer([uk.Input((None, a.shape[-1])) for a in inputs],
                         return_attention_scores=kwargs.get("return_attention_scores", False))
    symbolic = [t.shape for t in (symbolic if isinstance(symbolic, tuple) else (symbolic,))]
    assert len(symbolic) == len(eager)
    for sym, real in zip(symbolic, eager):
        assert len(sym) == len(real) and sym[0] is None
        assert all(s is None or s == r for s, r in zip(sym, real))
    assert symbolic[0][-1] == eager[0][-1]  # the output features are known


def test_symbolic_dims_and_masks_in_a_functional_graph():
    q, v = uk.Input((None, 8)), uk.Input((7, 4))
    mask = uk.Input((7,), dtype="bool")
    mha = layers.MultiHeadAttention(2, 3, value_dim=5, output_shape=6)
    out, scores = mha(q, v, value_mask=mask, return_attention_scores=True)
    assert out.shape == (None, None, 6) and scores.shape == (None, 2, None, 7)
    assert mha.compute_mask([q, v], [None, None]) is None
    att = layers.Attention()
    assert att([q, q]).shape == (None, None, 8)
    model = uk.Model([q, v, mask], [out, scores])
    assert len(model.get_weights()) == 8


def test_embedding_masks_reach_multi_head_attention_in_a_model():
    """Keras: inputs carrying a mask (Embedding(mask_zero=True)) give the padding masks
    (MultiHeadAttention's query/value masks, Attention's `mask` list)."""
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]])
    with ops.backend_scope("numpy"):
        tokens = uk.Input((5,), dtype="int32")
        embedding = layers.Embedding(10, 8, mask_zero=True)
        embedded = embedding(tokens)
        mha, attention = layers.MultiHeadAttention(2, 4), layers.Attention()
        out = mha(embedded, embedded)
        assert out._keras_mask is embedded._keras_mask
        model = uk.Model(tokens, [out, attention([embedded, embedded])])
        got, got_attention = model(ids)
        emb, mask = embedding(ids), ids != 0
        expected = mha(emb, emb, query_mask=mask, value_mask=mask)
        expected_attention = attention([emb, emb], mask=[mask, mask])
        unmasked = mha(emb, emb)
    np.testing.assert_allclose(got, expected, **TOL)
    np.testing.assert_allclose(got_attention, expected_attention, **TOL)
    assert not np.allclose(got, unmasked, atol=1e-3)
    assert not np.any(got_attention[ids == 0])  # masked query steps are zeroed


# --- training mode ------------------------------------------------------------------------
def test_dropout_follows_torch_train_and_eval(prepared):
    torch = pytest.importorskip("torch")
    from unikeras.adapters.torch_nn import to_torch
    layer = _make("mha", "torch", prepared["mha"], dropout=0.5, seed=3)
    module = to_torch(layer)
    q, v = torch.from_numpy(Q), torch.from_numpy(V)
    expected, _ = np_head_attention(prepared["mha"], Q, V, explicit=True)
    module.eval()
    np.testing.assert_allclose(module(q, v).detach().numpy(), expected, **TOL)
    module.train()
    first, second = module(q, v).detach().numpy(), module(q, v).detach().numpy()
    assert not np.allclose(first, expected, atol=1e-3) and not np.allclose(first, second)

    attention = layers.Attention(dropout=0.5, seed=4)
    with ops.backend_scope("torch"):
        attention([torch.from_numpy(Q4), torch.from_numpy(K4)])
    module = to_torch(attention)
    _, clean = np_attention([], Q4, K4, K4, "dot", False)
    module.train()
    _, dropped = module([torch.from_numpy(Q4), torch.from_numpy(K4)],
                        return_attention_scores=True)
    dropped = dropped.numpy()
    kept = dropped != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(dropped[kept], 2 * clean[kept], rtol=1e-5)
    module.eval()
    _, weights = module([torch.from_numpy(Q4), torch.from_numpy(K4)],
                        return_attention_scores=True)
    np.testing.assert_allclose(weights.numpy(), clean, **TOL)


# --- gradients ----------------------------------------------------------------------------
def _torch_grads(layer, cotangent):
    import torch
    from unikeras.adapters.torch_nn import to_torch
    module = to_torch(layer)
    q = torch.tensor(Q, requires_grad=True)
    out = module(q, torch.from_numpy(V), value_mask=torch.from_numpy(VM_GRAD),
                 use_causal_mask=True)
    (out * torch.from_numpy(cotangent)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    return grads, q.grad.numpy()


def _jax_grads(layer, cotangent):
    import jax.numpy as jnp
    from flax import nnx
    from unikeras.adapters.flax import to_flax

    def loss(model, q):
        out = model(q, jnp.asarray(V), value_mask=jnp.asarray(VM_GRAD), use_causal_mask=True)
        return jnp.sum(out * cotangent)
    grads, q_grad = nnx.grad(loss, argnums=(0, 1))(to_flax(layer), jnp.asarray(Q))
    flat = {".".join(map(str, path)): np.asarray(value.get_value() if hasattr(value, "get_value")
                                                 else value)
            for path, value in nnx.to_flat_state(grads)}
    return flat, np.asarray(q_grad)


def test_gradients_agree_torch_and_jax(prepared):
    if not {"torch", "jax"} <= set(FRAMEWORKS):
        pytest.skip("needs the torch and jax backends")
    weights = prepared["mha"]
    cotangent = np.random.default_rng(5).standard_normal((2, 5, 8)).astype("float32")
    torch_grads, torch_q = _torch_grads(_make("mha", "torch", weights), cotangent)
    jax_grads, jax_q = _jax_grads(_make("mha", "jax", weights), cotangent)
    assert sorted(torch_grads) == sorted(jax_grads) == sorted(
        ["query.kernel", "query.bias", "key.kernel", "key.bias", "value.kernel", "value.bias",
         "attention_output.kernel", "attention_output.bias"])
    for name, grad in torch_grads.items():
        assert np.abs(grad).sum() > 0, name
        np.testing.assert_allclose(jax_grads[name], grad, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jax_q, torch_q, rtol=1e-4, atol=1e-5)


def test_tf_function_with_unknown_steps(prepared):
    """Causal and sliding-window bands built inside a tf.function whose steps are None."""
    tf = pytest.importorskip("tensorflow")
    from unikeras.adapters.tf_module import to_tf
    weights = prepared["mha"]
    module = to_tf(_make("mha", "tensorflow", weights, sliding_window=3))
    spec = [tf.TensorSpec([None, None, 8]), tf.TensorSpec([None, None, 4]),
            tf.TensorSpec([None, None], tf.bool)]

    @tf.function(input_signature=spec)
    def both_paths(q, v, mask):
        fused = module(q, v, value_mask=mask, use_causal_mask=True)
        return fused, module(q, v, value_mask=mask, use_causal_mask=True,
                             return_attention_scores=True)

    fused, (explicit, scores) = both_paths(Q, V, VM_GRAD)
    mask_args = dict(value_mask=VM_GRAD, causal=True, window=3)
    expected, expected_scores = np_head_attention(weights, Q, V, explicit=True, **mask_args)
    np.testing.assert_allclose(fused.numpy(), np_head_attention(weights, Q, V, **mask_args)[0],
                               **TOL)
    np.testing.assert_allclose(explicit.numpy(), expected, **TOL)
    np.testing.assert_allclose(scores.numpy(), expected_scores, **TOL)


# --- OpenVINO -----------------------------------------------------------------------------
def test_openvino_graph_matches_numpy_backend():
    pytest.importorskip("openvino")
    from unikeras.adapters import openvino as uov
    with ops.backend_scope("numpy"):
        q, v = uk.Input((None, 8)), uk.Input((6, 4))
        mask = uk.Input((6,), dtype="bool")
        mha = layers.MultiHeadAttention(2, 3, bias_initializer="random_normal")
        fused = mha(q, v, value_mask=mask, use_causal_mask=True)
        gqa_out, gqa_scores = layers.GroupQueryAttention(2, 4, 2, sliding_window=2)(
            q, v, value_mask=mask, return_attention_scores=True)
        attention = layers.Attention(use_scale=True)([q, q], use_causal_mask=True)
        additive, additive_scores = layers.AdditiveAttention()(
            [q, q], use_causal_mask=True, return_attention_scores=True)
        model = uk.Model([q, v, mask], [fused, gqa_out, gqa_scores, attention, additive,
                                        additive_scores])
    compiled = uov.compile(model)
    rng = np.random.default_rng(2)
    for batch, steps in ((2, 5), (3, 7)):              # dynamic batch and query steps
        qb = rng.standard_normal((batch, steps, 8)).astype("float32")
        vb = rng.standard_normal((batch, 6, 4)).astype("float32")
        mb = rng.uniform(size=(batch, 6)) > 0.3
        mb[:, 0] = True
        with ops.backend_scope("numpy"):
            expected = model([qb, vb, mb])
        got = compiled(qb, vb, mb)
        assert len(got) == len(expected) == 6
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, **TOL)


# --- bad input ----------------------------------------------------------------------------
def test_bad_feature_dims_and_masks_name_the_layer(backend):
    t = lambda a: to_backend(a, backend)  # noqa: E731
    with ops.backend_scope(backend):
        mha = layers.MultiHeadAttention(2, 3, name="mha_bad")
        mha(t(Q), t(V))
        with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha_bad'.*\(2, 5, 7\)"):
            mha(t(Q[..., :7]), t(V))
        with pytest.raises(ValueError, match=r"'mha_bad'.*value_mask.*\(2, 6\).*\(2, 5\)"):
            mha(t(Q), t(V), value_mask=t(QM))
        with pytest.raises(ValueError,
                           match=r"'mha_bad'.*attention_mask.*\(2, 5, 6\).*\(2, 5, 5\)"):
            mha(t(Q), t(V), attention_mask=t(np.ones((2, 5, 5), bool)))
        with pytest.raises(ValueError, match=r"'mha_bad'.*\(2, 5, 8\), \(2, 4, 4\), \(2, 6, 4\)"):
            mha(t(Q), t(V[:, :4]), t(V))
        att = layers.Attention(name="att_bad")
        with pytest.raises(ValueError, match=r"Attention 'att_bad'.*\(2, 5, 4\), \(2, 6, 3\)"):
            att([t(Q4), t(V4)])
        with pytest.raises(ValueError, match=r"Attention 'att_bad'.*list"):
            att(t(Q4))
        att([t(Q4), t(K4)])
        with pytest.raises(ValueError, match=r"'att_bad'.*value mask.*\(2, 6\).*\(2, 5\)"):
            att([t(Q4), t(K4)], mask=[None, t(QM)])
    with pytest.raises(ValueError, match=r"GroupQueryAttention 'gqa_bad'.*divisible"):
        layers.GroupQueryAttention(2, 4, 3, name="gqa_bad")
    with pytest.raises(ValueError, match=r"Attention 'att_mode'.*score_mode"):
        layers.Attention(score_mode="general", name="att_mode")
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha_heads'.*num_heads"):
        layers.MultiHeadAttention(0, 3, name="mha_heads")


def test_bad_symbolic_mask_names_the_layer():
    mha = layers.MultiHeadAttention(2, 3, name="mha_sym")
    with pytest.raises(ValueError, match=r"'mha_sym'.*value_mask.*\(None, 6\).*\(None, 5\)"):
        mha(uk.Input((5, 8)), uk.Input((6, 4)), value_mask=uk.Input((5,), dtype="bool"))
    mha4 = layers.MultiHeadAttention(2, 3, name="mha_4d")
    with pytest.raises(ValueError, match=r"'mha_4d'.*rank-3"):
        mha4(uk.Input((3, 4, 8)), uk.Input((3, 4, 8)), use_causal_mask=True)
