"""Data sources for fit/evaluate/predict, as epochs of NumPy batches.

    from unikeras.common import data_adapters
    adapter = data_adapters.get_data_adapter(x, y=None, sample_weight=None, batch_size=None,
                steps_per_epoch=None, shuffle=False, class_weight=None, seed=None)
    adapter.num_batches         # batches per epoch, or None when unknown (generators, ...)
    adapter.batch_size          # int or None
    adapter.has_partial_batch   # bool, or None when unknown
    adapter.partial_batch_size  # int (0: none), or None when unknown
    adapter.peek()              # a first batch, without using it up (to build the model)
    adapter.on_epoch_begin()
    for x_batch, y_batch, sw_batch in adapter.get_numpy_iterator(): ...  # one epoch
    adapter.on_epoch_end()
    adapter.exhausted           # True once the input can give no more data: stop training
    data_adapters.train_validation_split((x, y, sample_weight), validation_split)
    data_adapters.unpack_x_y_sample_weight(data)

Sources: NumPy arrays and framework tensors (torch/jax/tf/openvino), nested in
lists/tuples/dicts for several inputs or outputs (the structure is kept in the batches);
`tf.data.Dataset`; `torch.utils.data.DataLoader`; Python generators and iterators;
`unikeras.utils.PyDataset` (or Keras's). Datasets, loaders, generators and PyDatasets yield
`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` and bring their own batches, so `y` and
`sample_weight` must not be given with them and `batch_size` is ignored. Every batch is a
tuple `(x, y, sample_weight)` of NumPy structures (y and sample_weight may be None).

`shuffle` (True, False or "batch") applies to arrays (and a finite PyDataset's batch order);
other sources shuffle themselves. `steps_per_epoch` makes an epoch the next that many batches
of a pass that continues across epochs (see `base.DataAdapter`). `class_weight` (dict class ->
weight) multiplies the sample weights by the weight of each sample's class (not with
generators or DataLoaders, whose batches are the user's). No framework is imported here.
"""

from unikeras.common.data_adapters.array_adapter import (  # noqa: F401
    ArrayDataAdapter, is_array_structure, train_validation_split)
from unikeras.common.data_adapters.base import DataAdapter  # noqa: F401
from unikeras.common.data_adapters.generator_adapter import GeneratorDataAdapter, is_iterator
from unikeras.common.data_adapters.helpers import (  # noqa: F401
    pack_x_y_sample_weight, type_name, unpack_x_y_sample_weight)
from unikeras.common.data_adapters.py_dataset import PyDataset  # noqa: F401
from unikeras.common.data_adapters.py_dataset_adapter import PyDatasetAdapter, is_py_dataset
from unikeras.common.data_adapters.tf_dataset_adapter import TFDatasetAdapter, is_tf_dataset
from unikeras.common.data_adapters.torch_data_loader_adapter import (
    TorchDataLoaderAdapter, is_torch_data_loader, is_torch_dataset)


def get_data_adapter(x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None,
                     shuffle=False, class_weight=None, seed=None):
    """The adapter for `x` (see the package docstring); `seed` fixes the shuffling (default:
    drawn from the global seed of `unikeras.utils.set_random_seed`)."""
    if isinstance(x, DataAdapter):
        return x
    if is_array_structure((x, y, sample_weight)):
        return ArrayDataAdapter(x, y, sample_weight, batch_size=batch_size,
                                steps_per_epoch=steps_per_epoch, shuffle=shuffle,
                                class_weight=class_weight, seed=seed)
    source = _source_name(x)
    if source is None:
        if is_torch_dataset(x):
            raise ValueError(f"A torch Dataset ({type_name(x)}) cannot be used directly: wrap "
                             "it in a torch.utils.data.DataLoader, which batches it.")
        raise ValueError(f"Unrecognized data type for `x`: {type_name(x)}. Expected arrays or "
                         "tensors (possibly nested in lists/tuples/dicts), a tf.data.Dataset, "
                         "a torch DataLoader, a generator/iterator or a PyDataset.")
    if y is not None:
        _reject("y", "the targets", source)
    if sample_weight is not None:
        _reject("sample_weight", "the sample weights", source)
    if class_weight is not None and source in ("generator", "torch DataLoader"):
        raise ValueError(f"`class_weight` is not supported when `x` is a {source}: yield "
                         "(x, y, sample_weight) batches with the weights instead. Received "
                         f"class_weight={class_weight}.")
    if source == "PyDataset":
        return PyDatasetAdapter(x, steps_per_epoch, shuffle=shuffle,
                                class_weight=class_weight, seed=seed)
    # `shuffle` (True by default in fit) does not apply: a dataset, loader or generator
    # orders its own data.
    if source == "tf.data.Dataset":
        return TFDatasetAdapter(x, steps_per_epoch, class_weight=class_weight)
    if source == "torch DataLoader":
        return TorchDataLoaderAdapter(x, steps_per_epoch)
    return GeneratorDataAdapter(x, steps_per_epoch)


def _source_name(x):
    if is_tf_dataset(x):
        return "tf.data.Dataset"
    if is_py_dataset(x):
        return "PyDataset"
    if is_torch_data_loader(x):
        return "torch DataLoader"
    if is_iterator(x):
        return "generator"
    return None


def _reject(argument, what, source):
    raise ValueError(f"When `x` is a {source}, `{argument}` must not be given: {what} belong "
                     f"in the batches the {source} yields.")
