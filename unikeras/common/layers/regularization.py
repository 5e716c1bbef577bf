"""Regularization layers: SpatialDropout, GaussianDropout/Noise, AlphaDropout, ActivityRegularization."""

__all__ = []
