"""InputLayer and `Input()`: the entry points of functional graphs."""
from unikeras.common import dtypes
from unikeras.common.layers.layer import Layer
from unikeras.common.symbolic import KerasTensor, Node


class InputLayer(Layer):
    """Holds the KerasTensor that stands for one model input."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=False, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if ragged:
            raise ValueError(f"InputLayer '{self.name}': ragged inputs are not supported (they "
                             "are tf.RaggedTensor-only in Keras); pad the data and use masking.")
        if input_tensor is not None and not isinstance(input_tensor, KerasTensor):
            raise TypeError(f"InputLayer '{self.name}': input_tensor must be a KerasTensor "
                            f"(from unikeras.Input), got {type(input_tensor).__name__}.")
        if batch_shape is None:
            if shape is not None:
                batch_shape = (batch_size,) + tuple(shape)
            elif input_tensor is not None:
                batch_shape = input_tensor.shape
            else:
                raise ValueError(f"InputLayer '{self.name}': pass `shape` or `batch_shape`.")
        self.batch_shape = tuple(batch_shape)
        self.sparse = bool(sparse)
        self.optional = optional
        if input_tensor is None:
            self.output = KerasTensor(self.batch_shape, dtypes.standardize_dtype(dtype),
                                      self.sparse, name=self.name)
        else:   # the layer stands for this existing tensor: the graph starts from it
            if len(input_tensor.shape) != len(self.batch_shape) or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(input_tensor.shape[1:], self.batch_shape[1:])):
                raise ValueError(f"InputLayer '{self.name}': input_tensor has shape "
                                 f"{input_tensor.shape}, the layer was given {self.batch_shape}.")
            self.output = input_tensor
        Node(self, (), {}, self.output)
        self.built = True

    def call(self):
        return self.output

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype_name, "sparse": self.sparse,
                "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """A symbolic model input: `Input(shape=(784,))` has shape (None, 784)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, input_tensor=tensor, name=name,
                       optional=optional)
    return layer.output
