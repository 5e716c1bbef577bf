"""Helpers shared by the data adapters: NumPy conversion, (x, y, sample_weight) unpacking,
class weights, sample-count checks and framework-free type detection."""
import numpy as np

from unikeras import config
from unikeras.common import tree
from unikeras.common.ops import dispatch
from unikeras.common.seed_generator import draw_seed

_FRAMEWORK_KINDS = (None, dispatch.WEAK, dispatch.SYMBOLIC)


def type_name(x):
    return f"{type(x).__module__}.{type(x).__qualname__}"


def has_base_class(x, names, module_prefix):
    """Whether a class in `type(x)`'s MRO is named one of `names` and lives in a module under
    `module_prefix` (detects framework types without importing the framework)."""
    return any(cls.__name__ in names and (cls.__module__ or "").startswith(module_prefix)
               for cls in type(x).__mro__)


def is_array_like(x):
    """NumPy arrays, framework tensors (a framework's type with a `shape`: not its datasets
    or loaders) and objects with `__array__` (pandas, ...)."""
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        return True
    return dispatch.backend_of_type(type(x)) not in _FRAMEWORK_KINDS and hasattr(x, "shape")


def to_numpy(x):
    """One leaf (array, framework tensor, scalar or None) as a NumPy array (None stays None).
    Framework tensors go through their backend's `convert_to_numpy` (already imported: the
    tensor exists), so no framework is imported here."""
    if x is None or isinstance(x, np.ndarray):
        return x
    backend = dispatch.backend_of_type(type(x))
    if backend == dispatch.SYMBOLIC:
        raise TypeError(f"A symbolic tensor ({type_name(x)}) has no value to train on.")
    if backend not in _FRAMEWORK_KINDS:
        return dispatch.get_table(backend).convert_to_numpy(x)
    if backend == dispatch.WEAK or hasattr(x, "__array__"):
        return np.asarray(x)
    raise TypeError(f"Cannot use an object of type {type_name(x)} as data: expected NumPy "
                    "arrays, framework tensors or nested lists/tuples/dicts of them.")


def to_numpy_structure(data):
    """Nested arrays/tensors -> the same structure of NumPy arrays."""
    return tree.map_structure(to_numpy, data)


def unpack_x_y_sample_weight(data):
    """`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (a list counts as a tuple) ->
    `(x, y, sample_weight)` with None for what is missing."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple) or _is_namedtuple(data):
        return data, None, None
    if 1 <= len(data) <= 3:
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError("Data must be `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; got a "
                     f"tuple of {len(data)} elements.")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Inverse of `unpack_x_y_sample_weight`: `x` alone (a tuple/list `x` is wrapped in a
    1-tuple so that it is not read as `(x, y)`), `(x, y)` or `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def _is_namedtuple(x):
    return hasattr(type(x), "_fields")


def shuffle_rng(shuffle, seed):
    """The generator for shuffling (seeded by `seed`, else by the global seed), or None when
    not shuffling (so that no global draw is spent)."""
    if not shuffle:
        return None
    return np.random.default_rng(draw_seed() if seed is None else seed)


def check_class_weight(class_weight):
    if class_weight is not None and not isinstance(class_weight, dict):
        raise TypeError("`class_weight` must be a dict {class index: weight}; got "
                        f"{type_name(class_weight)}.")


def apply_class_weight(y, sample_weight, class_weight):
    """Per-sample weights `class_weight[class of y]` (classes not in the dict weigh 1), times
    `sample_weight` when given. `y` holds class indices, shape (n,) or (n, 1), or one-hot /
    probability rows, shape (n, k>1)."""
    if class_weight is None:
        return sample_weight
    if y is None:
        raise ValueError("`class_weight` needs targets `y` to look the classes up in.")
    if tree.is_nested(y):
        raise ValueError("`class_weight` is only supported for models with a single output; "
                         f"got y as a {type(y).__name__} of {len(tree.flatten(y))} arrays.")
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] > 1:
        classes = np.argmax(y, axis=-1)
    else:
        classes = np.round(y.reshape(y.shape[:1])).astype("int64")
    table = {int(k): float(v) for k, v in class_weight.items()}
    weights = np.array([table.get(int(c), 1.0) for c in classes], dtype=config.floatx())
    if sample_weight is None:
        return weights
    sample_weight = np.asarray(sample_weight)
    if sample_weight.ndim > 1:  # per-timestep weights: scale each sample's row
        weights = weights.reshape(weights.shape + (1,) * (sample_weight.ndim - 1))
    return weights * sample_weight


def standardize_batch(element, class_weight):
    """One element of a batch stream -> NumPy `(x, y, sample_weight)` with class weights."""
    x, y, sample_weight = to_numpy_structure(unpack_x_y_sample_weight(element))
    return x, y, apply_class_weight(y, sample_weight, class_weight)


def num_samples(data):
    """The common first dimension of the arrays in `(x, y, sample_weight)`; ValueError naming
    each part's sizes when they differ."""
    sizes = [[_length(a, part) for a in tree.flatten(d) if a is not None]
             for part, d in zip(("x", "y", "sample_weight"), data)]
    distinct = {n for part in sizes for n in part}
    if len(distinct) > 1:
        described = "; ".join(f"{part} sizes: {', '.join(map(str, s))}"
                              for part, s in zip(("x", "y", "sample_weight"), sizes) if s)
        raise ValueError("Data cardinality is ambiguous: all arrays must contain the same "
                         f"number of samples ({described}).")
    if not distinct:
        raise ValueError("No data was given: `x` is None or holds no arrays.")
    return distinct.pop()


def _length(array, part):
    if array.ndim == 0:
        raise ValueError(f"Each array of `{part}` needs a first (sample) dimension; got a "
                         f"scalar {array!r}.")
    return array.shape[0]


def to_backend(data, backend):
    """A NumPy batch structure -> tensors of `backend` (float64 as floatx, ints kept)."""
    table = dispatch.get_table(backend)

    def convert(x):
        if x is None:
            return None
        if x.dtype == np.float64:
            x = x.astype(config.floatx())
        return table.convert_to_tensor(x)
    return convert(data) if isinstance(data, np.ndarray) else tree.map_structure(convert, data)
