"""Losses, written once with `unikeras.ops` so they run on every backend and inside
`jax.jit` / `tf.function`.

A `Loss` object computes per-sample values with `call(y_true, y_pred)` and reduces them
(with optional sample weights and masks) in `__call__`. The loss functions
(`mean_squared_error`, ...) return the per-sample values and do no reduction, as in Keras.

Modules: `inputs` (tensors and shape checks), `reduction` (weighting and reducing), `base`
(Loss, LossFunctionWrapper, function registry), one module per family of losses, and
`serialization` (get/serialize/deserialize).
"""
from unikeras.common.losses.base import (
    BuiltinLoss, Loss, LossFunctionWrapper, deserialize_function, serialize_function)
from unikeras.common.losses.crossentropy import (
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy,
    SparseCategoricalCrossentropy, _sparse_cce, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, categorical_focal_crossentropy,
    categorical_generalized_cross_entropy, sparse_categorical_crossentropy)
from unikeras.common.losses.margin import (
    CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge)
from unikeras.common.losses.inputs import _dtype, squeeze_or_expand_to_same_rank, to_tensor
from unikeras.common.losses.metric_learning import Circle, circle
from unikeras.common.losses.probabilistic import KLDivergence, Poisson, kl_divergence, poisson
from unikeras.common.losses.reduction import (
    REDUCTIONS, apply_mask, divide_no_nan, reduce_values, reduce_weighted_values)
from unikeras.common.losses.regression import (
    CosineSimilarity, Huber, LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredError, MeanSquaredLogarithmicError, cosine_similarity, huber, log_cosh,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error)
from unikeras.common.losses.segmentation import Dice, Tversky, dice, tversky
from unikeras.common.losses.sequence import CTC, ctc
from unikeras.common.losses.serialization import (
    ALL_OBJECTS_DICT, CLASSES, deserialize, get, resolve_identifier, serialize)

# The public (Keras) names, plus the wrapper and rank helper Keras also exposes.
__all__ = sorted({o.__name__ for o in ALL_OBJECTS_DICT.values()}) + [
    "LossFunctionWrapper", "deserialize", "get", "serialize", "squeeze_or_expand_to_same_rank"]
