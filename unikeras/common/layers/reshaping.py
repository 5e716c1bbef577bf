"""Reshaping layers: Reshape, Permute, RepeatVector, UpSampling, ZeroPadding, Cropping."""

__all__ = []
