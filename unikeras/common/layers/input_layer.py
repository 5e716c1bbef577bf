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
        if batch_shape is None:
            if shape is None:
                raise ValueError(f"InputLayer '{self.name}': pass `shape` or `batch_shape`.")
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(batch_shape)
        self.sparse = bool(sparse)
        self.optional = optional
        self.output = KerasTensor(self.batch_shape, dtypes.standardize_dtype(dtype), self.sparse,
                                  name=self.name)
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
                       batch_shape=batch_shape, name=name, optional=optional)
    return layer.output
