"""Pooling layers: max/average, global and adaptive (1D/2D/3D)."""

__all__ = []
