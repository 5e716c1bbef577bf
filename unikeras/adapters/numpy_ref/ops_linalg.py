"""Backend implementations of the linalg op family."""

__all__ = []
