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


def reference(name, args, kwargs):
    """Op `name` on the NumPy reference backend: what every backend is compared with."""
    with ops.backend_scope("numpy"):
        return getattr(ops, name)(*args, **kwargs)


def as_backend(a, backend):
    """An op argument with its NumPy arrays (also inside lists/tuples) as `backend` tensors."""
    if isinstance(a, np.ndarray):
        return to_backend(a, backend)
    if isinstance(a, (list, tuple)):
        return type(a)(as_backend(x, backend) for x in a)
    return a


def backend_args(args, backend):
    return [as_backend(a, backend) for a in args]


def as_symbolic(a):
    """An op argument with its NumPy arrays (also inside lists/tuples) as KerasTensors."""
    from unikeras import KerasTensor
    if isinstance(a, np.ndarray):
        return KerasTensor(a.shape, a.dtype)
    if isinstance(a, (list, tuple)):
        return type(a)(as_symbolic(x) for x in a)
    return a


@pytest.fixture(params=FRAMEWORKS)
def backend(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)
