"""Internal fused ops (unikeras/common/ops/fused.py) equal the public ops they fuse, on every
backend, in values, symbolic shape and gradients."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import ops
from unikeras.common.ops import fused
from tests.conftest import as_backend, reference


@pytest.mark.parametrize("data_format,strides,padding", [
    ("channels_last", 1, "valid"), ("channels_last", 2, "same"), ("channels_first", 1, "same")])
@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "tensorflow"])
def test_biased_conv_equals_conv_plus_bias(backend, data_format, strides, padding):
    pytest.importorskip({"numpy": "numpy", "torch": "torch", "jax": "jax",
                         "tensorflow": "tensorflow"}[backend])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 7, 3) if data_format == "channels_last" else (2, 3, 7, 7)).astype("float32")
    kernel = rng.standard_normal((3, 3, 3, 4)).astype("float32")
    bias = rng.standard_normal(4).astype("float32")
    conv = reference("conv", (x, kernel), dict(strides=strides, padding=padding, data_format=data_format))
    expected = conv + (bias if data_format == "channels_last" else bias[:, None, None])
    with ops.backend_scope(backend):
        got = fused.biased_conv(*[as_backend(a, backend) for a in (x, kernel, bias)], strides,
                                padding, data_format)
        got = ops.convert_to_numpy(got)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    symbolic = fused.biased_conv(uk.KerasTensor(x.shape), uk.KerasTensor(kernel.shape),
                                 uk.KerasTensor(bias.shape), strides, padding, data_format)
    assert symbolic.shape == expected.shape and symbolic.dtype == "float32"


def test_biased_conv_gradients_match_conv_plus_bias_on_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, k, b = (torch.tensor(rng.standard_normal(s).astype("float32"), requires_grad=True)
               for s in ((2, 6, 6, 2), (3, 3, 2, 5), (5,)))
    cot = torch.tensor(rng.standard_normal((2, 4, 4, 5)).astype("float32"))
    (fused.biased_conv(x, k, b) * cot).sum().backward()
    got = [t.grad.clone() for t in (x, k, b)]
    for t in (x, k, b):
        t.grad = None
    ((ops.conv(x, k) + b) * cot).sum().backward()
    for g, t in zip(got, (x, k, b)):
        torch.testing.assert_close(g, t.grad, rtol=1e-5, atol=1e-5)
