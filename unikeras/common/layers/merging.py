"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and
their functional forms (`add(inputs, **kwargs)`, ...).

Element-wise merges follow Keras's shape rule: batch sizes must agree; the other dims
broadcast from the right (size 1 stretches), an input of lower rank gaining axes after the
batch axis. Masks merge as Keras 3 does: the element-wise merges OR the masks (None as soon
as one input has none), Concatenate concatenates them (a missing mask counts as all True).
"""
from unikeras.common import dtypes
from unikeras.common.layers.arguments import describe
from unikeras.common.layers.layer import Layer
from unikeras.common.ops import core, neural, numpy as onp
from unikeras.common.symbolic import KerasTensor

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _check_list(layer, inputs):
    """ValueError unless `inputs` is a non-empty list of tensors or of shapes."""
    if (not isinstance(inputs, (list, tuple)) or not inputs
            or any(x is None or isinstance(x, int) for x in inputs)):
        got = tuple(getattr(inputs, "shape", inputs))
        raise ValueError(f"{describe(layer)}: a merge layer must be called on a non-empty list "
                         f"of inputs, got {got!r}.")


def _as_shapes(layer, inputs):
    """The shapes of a list of inputs (tensors or shapes)."""
    _check_list(layer, inputs)
    return [tuple(x) if isinstance(x, (list, tuple)) else tuple(core.shape(x)) for x in inputs]


def _check_masks(layer, inputs, mask):
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"{describe(layer)}: `mask` must be a list with one entry per input, "
                         f"got {type(mask).__name__}.")
    if len(mask) != len(inputs):
        raise ValueError(f"{describe(layer)}: got {len(mask)} masks for {len(inputs)} inputs.")


class _Merge(Layer):
    """Element-wise merge of a list of tensors; subclasses define `_merge(tensors)`."""

    expected_inputs = None  # an exact number of inputs, or None for any

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _output_shape(self, shapes):
        """Keras's merge shape: equal batch sizes, the rest broadcast from the right."""
        if self.expected_inputs is not None and len(shapes) != self.expected_inputs:
            raise ValueError(f"{describe(self)}: expects exactly {self.expected_inputs} inputs, "
                             f"got {len(shapes)} of shapes {shapes}.")
        batches = {s[0] for s in shapes if s and s[0] is not None}
        if len(batches) > 1:
            raise ValueError(f"{describe(self)}: cannot merge tensors with different batch "
                             f"sizes, got shapes {shapes}.")
        out = list(shapes[0][1:])
        for shape in shapes[1:]:
            out = self._broadcast(out, list(shape[1:]), shapes)
        return (batches.pop() if batches else None,) + tuple(out)

    def _broadcast(self, a, b, shapes):
        if len(a) < len(b):
            a, b = b, a
        head, tail = a[:len(a) - len(b)], a[len(a) - len(b):]
        merged = []
        for i, j in zip(tail, b):
            if i is None or j is None:
                merged.append(None)
            elif i == 1 or j == 1 or i == j:
                merged.append(j if i == 1 else i)
            else:
                raise ValueError(f"{describe(self)}: inputs have incompatible shapes {shapes}.")
        return head + merged

    def build(self, input_shape):
        self._output_shape(_as_shapes(self, input_shape))
        self.built = True

    def call(self, inputs):
        _check_list(self, inputs)
        ranks = [len(core.shape(x)) for x in inputs]
        top = max(ranks)
        if min(ranks) < top:
            inputs = [self._expand(x, top - r) for x, r in zip(inputs, ranks)]
        return self._merge(list(inputs))

    @staticmethod
    def _expand(x, missing):
        for _ in range(missing):
            x = onp.expand_dims(x, 1)
        return x

    def _merge(self, tensors):
        raise NotImplementedError

    def compute_output_spec(self, inputs):
        shape = self._output_shape(_as_shapes(self, inputs))
        return KerasTensor(shape, self._output_dtype([x.dtype for x in inputs]))

    def _output_dtype(self, input_dtypes):
        return dtypes.result_type(*input_dtypes)

    def compute_output_shape(self, input_shape):
        return self._output_shape(_as_shapes(self, input_shape))

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        _check_masks(self, inputs, mask)
        if any(m is None for m in mask):
            return None
        merged = mask[0]
        for m in mask[1:]:
            merged = onp.logical_or(merged, m)
        return merged


def _reduce(fn, tensors):
    out = tensors[0]
    for t in tensors[1:]:
        out = fn(out, t)
    return out


class Add(_Merge):
    """Element-wise sum of the inputs."""

    def _merge(self, tensors):
        return _reduce(onp.add, tensors)


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    expected_inputs = 2

    def _merge(self, tensors):
        return onp.subtract(tensors[0], tensors[1])


class Multiply(_Merge):
    """Element-wise product of the inputs."""

    def _merge(self, tensors):
        return _reduce(onp.multiply, tensors)


class Average(_Merge):
    """Element-wise mean of the inputs."""

    def _merge(self, tensors):
        return onp.divide(_reduce(onp.add, tensors), len(tensors))

    def _output_dtype(self, input_dtypes):
        return dtypes.result_type(super()._output_dtype(input_dtypes), float)


class Maximum(_Merge):
    """Element-wise maximum of the inputs."""

    def _merge(self, tensors):
        return _reduce(onp.maximum, tensors)


class Minimum(_Merge):
    """Element-wise minimum of the inputs."""

    def _merge(self, tensors):
        return _reduce(onp.minimum, tensors)


