"""Query rows that see no key (every key masked): forward values and gradients.

Such a row averages all values with uniform weights (Keras's masked softmax: every logit is
the same large negative), and since Keras selects that negative with `where`, no gradient
reaches the row's query, the keys through it, or its bias (Keras 3.15's MultiHeadAttention
on jax gives exactly zero there). Checked for `ops.nn.dot_product_attention` against a
NumPy forward and hand-written backward, and for MultiHeadAttention and Attention (their
fused paths run that op) against a NumPy forward, with torch's gradients equal to jax's and
tensorflow's."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS, to_backend

RTOL, ATOL = 1e-5, 1e-5
R = np.random.default_rng(3)


def _f32(*shape):
    return R.standard_normal(shape).astype("float32")


def _visible(shape, p=0.6):
    """A random boolean mask over the last axis (keys) where every row sees key 1."""
    m = R.uniform(size=shape) < p
    m[..., 1] = True
    return m


# --- ops.nn.dot_product_attention cases: (B, T, N, H) query, (B, S, N, H) key/value --------------
OP_Q, OP_K, OP_V, OP_BIAS = _f32(2, 5, 2, 3), _f32(2, 6, 2, 3), _f32(2, 6, 2, 4), _f32(2, 2, 5, 6)
OP_MASK = _visible((2, 2, 5, 6))
OP_MASK[0, :, 1] = False            # row 1 of batch 0 sees nothing, in both heads
OP_MASK[1, 1, 3] = False            # row 3 of batch 1, head 1 only
OP_KEY_PAD = np.ones((2, 1, 1, 6), bool)
OP_KEY_PAD[1] = False               # batch 1 sees no key at all (a broadcast mask)
OP_KEY_PAD[0, ..., 0] = False       # with is_causal, row 0 of batch 0 sees nothing
OP_CASES = {   # id: (mask, bias or None, scale or None, is_causal)
    "mask_bias": (OP_MASK, OP_BIAS, 0.7, False),
    "key_padding_causal": (OP_KEY_PAD, None, None, True),
    "no_blind_row": (_visible((2, 1, 5, 6)), OP_BIAS, None, False),   # the ordinary path
}

# --- layers --------------------------------------------------------------------------------
MHA_Q, MHA_V = _f32(2, 5, 8), _f32(2, 6, 4)
MHA_MASK = _visible((2, 5, 6))
MHA_MASK[0, 2] = False
MHA_MASK[1, 4] = False
ATT_Q, ATT_V = _f32(2, 5, 4), _f32(2, 6, 4)
ATT_VALUE_MASK = np.ones((2, 6), bool)
ATT_VALUE_MASK[0, :2] = False       # causal rows 0 and 1 of batch 0 see nothing
ATT_VALUE_MASK[1] = False           # batch 1 sees nothing


def _mha(backend):
    """Built by a symbolic call (no eager ops to compile on jax)."""
    with ops.backend_scope(backend):
        layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
        layer(uk.Input(MHA_Q.shape[1:]), uk.Input(MHA_V.shape[1:]))
    return layer


def _attention(backend):
    with ops.backend_scope(backend):
        layer = layers.Attention(use_scale=True)
        layer([uk.Input(ATT_Q.shape[1:]), uk.Input(ATT_V.shape[1:])])
    return layer


# --- NumPy references (float64) -------------------------------------------------------------
def _np_weights(logits, allowed):
    """Softmax over the allowed keys; uniform over all keys in a row that sees none."""
    allowed = np.broadcast_to(allowed, logits.shape)
    shifted = np.where(allowed, logits, -np.inf)
    top = shifted.max(-1, keepdims=True)
    e = np.where(allowed, np.exp(shifted - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(-1, keepdims=True)
    uniform = np.full_like(logits, 1.0 / logits.shape[-1])
    return np.where(total > 0, e / np.where(total > 0, total, 1.0), uniform)


def _np_allowed(mask, causal, t, s):
    allowed = np.broadcast_to(mask, mask.shape[:-2] + (t, s))
    return allowed & np.tril(np.ones((t, s), bool)) if causal else allowed


def np_attention_op(q, k, v, mask, bias, scale, causal, d_out):
    """Forward and (dq, dk, dv, dbias) of sum(out * d_out), the masked logits selected with
    `where` (no gradient reaches a masked logit)."""
    q, k, v, d_out = (a.astype("float64") for a in (q, k, v, d_out))
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    allowed = _np_allowed(mask, causal, q.shape[1], k.shape[1])
    logits = scale * np.einsum("btnh,bsnh->bnts", q, k)
    if bias is not None:
        logits = logits + bias
    p = _np_weights(logits, allowed)
    out = np.einsum("bnts,bsnh->btnh", p, v)
    dv = np.einsum("bnts,btnh->bsnh", p, d_out)
    dp = np.einsum("btnh,bsnh->bnts", d_out, v)
    dlogits = np.where(allowed, p * (dp - (p * dp).sum(-1, keepdims=True)), 0.0)
    dq = scale * np.einsum("bnts,bsnh->btnh", dlogits, k)
    dk = scale * np.einsum("bnts,btnh->bsnh", dlogits, q)
    return out, [dq, dk, dv] + ([] if bias is None else [dlogits])


def np_mha(weights, query, value, mask):
    wq, bq, wk, bk, wv, bv, wo, bo = (w.astype("float64") for w in weights)
    q = np.einsum("btd,dnh->btnh", query, wq) + bq
    k = np.einsum("bsd,dnh->bsnh", value, wk) + bk
    v = np.einsum("bsd,dnh->bsnh", value, wv) + bv
    p = _np_weights(np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1]), mask[:, None])
    return np.einsum("btnh,nhe->bte", np.einsum("bnts,bsnh->btnh", p, v), wo) + bo


def np_attention_layer(scale, query, value, value_mask):
    allowed = _np_allowed(value_mask[:, None, :], True, query.shape[1], value.shape[1])
    p = _np_weights(float(scale) * query.astype("float64") @ value.transpose(0, 2, 1), allowed)
    return p @ value


# --- each backend's outputs and gradients -----------------------------------------------------
def _vjp(backend, fn, arrays, cotangent):
    """(fn(*arrays), d sum(fn * cotangent) / d arrays) on `backend`, all as NumPy."""
    if backend == "torch":
        import torch
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*tensors)
        (out * torch.from_numpy(cotangent)).sum().backward()
        return out.detach().numpy(), [t.grad.numpy() for t in tensors]
    if backend == "jax":
        import jax

        @jax.jit   # one compilation, not one per eager primitive
        def forward_and_back(*values):
            out, pullback = jax.vjp(fn, *values)
            return out, pullback(cotangent)
        out, grads = forward_and_back(*arrays)
        return np.asarray(out), [np.asarray(g) for g in grads]
    import tensorflow as tf
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
        loss = tf.reduce_sum(out * cotangent)
    return out.numpy(), [g.numpy() for g in tape.gradient(loss, tensors)]


def _cotangent(shape):
    return np.random.default_rng(11).standard_normal(shape).astype("float32")


def _run_cases(backend, weights):
    """{case: (output, gradients)} on `backend`: the op cases (wrt q, k, v(, bias)), MHA
    (wrt its weights, query, value) and Attention (wrt its scale, query, value)."""
    results = {}
    t = lambda a: to_backend(a, backend)  # noqa: E731
    with ops.backend_scope(backend):
        for case, (mask, bias, scale, causal) in OP_CASES.items():
            def op(q, k, v, *b, mask=mask, scale=scale, causal=causal):
                return ops.nn.dot_product_attention(q, k, v, bias=b[0] if b else None,
                                                    mask=t(mask), scale=scale,
                                                    is_causal=causal)
            arrays = [OP_Q, OP_K, OP_V] + ([] if bias is None else [bias])
            results[case] = _vjp(backend, op, arrays, _cotangent(OP_Q.shape[:3] + (4,)))
        mha, mask = _mha(backend), t(MHA_MASK)

        def mha_call(*values):
            return mha.stateless_call(list(values[:-2]), [], values[-2], values[-1],
                                      attention_mask=mask)[0]
        results["mha"] = _vjp(backend, mha_call, weights["mha"] + [MHA_Q, MHA_V],
                              _cotangent(MHA_Q.shape))
        attention, value_mask = _attention(backend), t(ATT_VALUE_MASK)

        def attention_call(scale, query, value):
            return attention.stateless_call([scale], [], [query, value],
                                            mask=[None, value_mask], use_causal_mask=True)[0]
        results["attention"] = _vjp(backend, attention_call, weights["attention"] + [ATT_Q, ATT_V],
                                    _cotangent(ATT_Q.shape[:2] + (4,)))
    return results


@pytest.fixture(scope="module")
def weights():
    rng = np.random.default_rng(5)
    mha = [rng.standard_normal(w.shape).astype("float32") * 0.5 for w in _mha("numpy").weights]
    return {"mha": mha, "attention": [np.array(0.8, "float32")]}


@pytest.fixture(scope="module")
def results(weights):
    return {backend: _run_cases(backend, weights) for backend in FRAMEWORKS}


@pytest.fixture(params=FRAMEWORKS)
def backend(request):
    return request.param


def test_values_and_op_gradients_match_numpy(backend, results, weights):
    got = results[backend]
    for case, (mask, bias, scale, causal) in OP_CASES.items():
        out, grads = got[case]
        want_out, want_grads = np_attention_op(OP_Q, OP_K, OP_V, mask, bias, scale, causal,
                                               _cotangent(out.shape))
        np.testing.assert_allclose(out, want_out, rtol=RTOL, atol=ATOL, err_msg=case)
        assert len(grads) == len(want_grads)
        for name, g, w in zip(("query", "key", "value", "bias"), grads, want_grads):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{case} d{name}")
    np.testing.assert_allclose(got["mha"][0], np_mha(weights["mha"], MHA_Q, MHA_V, MHA_MASK),
                               rtol=RTOL, atol=ATOL, err_msg="mha")
    np.testing.assert_allclose(got["attention"][0],
                               np_attention_layer(weights["attention"][0], ATT_Q, ATT_V,
                                                  ATT_VALUE_MASK),
                               rtol=RTOL, atol=ATOL, err_msg="attention")


def test_blind_rows_pass_no_gradient_to_their_queries(backend, results):
    """Exactly zero, as Keras's `where` gives; the other rows do get gradients."""
    dq = results[backend]["mask_bias"][1][0]
    assert not dq[0, 1].any() and not dq[1, 3, 1].any()
    assert np.abs(dq[1, 3, 0]).min() > 0 and np.abs(dq[0, 2]).min() > 0
    d_query = results[backend]["mha"][1][-2]
    assert not d_query[0, 2].any() and not d_query[1, 4].any()
    assert np.abs(d_query[0, 1]).min() > 0
    d_query = results[backend]["attention"][1][1]
    assert not d_query[1].any() and not d_query[0, :2].any()
    assert np.abs(d_query[0, 3:]).min() > 0   # row 2 sees one key: no logit gradient


def test_torch_gradients_equal_jax_and_tensorflow(results):
    others = [b for b in FRAMEWORKS if b != "torch"]
    if "torch" not in FRAMEWORKS or not others:
        pytest.skip("needs torch and another framework backend")
    for case, (_, torch_grads) in results["torch"].items():
        for other in others:
            grads = results[other][case][1]
            assert len(grads) == len(torch_grads)
            for i, (a, b) in enumerate(zip(torch_grads, grads)):
                np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL,
                                           err_msg=f"{case}: gradient {i}, torch vs {other}")
