"""Weight regularizers with Keras 3's names, arguments and configs: callables
`tensor -> scalar penalty`, written once with `unikeras.ops` (so they run on every
backend and inside compiled steps)."""
import numbers

from unikeras.common.catalog import Catalog
from unikeras.common.ops import core, neural, numpy as onp


def _factor(cls_name, arg, value):
    """A non-negative float factor (TypeError/ValueError naming the argument otherwise)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls_name}: {arg} must be a non-negative float, got {value!r}.")
    if not value >= 0:
        raise ValueError(f"{cls_name}: {arg} must be a non-negative float, got {value!r}.")
    return float(value)


class Regularizer:
    """Base class: `regularizer(x)` returns the penalty to add to the loss."""

    def __call__(self, x):
        return onp.zeros_like(onp.sum(x))

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1(Regularizer):
    """`l1 * sum(|x|)`."""

    def __init__(self, l1=0.01):
        self.l1 = _factor("L1", "l1", 0.01 if l1 is None else l1)

    def __call__(self, x):
        return onp.multiply(self.l1, onp.sum(onp.absolute(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x**2)`."""

    def __init__(self, l2=0.01):
        self.l2 = _factor("L2", "l2", 0.01 if l2 is None else l2)

    def __call__(self, x):
        return onp.multiply(self.l2, onp.sum(onp.square(x)))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x**2)`; a zero factor adds no term."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor("L1L2", "l1", 0.0 if l1 is None else l1)
        self.l2 = _factor("L1L2", "l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        if not (self.l1 or self.l2):
            return super().__call__(x)
        penalty = onp.multiply(self.l1, onp.sum(onp.absolute(x))) if self.l1 else None
        if self.l2:
            l2_term = onp.multiply(self.l2, onp.sum(onp.square(x)))
            penalty = l2_term if penalty is None else onp.add(penalty, l2_term)
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """`factor` times the mean |cosine| between distinct rows (mode="rows") or columns
    (mode="columns") of a 2D weight: pushes them towards being orthogonal."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor("OrthogonalRegularizer", "factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError("OrthogonalRegularizer: mode must be 'rows' or 'columns', got "
                             f"{mode!r}.")
        self.mode = mode

    def __call__(self, x):
        shape = tuple(core.shape(x))
        if len(shape) != 2:
            raise ValueError("OrthogonalRegularizer: the weight must have rank 2, got shape "
                             f"{shape}.")
        vectors = onp.transpose(x) if self.mode == "columns" else x
        n = shape[1] if self.mode == "columns" else shape[0]
        if n < 2:
            return super().__call__(x)
        unit = neural.normalize(vectors, axis=1)
        cosines = onp.absolute(onp.matmul(unit, onp.transpose(unit)))
        off_diagonal = onp.subtract(onp.sum(cosines), onp.sum(onp.diagonal(cosines)))
        return onp.multiply(self.factor / (n * (n - 1)), off_diagonal)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


_ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}
globals().update(_ALIASES)   # Keras's snake_case names: the same classes
_catalog = Catalog("regularizer", "keras.regularizers", Regularizer,
                   (Regularizer, L1, L2, L1L2, OrthogonalRegularizer), _ALIASES)


def get(identifier):
    """A regularizer from None, a name, a config dict, a class, an instance or a callable."""
    return _catalog.get(identifier)


def serialize(regularizer):
    """Keras's `{"module", "class_name", "config", "registered_name"}` dict."""
    return _catalog.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """A regularizer from `serialize`'s dict (or a name); unknown names raise ValueError."""
    return _catalog.deserialize(config, custom_objects)


__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]
