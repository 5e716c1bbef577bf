"""Backend implementations of the control op family."""

__all__ = []
