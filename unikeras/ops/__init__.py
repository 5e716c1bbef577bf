"""`unikeras.ops`: the backend-agnostic op namespace (NumPy-like, nn, core).

A call on torch tensors returns torch tensors, on jax arrays jax arrays, on tf tensors tf
tensors, on KerasTensors KerasTensors; NumPy inputs alone run on the current backend.
"""
from unikeras.common.ops import core, image, linalg, nn, numpy
from unikeras.common.ops.dispatch import backend_scope, current_backend


def _export(module):
    names = [n for n, v in vars(module).items()
             if not n.startswith("_") and hasattr(v, "impl_name")]
    globals().update({n: getattr(module, n) for n in names})
    return names


__all__ = ["core", "image", "linalg", "nn", "numpy", "backend_scope", "current_backend", "is_tensor", "abs"]
for _m in (core, numpy, nn, linalg):
    __all__ += _export(_m)
is_tensor = core.is_tensor
abs = numpy.absolute
