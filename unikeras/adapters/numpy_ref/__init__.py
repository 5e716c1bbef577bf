"""The NumPy reference backend: every other backend is tested against it, and it runs
small models (inference only) with no framework installed."""
