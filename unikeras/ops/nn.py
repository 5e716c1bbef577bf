"""`unikeras.ops.nn`: activations, convolution, pooling, normalization, losses and the
other neural-network ops (also at `unikeras.ops` top level)."""
from unikeras.common.ops import nn as _definitions
from unikeras.ops._export import export

__all__ = export(globals(), _definitions)
