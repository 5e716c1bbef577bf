"""The jax adapter's max pooling over non-overlapping windows (strides = pool size, valid
padding), whose gradient is computed on tiles instead of by `select_and_scatter`: values
and gradients must equal `lax.reduce_window`'s (the general path) bit for bit, ties
included (the first maximum of a window in row-major order takes the gradient, as in
torch's `max_pool2d`), in 1D/2D/3D, both data formats, and with remainders cropped."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from unikeras import ops  # noqa: E402

CASES = [((2, 7, 9, 3), (2, 2), "channels_last"),
         ((2, 3, 7, 9), (2, 3), "channels_first"),
         ((2, 8, 3), (2,), "channels_last"),
         ((1, 4, 6, 5, 2), (2, 2, 2), "channels_last")]


def _window_max(x, pool, fmt):
    dims = (1,) + pool + (1,) if fmt == "channels_last" else (1, 1) + pool
    return lax.reduce_window(x, -jnp.inf, lax.max, dims, dims, "VALID")


@pytest.mark.parametrize("shape, pool, fmt", CASES)
def test_values_and_gradients_equal_reduce_window(shape, pool, fmt):
    x = jnp.asarray(np.random.default_rng(3).standard_normal(shape).astype("float32"))
    out = ops.max_pool(x, pool, data_format=fmt)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(_window_max(x, pool, fmt)))
    weights = jnp.asarray(np.random.default_rng(4).standard_normal(out.shape).astype("float32"))
    grad = jax.grad(lambda a: jnp.sum(ops.max_pool(a, pool, data_format=fmt) * weights))(x)
    expected = jax.grad(lambda a: jnp.sum(_window_max(a, pool, fmt) * weights))(x)
    np.testing.assert_array_equal(np.asarray(grad), np.asarray(expected))
    assert float(jnp.abs(grad).sum()) > 0


def test_ties_send_the_gradient_to_the_first_maximum_as_torch_does():
    x = np.zeros((1, 4, 4, 1), "float32")   # windows of equal values, and one real maximum
    x[0, 0, 0, 0] = 1.0
    x[0, 2:, 2:, 0] = 2.0
    weights = np.arange(1.0, 5.0, dtype="float32").reshape(1, 2, 2, 1)
    grad = jax.grad(lambda a: jnp.sum(ops.max_pool(a, (2, 2)) * weights))(jnp.asarray(x))
    t = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    (torch.nn.functional.max_pool2d(t, 2) * torch.tensor(weights.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_array_equal(np.asarray(grad)[..., 0], t.grad.numpy()[:, 0])
    np.testing.assert_array_equal(np.asarray(grad)[0, :, :, 0],
                                  [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


def test_under_jit_with_overlapping_windows_unchanged():
    x = jnp.asarray(np.random.default_rng(5).standard_normal((2, 6, 6, 2)).astype("float32"))
    f = jax.jit(lambda a: ops.max_pool(a, (3, 3), strides=(2, 2)))   # the general path
    dims, strides = (1, 3, 3, 1), (1, 2, 2, 1)
    np.testing.assert_array_equal(
        np.asarray(f(x)), np.asarray(lax.reduce_window(x, -jnp.inf, lax.max, dims, strides,
                                                       "VALID")))


def test_forward_mode_derivative_equals_reduce_window():
    x = jnp.asarray(np.random.default_rng(6).standard_normal((2, 6, 4, 3)).astype("float32"))
    t = jnp.asarray(np.random.default_rng(7).standard_normal(x.shape).astype("float32"))
    _, tangent = jax.jvp(lambda a: ops.max_pool(a, (2, 2)), (x,), (t,))
    _, expected = jax.jvp(lambda a: _window_max(a, (2, 2), "channels_last"), (x,), (t,))
    np.testing.assert_array_equal(np.asarray(tangent), np.asarray(expected))
