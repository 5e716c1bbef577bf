"""`unikeras.random`: seeded sampling on the current backend."""
from unikeras.common.ops.random import (  # noqa: F401
    beta, binomial, categorical, dropout, gamma, normal, randint, shuffle, truncated_normal,
    uniform)
from unikeras.common.seed_generator import SeedGenerator  # noqa: F401