class Concatenate(Layer):
    """Concatenates the inputs along `axis`; the other dims must agree."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def _output_shape(self, shapes):
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or any(len(s) != rank for s in shapes):
            raise ValueError(self._mismatch(shapes))
        out = []
        for i, dims in enumerate(zip(*shapes)):
            if i == axis:
                out.append(None if None in dims else sum(dims))
                continue
            if len({d for d in dims if d is not None}) > 1:
                raise ValueError(self._mismatch(shapes))
            out.append(dims[0])   # as Keras: the first input's size, known or not
        return tuple(out)

    def _mismatch(self, shapes):
        return (f"{describe(self)}: inputs must have the same rank and equal dims except on the "
                f"concatenation axis {self.axis}, got shapes {shapes}.")

    def build(self, input_shape):
        self._output_shape(_as_shapes(self, input_shape))
        self.built = True

    def call(self, inputs):
        _check_list(self, inputs)
        return onp.concatenate(list(inputs), axis=self.axis)

    def compute_output_spec(self, inputs):
        shape = self._output_shape(_as_shapes(self, inputs))
        return KerasTensor(shape, dtypes.result_type(*[x.dtype for x in inputs]))

    def compute_output_shape(self, input_shape):
        return self._output_shape(_as_shapes(self, input_shape))

    def compute_mask(self, inputs, mask=None):
        """The masks, each broadcast to its input's shape (a missing one all True),
        concatenated along `axis`, then any() over the last axis."""
        if mask is None:
            return None
        _check_masks(self, inputs, mask)
        if all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            everywhere = onp.ones_like(x, dtype="bool")
            if m is None:
                full.append(everywhere)
                continue
            m = core.cast(m, "bool")
            for _ in range(len(core.shape(x)) - len(core.shape(m))):
                m = onp.expand_dims(m, -1)
            full.append(onp.logical_and(m, everywhere))
        return onp.any(onp.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """Batched dot product of two inputs along `axes` (an int for both, or one per input),
    optionally of their L2-normalized values (cosine proximity). The result keeps the
    batch axis and the remaining axes of the first, then of the second input; a result with
    only the batch axis gets a trailing axis of size 1, as Keras's batch_dot does."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"{describe(self)}: axes must be an int or a pair of ints, got "
                                 f"{axes!r}.")
        elif isinstance(axes, bool) or not isinstance(axes, int):
            raise TypeError(f"{describe(self)}: axes must be an int or a pair of ints, got "
                            f"{axes!r}.")
        self.axes, self.normalize = axes, normalize
        self.supports_masking = True
        self._plan = None

    def _contraction(self, shapes):
        """(axis of input 0, axis of input 1, einsum subscripts, squeeze) for `shapes`."""
        if len(shapes) != 2:
            raise ValueError(f"{describe(self)}: expects exactly 2 inputs, got {len(shapes)} of "
                             f"shapes {shapes}.")
        s1, s2 = shapes
        pair = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        if not all(-len(s) <= a < len(s) for a, s in zip(pair, shapes)):
            raise ValueError(f"{describe(self)}: axes {self.axes} are out of bounds for inputs "
                             f"of shapes {shapes}.")
        a1, a2 = pair[0] % len(s1), pair[1] % len(s2)
        if a1 == 0 or a2 == 0:
            raise ValueError(f"{describe(self)}: cannot take the dot product over the batch axis "
                             f"(axes {self.axes}) of inputs of shapes {shapes}.")
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise ValueError(f"{describe(self)}: inputs of shapes {shapes} have different batch "
                             "sizes.")
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"{describe(self)}: incompatible input shapes {shapes}: axis {a1} of "
                             f"the first has size {s1[a1]}, axis {a2} of the second {s2[a2]}.")
        letters = iter("bcdefghijklmnopqrstuvwxyz")
        x = ["a"] + [next(letters) for _ in s1[1:]]
        y = ["a"] + [next(letters) for _ in s2[1:]]
        y[a2] = x[a1]
        out = [c for i, c in enumerate(x) if i != a1] + [c for i, c in enumerate(y)
                                                         if i not in (0, a2)]
        return a1, a2, f"{''.join(x)},{''.join(y)}->{''.join(out)}", len(out) == 1

    def build(self, input_shape):
        self._plan = self._contraction(_as_shapes(self, input_shape))
        self.built = True

    def call(self, inputs):
        _check_list(self, inputs)
        return self._dot(inputs, self._plan)

    def _dot(self, inputs, plan):
        x1, x2 = inputs
        a1, a2, subscripts, expand = plan
        if self.normalize:
            x1 = neural.normalize(x1, axis=a1)
            x2 = neural.normalize(x2, axis=a2)
        out = onp.einsum(subscripts, x1, x2)
        return onp.expand_dims(out, -1) if expand else out

    def compute_output_spec(self, inputs):
        return self._dot(inputs, self._contraction(_as_shapes(self, inputs)))

    def compute_output_shape(self, input_shape):
        shapes = _as_shapes(self, input_shape)
        return self.compute_output_spec([KerasTensor(s) for s in shapes]).shape

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


# --- functional forms ------------------------------------------------------------------------
def add(inputs, **kwargs):
    """`Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """`Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """`Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """`Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """`Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """`Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`Concatenate(axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """`Dot(axes, **kwargs)(inputs)`."""
    return Dot(axes=axes, **kwargs)(inputs)
