"""Losses, written once with `unikeras.ops` so they run on every backend and inside
`jax.jit` / `tf.function`.

A `Loss` object computes per-sample values with `call(y_true, y_pred)` and reduces them
(with optional sample weights) in `__call__`. The loss functions (`mean_squared_error`,
...) return the per-sample values and do no reduction, as in Keras.
"""
import inspect
import math
import warnings

from unikeras import config
from unikeras import ops
from unikeras.common import dtypes, naming
from unikeras.common.ops import dispatch

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


# --- helpers shared with metrics ------------------------------------------------------------
def _dtype(x):
    return dtypes.standardize_dtype(x.dtype)


def _static_shape(x):
    """Shape as a tuple of ints (None for dimensions unknown at trace time)."""
    return tuple(None if d is None else int(d) for d in x.shape)


def _compatible(shape1, shape2):
    """Same rank, and equal wherever both dimensions are known."""
    return len(shape1) == len(shape2) and all(
        a is None or b is None or a == b for a, b in zip(shape1, shape2))


def to_tensor(x, dtype=None, like=None):
    """`x` as a tensor; NumPy data goes to the backend of `like` (else the current one),
    so that a NumPy `y_true` meets a torch `y_pred` on torch."""
    if like is not None and dispatch.backend_of_type(type(x)) in (dispatch.WEAK, None):
        backend = dispatch.resolve_backend((like,), None)
        if backend != dispatch.SYMBOLIC:
            with dispatch.backend_scope(backend):
                return ops.convert_to_tensor(x, dtype=dtype)
    return ops.convert_to_tensor(x, dtype=dtype)


def num_elements(x):
    """Number of elements, as a Python int when the shape is static."""
    shape = _static_shape(x)
    if None not in shape:
        return math.prod(shape)
    return ops.sum(ops.ones_like(x, dtype="float32"))


def divide_no_nan(x, y):
    """`x / y`, and 0 where `y == 0`."""
    if isinstance(y, (int, float)):
        return x / y if y else ops.zeros_like(x)
    zero = ops.equal(y, 0)
    return ops.where(zero, ops.zeros_like(x), ops.divide(x, ops.where(zero, ops.ones_like(y), y)))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make ranks equal when they differ by one through a trailing size-1 dimension."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid reduction {reduction!r}: expected one of {REDUCTIONS}.")
    return reduction


