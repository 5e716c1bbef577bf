"""`unikeras.ops.image`: colour conversion, resizing, padding and cropping, patches, blur,
geometric transforms and image metrics (only under this namespace, as in Keras)."""
from unikeras.common.ops import image as _definitions
from unikeras.ops._export import export

__all__ = export(globals(), _definitions)
