"""Backend implementations of the elementwise op family."""

__all__ = []
