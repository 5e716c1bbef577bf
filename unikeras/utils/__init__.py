"""`unikeras.utils`: seeding and session helpers, PyDataset and batch packing."""

import numpy as _np

from unikeras.common import naming, seed_generator
from unikeras.common.data_adapters.helpers import (  # noqa: F401
    pack_x_y_sample_weight, unpack_x_y_sample_weight)
from unikeras.common.data_adapters.py_dataset import PyDataset
from unikeras.common.saving.serialization import (  # noqa: F401
    CustomObjectScope, custom_object_scope, deserialize_keras_object, get_custom_objects,
    get_registered_name, get_registered_object, register_keras_serializable,
    serialize_keras_object)

Sequence = PyDataset  # the older Keras name


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
