"""The tensorflow adapter's logits memo: inside `tf.function`, cross-entropies of `softmax`
and `sigmoid` outputs run on the logits (values and gradients against NumPy math written
here, the exact loss where clipping would saturate); eager probabilities carry no memo, so
a tape watching them differentiates the probabilities themselves."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from unikeras import ops  # noqa: E402

RNG = np.random.default_rng(8)
LOGITS = (RNG.standard_normal((6, 4)) * 3).astype("float32")
LABELS = np.array([0, 3, 1, 2, 2, 0])


def _log_softmax(z):
    z = z.astype("float64") - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


@tf.function
def _sparse_ce_and_grad(z, labels):
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = ops.sparse_categorical_crossentropy(labels, ops.softmax(z))
        total = tf.reduce_sum(loss)
    return loss, tape.gradient(total, z)


def test_sparse_crossentropy_of_softmax_in_a_graph_equals_numpy():
    loss, grad = _sparse_ce_and_grad(tf.constant(LOGITS), tf.constant(LABELS))
    lsm = _log_softmax(LOGITS)
    np.testing.assert_allclose(loss.numpy(), -lsm[np.arange(6), LABELS], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad.numpy(), np.exp(lsm) - np.eye(4)[LABELS], atol=1e-6)


def test_saturated_softmax_in_a_graph_gives_the_exact_loss():
    loss, _ = _sparse_ce_and_grad(tf.constant([[40.0, 0.0, 0.0]]), tf.constant([1]))
    np.testing.assert_allclose(loss.numpy(), [40.0], rtol=1e-6)   # clipped: 16.1


def test_binary_crossentropy_of_sigmoid_in_a_graph_equals_numpy():
    t = (RNG.random(LOGITS.shape) > 0.5).astype("float32")
    f = tf.function(lambda z: ops.binary_crossentropy(tf.constant(t), ops.sigmoid(z)))
    z = LOGITS.astype("float64")
    expected = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    np.testing.assert_allclose(f(tf.constant(LOGITS)).numpy(), expected, rtol=1e-6, atol=1e-7)


def test_eager_probabilities_watched_by_a_tape_get_their_own_gradient():
    probs = ops.softmax(tf.constant(LOGITS))
    with tf.GradientTape() as tape:
        tape.watch(probs)
        loss = tf.reduce_sum(ops.sparse_categorical_crossentropy(tf.constant(LABELS), probs))
    grad = tape.gradient(loss, probs).numpy()
    p = probs.numpy().astype("float64")
    expected = np.zeros_like(p)
    expected[np.arange(6), LABELS] -= 1 / p[np.arange(6), LABELS]
    expected += 1 / p.sum(-1, keepdims=True)
    np.testing.assert_allclose(grad, expected, rtol=1e-5)
