"""Backend-agnostic source of truth: ops, layers, models, training. Imports no framework."""
