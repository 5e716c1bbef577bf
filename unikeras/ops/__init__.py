"""`unikeras.ops`: the backend-agnostic op namespace (NumPy-like, nn, linalg, core; image
ops live in `unikeras.ops.image`).

A call on torch tensors returns torch tensors, on jax arrays jax arrays, on tf tensors tf
tensors, on KerasTensors KerasTensors; NumPy inputs alone run on the current backend.
"""
from unikeras.common.dtypes import result_type
from unikeras.common.ops.dispatch import backend_scope, current_backend
from unikeras.ops import core, image, linalg, nn, numpy

__all__ = ["core", "image", "linalg", "nn", "numpy", "backend_scope", "current_backend", "result_type",
           "abs"]
for _namespace in (core, numpy, nn, linalg):
    globals().update({n: getattr(_namespace, n) for n in _namespace.__all__})
    __all__ += [n for n in _namespace.__all__ if n not in __all__]
abs = numpy.absolute
