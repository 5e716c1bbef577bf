"""`unikeras.utils`: seeding and session helpers."""

import numpy as _np

from unikeras.common import naming, seed_generator


def set_random_seed(seed):
    """Seed unikeras (initializers, shuffling, unseeded generators), Python and NumPy, and
    the frameworks already imported."""
    import sys
    seed_generator.set_global_seed(seed)
    import random
    random.seed(seed)
    _np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


def clear_session():
    """Reset layer-name counters (the next Dense is `dense` again)."""
    naming.reset()
