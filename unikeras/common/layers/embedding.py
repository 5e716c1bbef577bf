"""Embedding layers: Embedding (mask_zero), ReversibleEmbedding."""

__all__ = []
