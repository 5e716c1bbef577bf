"""Common ops called through `unikeras.ops` inside compiled functions (torch.compile with the
aot_eager backend, jax.jit, tf.function) give the eager results."""
import numpy as np
import pytest

from unikeras import ops
from tests.conftest import FRAMEWORKS, to_backend

R = np.random.default_rng(3)
F = lambda *s: R.standard_normal(s).astype("float32")  # noqa: E731

# (name, function of backend tensors, NumPy inputs)
CASES = [
    ("add", lambda a, b: ops.add(a, b), (F(3, 4), F(4))),
    ("matmul", lambda a, b: ops.matmul(a, b), (F(2, 3, 4), F(4, 5))),
    ("softmax", lambda a: ops.softmax(a, axis=-1), (F(3, 6),)),
    ("sum", lambda a: ops.sum(a, axis=(0, 2), keepdims=True), (F(2, 3, 4),)),
    ("reshape", lambda a: ops.reshape(a, (3, -1)), (F(2, 6),)),
    ("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), (F(2, 3), F(2, 5))),
    ("where", lambda c, a, b: ops.where(c, a, b), (F(3, 4) > 0, F(3, 4), F(4))),
    ("cumsum", lambda a: ops.cumsum(a, axis=1), (F(3, 5),)),
    ("einsum", lambda a, b: ops.einsum("bij,bjk->bik", a, b), (F(2, 3, 4), F(2, 4, 2))),
    ("composite", lambda a, b: ops.sum(ops.softmax(ops.matmul(a, b) + 1.0, axis=-1) * 2.0,
                                       axis=0), (F(4, 3), F(3, 5))),
]
if hasattr(ops, "conv"):
    CASES.append(("conv", lambda x, k: ops.conv(x, k, strides=1, padding="same"),
                  (F(2, 8, 8, 3), F(3, 3, 3, 4))))


def _compiler(backend):
    if backend == "torch":
        import torch
        return lambda fn: torch.compile(fn, backend="aot_eager")
    if backend == "jax":
        import jax
        return jax.jit
    import tensorflow as tf
    return tf.function


@pytest.mark.parametrize("backend", FRAMEWORKS)
@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_compiled_matches_eager(backend, name, fn, inputs):
    args = [to_backend(x, backend) for x in inputs]
    with ops.backend_scope(backend):
        eager = fn(*args)
        compiled = _compiler(backend)(fn)(*args)
    e, c = ops.convert_to_numpy(eager), ops.convert_to_numpy(compiled)
    assert c.shape == e.shape and c.dtype == e.dtype, name
    np.testing.assert_allclose(c, e, rtol=1e-5, atol=1e-6, err_msg=name)
    # And the eager result is right (independent NumPy formula for a few).
    if name == "add":
        np.testing.assert_allclose(e, inputs[0] + inputs[1], rtol=1e-6)
    elif name == "matmul":
        np.testing.assert_allclose(e, inputs[0] @ inputs[1], rtol=1e-5, atol=1e-5)
    elif name == "cumsum":
        np.testing.assert_allclose(e, np.cumsum(inputs[0], axis=1), rtol=1e-5, atol=1e-6)
    elif name == "where":
        np.testing.assert_array_equal(e, np.where(*inputs))
