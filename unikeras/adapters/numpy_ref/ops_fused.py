"""The fused internal ops (`unikeras.common.ops.fused`) as compositions of public ops: this
backend's compiler fuses them, or it has no fused kernel."""
from unikeras.common.ops import fused as _def

__all__ = list(_def.IMPL_NAMES)

biased_conv = _def.composed_biased_conv
