"""`unikeras.random`: seeded sampling on the current backend."""
from unikeras.common.ops.random import dropout, normal, uniform  # noqa: F401
from unikeras.common.seed_generator import SeedGenerator  # noqa: F401
