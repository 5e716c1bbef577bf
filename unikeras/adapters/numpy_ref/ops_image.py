"""Backend implementations of the image op family."""

__all__ = []
