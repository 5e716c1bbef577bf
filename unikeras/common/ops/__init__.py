"""Op definitions (signature, docstring, symbolic rule) and dispatch."""
