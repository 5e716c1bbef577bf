"""Op definitions: the arrays family (see unikeras/common/ops/op.py for the pattern)."""

__all__ = []
