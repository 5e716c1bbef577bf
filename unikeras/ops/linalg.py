"""`unikeras.ops.linalg`: linear algebra and Fourier transforms (also at `unikeras.ops`)."""
from unikeras.common.ops import linalg as _definitions
from unikeras.ops._export import export

__all__ = export(globals(), _definitions)
