"""`unikeras.ops.numpy`: the NumPy-compatible ops (also at `unikeras.ops` top level)."""
from unikeras.common.ops import numpy as _definitions
from unikeras.common.ops.control import vectorize
from unikeras.common.ops.linalg import slogdet
from unikeras.ops._export import export

__all__ = export(globals(), _definitions) + ["slogdet", "vectorize"]