def apply_mask(sample_weight, mask, dtype, reduction):
    """Fold a validity mask into the sample weights. For mean-like reductions the valid
    entries are scaled by total/valid so that the mean runs over valid entries only."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        valid = ops.sum(ops.cast(mask, dtype))
        scale = divide_no_nan(ops.cast(num_elements(mask), dtype), valid)
        float_mask = ops.where(ops.cast(mask, "bool"), scale, ops.zeros_like(scale))
    else:
        float_mask = ops.cast(mask, dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(
        float_mask, ops.cast(sample_weight, dtype))
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if reduction in (None, "none") or _static_shape(values) in ((), (0,)):
        return values
    loss = ops.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return divide_no_nan(loss, ops.cast(ops.sum(sample_weight), _dtype(loss)))
    count = num_elements(values)
    return divide_no_nan(loss, count if isinstance(count, int) else ops.cast(count, _dtype(loss)))


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weight per-sample `values` and reduce them to a scalar (unless reduction is none)."""
    reduction = standardize_reduction(reduction)
    values = ops.convert_to_tensor(values, dtype=dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, _dtype(values), like=values)
    sample_weight = apply_mask(sample_weight, mask, _dtype(values), reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(
            values, ops.cast(sample_weight, _dtype(values)))
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# --- loss functions --------------------------------------------------------------------------
def _pair(y_true, y_pred, cast_true=True):
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, _dtype(y_pred) if cast_true else None, like=y_pred)
    return y_true, y_pred


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    # Renormalize, then clip away from 0 and 1 so that the log stays finite.
    eps = config.epsilon()
    y_pred = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    return ops.log(ops.clip(y_pred, eps, 1.0 - eps))


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of `(y_true - y_pred) ** 2`."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy between one-hot (or soft) `y_true` and predicted probabilities/logits."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"categorical_crossentropy: `axis` must be an int, got {axis!r}.")
    y_true, y_pred = _pair(y_true, y_pred)
    if not _compatible(_static_shape(y_true), _static_shape(y_pred)):
        raise ValueError("categorical_crossentropy: y_true and y_pred must have the same shape, "
                         f"got {_static_shape(y_true)} and {_static_shape(y_pred)}.")
    if y_pred.shape[axis] == 1:
        warnings.warn("categorical_crossentropy expects y_pred of shape (batch, num_classes) with "
                      f"num_classes > 1, got {_static_shape(y_pred)}; use binary_crossentropy "
                      "for two classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -ops.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def _sparse_cce(y_true, y_pred, from_logits, ignore_class, axis):
    """(per-sample loss, validity mask or None)."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, like=y_pred)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[axis] == 1:
        y_true = ops.squeeze(y_true, axis)
    rank = len(y_pred.shape)
    if rank < 1:
        raise ValueError("sparse_categorical_crossentropy: y_pred must have rank >= 1.")
    class_axis = axis % rank
    expected = tuple(d for i, d in enumerate(_static_shape(y_pred)) if i != class_axis)
    if not _compatible(_static_shape(y_true), expected):
        raise ValueError("sparse_categorical_crossentropy: y_true must have the shape of y_pred "
                         f"without its class axis; got y_true {_static_shape(y_true)} and y_pred "
                         f"{_static_shape(y_pred)}.")
    mask = None
    labels = ops.cast(y_true, "int32")
    if ignore_class is not None:
        mask = ops.not_equal(labels, int(ignore_class))
        labels = ops.where(mask, labels, ops.zeros_like(labels))
    one_hot = ops.one_hot(labels, y_pred.shape[class_axis], axis=class_axis, dtype=_dtype(y_pred))
    res = -ops.sum(one_hot * _log_probs(y_pred, from_logits, class_axis), axis=class_axis)
    if mask is not None:
        res = ops.where(mask, res, ops.zeros_like(res))
    return res, mask


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy between integer labels and predicted probabilities/logits; entries
    labelled `ignore_class` get a loss of 0."""
    return _sparse_cce(y_true, y_pred, from_logits, ignore_class, axis)[0]


# --- Loss classes ----------------------------------------------------------------------------
class Loss:
    """Base class: subclasses implement `call(y_true, y_pred)` -> per-sample losses."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = dtypes.standardize_dtype(dtype or config.floatx())

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = to_tensor(y_pred, self.dtype)
        y_true = to_tensor(y_true, self.dtype, like=y_pred)
        losses, mask = self._call_with_mask(y_true, y_pred)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction, self.dtype)

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
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

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


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squares of errors between labels and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot labels (with optional label smoothing)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer labels; `ignore_class` entries are left out of the mean."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def _call_with_mask(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return _sparse_cce(y_true, y_pred, self.from_logits, self.ignore_class, self.axis)

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


# --- lookup and (de)serialization ------------------------------------------------------------
_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, CategoricalCrossentropy,
            SparseCategoricalCrossentropy)
_FUNCTIONS = (mean_squared_error, categorical_crossentropy, sparse_categorical_crossentropy)
ALL_OBJECTS_DICT = {o.__name__: o for o in _CLASSES + _FUNCTIONS}
ALL_OBJECTS_DICT.update({"mse": mean_squared_error, "MSE": mean_squared_error})


def serialize_function(fn):
    """Keras-format config of a built-in loss/metric function (its name)."""
    name = getattr(fn, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize {fn!r}: not a named function.")
    module = getattr(fn, "__module__", None) or ""
    module = {"unikeras.common.losses": "keras.losses",
              "unikeras.common.metrics": "keras.metrics"}.get(module, module)
    return {"module": module, "class_name": "function",
            "config": name, "registered_name": name}


def deserialize_function(config, objects=None):
    if callable(config):
        return config
    name = config["config"] if isinstance(config, dict) else config
    fn = (objects or ALL_OBJECTS_DICT).get(name)
    if fn is None or inspect.isclass(fn):
        raise ValueError(f"Unknown function {name!r} in config.")
    return fn


def serialize(loss):
    if inspect.isfunction(loss):
        return serialize_function(loss)
    return {"module": "keras.losses", "class_name": type(loss).__name__,
            "config": loss.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A loss (instance or function) from its `serialize` dict or name."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    class_name = config.get("class_name")
    if class_name == "function":
        return deserialize_function(config, objects)
    obj = objects.get(class_name)
    if obj is None:
        raise ValueError(f"Unknown loss {class_name!r}; known: {sorted(ALL_OBJECTS_DICT)}.")
    if inspect.isclass(obj):
        return obj.from_config(config.get("config") or {})
    return obj


def resolve_identifier(identifier, objects, deserialize_fn, kind):
    """Object for a name (looked up in `objects`), config dict, class (instantiated),
    instance or callable; shared by the losses and metrics `get` functions."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize_fn(identifier)
    elif isinstance(identifier, str):
        obj = objects.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}.")


def get(identifier):
    """A loss from a name, a class, an instance, a config dict or a callable."""
    return resolve_identifier(identifier, ALL_OBJECTS_DICT, deserialize, "loss")


__all__ = [o.__name__ for o in _CLASSES + _FUNCTIONS] + [
    "get", "serialize", "deserialize", "squeeze_or_expand_to_same_rank"]
