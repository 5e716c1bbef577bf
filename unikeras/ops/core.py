"""`unikeras.ops.core`: conversion, casting, control flow, gradients and the other
framework-level ops (also at `unikeras.ops` top level)."""
from unikeras.common.ops import core as _definitions
from unikeras.ops._export import export

is_tensor = _definitions.is_tensor
__all__ = export(globals(), _definitions) + ["is_tensor"]
