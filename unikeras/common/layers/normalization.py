"""Normalization layers: BatchNormalization, Layer/Group/RMS/Unit/SpectralNormalization."""

__all__ = []
