"""Backend implementations of the neural op family."""

__all__ = []
