"""Batches from a `tf.data.Dataset`, detected and read without importing TensorFlow here."""
from unikeras.common import tree
from unikeras.common.data_adapters import helpers
from unikeras.common.data_adapters.base import DataAdapter

_INFINITE, _UNKNOWN = -1, -2  # tf.data cardinality codes


def is_tf_dataset(x):
    return helpers.has_base_class(x, ("DatasetV2", "DatasetV1"), "tensorflow.")


class TFDatasetAdapter(DataAdapter):
    """Each element is `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` of tensors, already
    batched by the dataset; every pass iterates the dataset anew."""

    def __init__(self, dataset, steps_per_epoch=None, class_weight=None):
        super().__init__(steps_per_epoch)
        helpers.check_class_weight(class_weight)
        self._dataset = dataset
        self._class_weight = class_weight

    def _open_pass(self):
        for element in self._dataset:
            yield helpers.standardize_batch(element, self._class_weight)

    @property
    def _pass_batches(self):
        cardinality = int(self._dataset.cardinality())
        return None if cardinality in (_INFINITE, _UNKNOWN) else cardinality

    @property
    def batch_size(self):
        """The static leading dimension of the dataset's first component, if any."""
        first = tree.flatten(self._dataset.element_spec)[0]
        try:
            return first.shape[0]
        except (AttributeError, IndexError, TypeError, ValueError):  # scalar or unknown rank
            return None
