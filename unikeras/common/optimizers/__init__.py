"""Optimizers and learning-rate schedules written once with `unikeras.ops`; update
formulas follow Keras 3 so that results match it numerically."""
from unikeras.common.optimizers import schedules
from unikeras.common.optimizers.adafactor import Adafactor
from unikeras.common.optimizers.adagrad import Adadelta, Adagrad
from unikeras.common.optimizers.adam import Adam, AdamW
from unikeras.common.optimizers.adamax import Adamax
from unikeras.common.optimizers.base import Optimizer
from unikeras.common.optimizers.ftrl import Ftrl
from unikeras.common.optimizers.lamb import Lamb
from unikeras.common.optimizers.lion import Lion
from unikeras.common.optimizers.loss_scale_optimizer import LossScaleOptimizer
from unikeras.common.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from unikeras.common.optimizers.muon import Muon
from unikeras.common.optimizers.nadam import Nadam
from unikeras.common.optimizers.rmsprop import RMSprop
from unikeras.common.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from unikeras.common.optimizers.serialization import deserialize, get, serialize
from unikeras.common.optimizers.sgd import SGD

__all__ = ["Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb", "Lion",
           "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer", "OptimizerMap",
           "RMSprop", "SGD", "ScheduleFreeAdamW", "deserialize", "get", "serialize",
           "schedules"]
