"""The fused torch optimizer kernels update large tensors one at a time and small ones
together (`optimizer_kernels.LARGE`); element by element the arithmetic is the same, so
the results must be bit-identical to one multi-tensor pass over all of them."""
import numpy as np
import pytest

from unikeras import ops
from unikeras import optimizers as O
from unikeras.common.variables import Variable, runtime
from tests.conftest import FRAMEWORKS

R = np.random.default_rng(5)
SHAPES = {"w": (6, 5), "b": (5,), "v": (4, 4)}
INIT = {k: R.standard_normal(s).astype("float32") for k, s in SHAPES.items()}
GRADS = [{k: R.standard_normal(s).astype("float32") for k, s in SHAPES.items()}
         for _ in range(3)]
EXPRESSIONS = ("O.Adam(0.1, amsgrad=True, weight_decay=0.05)", "O.SGD(0.1, momentum=0.9)",
               "O.RMSprop(0.01, momentum=0.9, centered=True)")


def _train(expr):
    import torch
    with ops.backend_scope("torch"):
        variables = [Variable(INIT[k].copy(), name=k) for k in SHAPES]
        opt = eval(expr)
        for step in GRADS:
            opt.apply_gradients(zip([torch.from_numpy(step[k]) for k in SHAPES], variables))
    return [np.asarray(v.numpy()) for v in variables + list(opt.variables)]


@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch is not installed")
def test_chunked_updates_equal_one_multi_tensor_pass(monkeypatch):
    kernels = runtime("torch").optimizer_kernels
    for expr in EXPRESSIONS:
        monkeypatch.setattr(kernels, "LARGE", 1 << 30)   # one chunk
        together = _train(expr)
        monkeypatch.setattr(kernels, "LARGE", 16)        # "w" and "v" each alone, "b" apart
        assert kernels._chunks([Variable(INIT[k], name=k).value for k in SHAPES]) == [[0], [2], [1]]
        apart = _train(expr)
        for a, b in zip(together, apart):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=expr)  # same ops; any CPU
