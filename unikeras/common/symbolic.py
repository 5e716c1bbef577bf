"""KerasTensor: a shape (with None dims) and a dtype, flowing through layers and ops
without computation. Each KerasTensor made by a layer or op remembers the Node that
produced it, which is what a functional Model replays."""
from unikeras.common import dtypes, tree
from unikeras.common.ops import dispatch


class KerasTensor:
    """Symbolic tensor: `shape` is a tuple whose entries are ints or None."""

    __array_priority__ = 100

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtypes.standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.name = name
        self._history = None  # (Node, output index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        name = f", name={self.name}" if self.name else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{name}>"

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() of a KerasTensor with shape {self.shape} is unknown.")
        return self.shape[0]

    def __bool__(self):
        raise TypeError("A KerasTensor has no truth value: it holds no data.")

    def __iter__(self):
        raise TypeError("Cannot iterate over a KerasTensor: it holds no data.")

    # Operators route through the public ops, so they record nodes like any op call.
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().divide(self, other)
    def __rtruediv__(self, other): return _ops().divide(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __pow__(self, other): return _ops().power(self, other)
    def __neg__(self): return _ops().negative(self)
    def __abs__(self): return _ops().absolute(self)
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __getitem__(self, key): return _ops().get_item(self, key)
    __hash__ = object.__hash__


def _ops():
    from unikeras import ops
    return ops


dispatch.register_tensor_type(KerasTensor, dispatch.SYMBOLIC)


class Node:
    """One call of an operation (layer or op) on symbolic inputs.

    `args`/`kwargs` keep the call's structure with KerasTensors in place, so the call can
    be replayed on real tensors by substituting values for the KerasTensors.
    """

    def __init__(self, operation, args, kwargs, outputs):
        self.operation = operation
        self.args = args
        self.kwargs = kwargs
        self.outputs = [t for t in tree.flatten(outputs) if isinstance(t, KerasTensor)]
        self.inputs = [t for t in tree.flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        for i, t in enumerate(self.outputs):
            t._history = (self, i)


def any_symbolic(args, kwargs=None):
    return any(isinstance(t, KerasTensor) for t in tree.flatten((args, kwargs or {})))
