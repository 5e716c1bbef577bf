"""`Loss` (reduce per-sample values with sample weights and masks), `LossFunctionWrapper`
(a Loss around a loss function) and the registry of built-in loss functions."""
import inspect

from unikeras import config
from unikeras import ops
from unikeras.common import dtypes, naming
from unikeras.common.losses.inputs import squeeze_or_expand_to_same_rank, to_tensor
from unikeras.common.losses.reduction import reduce_weighted_values, standardize_reduction

FUNCTIONS = {}  # built-in loss functions by Keras name and alias, filled by `loss_function`


def loss_function(*aliases, with_mask=None):
    """Register a built-in loss function under its name and `aliases`. `with_mask` is the
    variant returning (per-sample values, validity mask or None) that Loss objects use, so
    that masked entries (e.g. `ignore_class`) are left out of the mean."""
    def register(fn):
        for name in (fn.__name__,) + aliases:
            FUNCTIONS[name] = fn
        if with_mask is not None:
            fn.with_mask = with_mask
        return fn
    return register


def _combine_masks(mask1, mask2):
    if mask1 is None or mask2 is None:
        return mask2 if mask1 is None else mask1
    mask1, mask2 = squeeze_or_expand_to_same_rank(ops.cast(mask1, "bool"), ops.cast(mask2, "bool"))
    return ops.logical_and(mask1, mask2)


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred)` -> per-sample losses."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction, type(self).__name__)
        self._dtype = dtypes.standardize_dtype(dtype or config.floatx())

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = to_tensor(y_pred, self.dtype)
        y_true = to_tensor(y_true, self.dtype, like=y_pred)
        losses, out_mask = self._call_with_mask(y_true, y_pred)
        return reduce_weighted_values(losses, sample_weight, _combine_masks(in_mask, out_mask),
                                      self.reduction, self.dtype, owner=type(self).__name__)

    def _call_with_mask(self, y_true, y_pred):
        """Per-sample losses and a validity mask (None: all valid)."""
        return self.call(y_true, y_pred), None

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A Loss computing its per-sample values with `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self._call_with_mask(y_true, y_pred)[0]

    def _call_with_mask(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        with_mask = getattr(self.fn, "with_mask", None)
        if with_mask is not None:
            return with_mask(y_true, y_pred, **self._fn_kwargs)
        return self.fn(y_true, y_pred, **self._fn_kwargs), None

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize_function(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize_function(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class BuiltinLoss(LossFunctionWrapper):
    """A Keras loss class around the function `fn`: its options are attributes, and its
    config is the Loss config plus the options named in `config_keys` (as in Keras, not
    always all of them)."""

    fn = None
    config_keys = ()

    def __init__(self, reduction, name, dtype, **options):
        super().__init__(type(self).fn, reduction=reduction, name=name, dtype=dtype, **options)
        for key, value in options.items():
            setattr(self, key, value)

    def get_config(self):
        return {**Loss.get_config(self), **{k: getattr(self, k) for k in self.config_keys}}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def serialize_function(fn):
    """Keras-format config of a built-in loss/metric function: Keras saves functions by
    name alone (module "builtins", registered name "function")."""
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        raise ValueError(f"Cannot serialize {fn!r}: not a named function.")
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def deserialize_function(config, objects=None):
    """The function named by a `serialize_function` dict (or a name); `objects` defaults
    to the built-in loss functions."""
    if callable(config):
        return config
    name = config["config"] if isinstance(config, dict) else config
    fn = (FUNCTIONS if objects is None else objects).get(name)
    if fn is None or inspect.isclass(fn):
        raise ValueError(f"Unknown function {name!r} in config.")
    return fn
