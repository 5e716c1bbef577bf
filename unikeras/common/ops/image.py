"""Op definitions: the image family (`unikeras.ops.image`)."""

__all__ = []
