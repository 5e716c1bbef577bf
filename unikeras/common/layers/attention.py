"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention, GroupQueryAttention."""

__all__ = []
