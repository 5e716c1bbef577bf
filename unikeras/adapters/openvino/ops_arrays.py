"""Backend implementations of the arrays op family."""

__all__ = []
