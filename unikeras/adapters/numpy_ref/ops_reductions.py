"""Backend implementations of the reductions op family."""

__all__ = []
