"""Core layers beyond Dense: EinsumDense, Identity, Lambda, Masking, Wrapper."""

__all__ = []
