"""Weight constraints with Keras 3's names, arguments and configs: callables
`weight -> projected weight` that optimizers apply after each update of a variable that
has one (`Variable.constraint`, set by `Layer.add_weight`)."""
from unikeras import config
from unikeras.common import dtypes
from unikeras.common.catalog import Catalog
from unikeras.common.ops import core, numpy as onp


def _norms(w, axis):
    return onp.sqrt(onp.sum(onp.square(w), axis=axis, keepdims=True))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


class Constraint:
    """Base class: the identity projection."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale the slices along `axis` whose L2 norm exceeds `max_value` to that norm."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, _axis(self.axis))
        desired = onp.clip(norms, 0, self.max_value)
        return onp.multiply(w, onp.divide(desired, onp.add(norms, config.epsilon())))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move the L2 norm of each slice along `axis` into [min_value, max_value], by the
    fraction `rate` per application (1: at once)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, _axis(self.axis))
        clipped = onp.clip(norms, self.min_value, self.max_value)
        desired = onp.add(onp.multiply(self.rate, clipped), onp.multiply(1 - self.rate, norms))
        return onp.multiply(w, onp.divide(desired, onp.add(norms, config.epsilon())))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Zero out negative entries."""

    def __call__(self, w):
        mask = core.cast(onp.greater_equal(w, 0.0), dtypes.standardize_dtype(w.dtype))
        return onp.multiply(w, mask)


class UnitNorm(Constraint):
    """Scale each slice along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return onp.divide(w, onp.add(_norms(w, _axis(self.axis)), config.epsilon()))

    def get_config(self):
        return {"axis": self.axis}


_ALIASES = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
            "unit_norm": UnitNorm}
globals().update(_ALIASES)   # Keras's snake_case names: the same classes
_catalog = Catalog("constraint", "keras.constraints", Constraint,
                   (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm), _ALIASES)


def get(identifier):
    """A constraint from None, a name, a config dict, a class, an instance or a callable."""
    return _catalog.get(identifier)


def serialize(constraint):
    """Keras's `{"module", "class_name", "config", "registered_name"}` dict."""
    return _catalog.serialize(constraint)


def deserialize(config, custom_objects=None):
    """A constraint from `serialize`'s dict (or a name); unknown names raise ValueError."""
    return _catalog.deserialize(config, custom_objects)


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize", "deserialize"]
