"""The torch adapter's logits memo (`softmax`/`sigmoid` outputs remember their input, and
cross-entropies on probabilities then run the fused kernel on the logits): values and
gradients against NumPy math written here, and the cases where the memo must not be used
(probabilities changed in place, a leaf that requires grad, a different axis); plus the
in-place `Variable.assign_add` the metrics use."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unikeras import ops  # noqa: E402
from unikeras.common.variables import Variable  # noqa: E402

RNG = np.random.default_rng(5)
LOGITS = (RNG.standard_normal((6, 4)) * 3).astype("float32")
LABELS = np.array([0, 3, 1, 2, 2, 0])


def _log_softmax(z, axis=-1):
    z = z.astype("float64")
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _sparse_ce(z, labels):
    return -_log_softmax(z)[np.arange(len(labels)), labels]


def _softmax_grad(z, labels):
    """d(sum of sparse CE)/dz = softmax(z) - one_hot(labels)."""
    return np.exp(_log_softmax(z)) - np.eye(z.shape[-1])[labels]


@pytest.mark.parametrize("loss", ["sparse", "categorical"])
def test_cross_entropy_of_softmax_equals_numpy_with_gradient(loss):
    z = torch.tensor(LOGITS, requires_grad=True)
    probs = ops.softmax(z)
    if loss == "sparse":
        value = ops.sparse_categorical_crossentropy(torch.tensor(LABELS), probs)
    else:
        value = ops.categorical_crossentropy(torch.tensor(np.eye(4, dtype="float32")[LABELS]),
                                             probs)
    np.testing.assert_allclose(value.detach().numpy(), _sparse_ce(LOGITS, LABELS), rtol=1e-6, atol=1e-6)
    (grad,) = torch.autograd.grad(value.sum(), z)
    np.testing.assert_allclose(grad.numpy(), _softmax_grad(LOGITS, LABELS), atol=1e-6)


def test_saturated_softmax_gives_the_exact_loss_not_the_clipped_one():
    z = np.array([[40.0, 0.0, 0.0]], "float32")   # p(class 1) = e^-40, far below 1e-7
    value = ops.sparse_categorical_crossentropy(torch.tensor([1]), ops.softmax(torch.tensor(z)))
    np.testing.assert_allclose(value.numpy(), [40.0], rtol=1e-6)


def test_binary_crossentropy_of_sigmoid_equals_numpy():
    z = torch.tensor(LOGITS, requires_grad=True)
    t = (RNG.random(LOGITS.shape) > 0.5).astype("float32")
    value = ops.binary_crossentropy(torch.tensor(t), ops.sigmoid(z))
    z64 = LOGITS.astype("float64")
    expected = np.maximum(z64, 0) - z64 * t + np.log1p(np.exp(-np.abs(z64)))
    np.testing.assert_allclose(value.detach().numpy(), expected, rtol=1e-6, atol=1e-7)
    (grad,) = torch.autograd.grad(value.sum(), z)
    np.testing.assert_allclose(grad.numpy(), 1 / (1 + np.exp(-z64)) - t, atol=1e-6)


def test_probabilities_changed_in_place_are_used_as_they_are():
    probs = ops.softmax(torch.tensor(LOGITS))
    probs.copy_(torch.full_like(probs, 0.25))
    value = ops.sparse_categorical_crossentropy(torch.tensor(LABELS), probs)
    np.testing.assert_allclose(value.numpy(), np.full(6, np.log(4.0)), rtol=1e-6)


def test_a_leaf_of_probabilities_gets_its_own_gradient():
    probs = ops.softmax(torch.tensor(LOGITS)).requires_grad_(True)   # a leaf: no history
    value = ops.sparse_categorical_crossentropy(torch.tensor(LABELS), probs)
    (grad,) = torch.autograd.grad(value.sum(), probs)
    p = probs.detach().numpy().astype("float64")
    expected = np.zeros_like(p)
    # d(-log(p_y / sum p))/dp = -1/p_y at the label, plus 1/sum(p) everywhere
    expected[np.arange(6), LABELS] -= 1 / p[np.arange(6), LABELS]
    expected += 1 / p.sum(-1, keepdims=True)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-5)


def test_softmax_over_another_axis_is_not_taken_for_the_loss_axis():
    probs = ops.softmax(torch.tensor(LOGITS), axis=0)
    value = ops.sparse_categorical_crossentropy(torch.tensor(LABELS), probs)
    p = probs.numpy().astype("float64")
    p = p / p.sum(-1, keepdims=True)
    np.testing.assert_allclose(value.numpy(), -np.log(p[np.arange(6), LABELS]), rtol=1e-6, atol=1e-6)


def test_softmax_under_inference_mode():
    with torch.inference_mode():
        value = ops.sparse_categorical_crossentropy(torch.tensor(LABELS),
                                                    ops.softmax(torch.tensor(LOGITS)))
    np.testing.assert_allclose(value.numpy(), _sparse_ce(LOGITS, LABELS), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("delta", [2.5, np.float32(2.5), "tensor", "float64 tensor"])
def test_assign_add_in_place_and_through_assign(delta):
    with ops.backend_scope("torch"):
        v = Variable(np.float32(1.0), trainable=False)
    storage = v.value
    if delta == "tensor":
        delta = torch.tensor(2.5)
    elif delta == "float64 tensor":
        delta = torch.tensor(2.5, dtype=torch.float64)
    v.assign_add(delta)
    assert v.value is storage and storage.dtype is torch.float32
    assert float(v.value) == 3.5
    with ops.backend_scope("torch"):
        counter = Variable(np.int64(3), dtype="int64", trainable=False)
    counter.assign_add(2)
    assert counter.value.dtype is torch.int64 and int(counter.value) == 5
