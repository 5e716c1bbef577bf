import importlib.util
import os

# Two pytest workers share two cores: one framework thread each avoids oversubscription.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pytest

from unikeras import ops

FRAMEWORKS = [b for b, mod in (("torch", "torch"), ("jax", "jax"), ("tensorflow", "tensorflow"))
              if importlib.util.find_spec(mod)]
if os.environ.get("UNIKERAS_TEST_BACKENDS"):  # e.g. "torch,jax" while developing one backend
    FRAMEWORKS = [b for b in FRAMEWORKS if b in os.environ["UNIKERAS_TEST_BACKENDS"].split(",")]
TRAINABLE_BACKENDS = FRAMEWORKS


def to_backend(x, backend):
    """`x` (NumPy array or scalar) as a tensor of `backend`."""
    with ops.backend_scope(backend):
        return ops.convert_to_tensor(x)


@pytest.fixture(params=FRAMEWORKS)
def backend(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)
