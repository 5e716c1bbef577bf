"""InputSpec: the rank / dims a layer accepts, checked on symbolic calls."""


class InputSpec:
    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = dict(axes or {})
        self.name, self.optional = name, optional

    def check(self, layer_name, shape):
        """Raise ValueError naming the layer if `shape` does not satisfy this spec."""
        rank = len(shape)
        problem = None
        if self.ndim is not None and rank != self.ndim:
            problem = f"expected rank {self.ndim}"
        elif self.min_ndim is not None and rank < self.min_ndim:
            problem = f"expected rank >= {self.min_ndim}"
        elif self.max_ndim is not None and rank > self.max_ndim:
            problem = f"expected rank <= {self.max_ndim}"
        else:
            for axis, size in self.axes.items():
                got = shape[axis] if -rank <= axis < rank else "missing"
                if size is not None and got is not None and got != size:
                    problem = f"expected axis {axis} of size {size}, got {got}"
                    break
            if problem is None and self.shape is not None:
                for want, got in zip(self.shape, shape):
                    if want is not None and got is not None and want != got:
                        problem = f"expected shape {self.shape}"
                        break
        if problem:
            raise ValueError(f"Input to layer '{layer_name}' is incompatible: {problem}, "
                             f"received shape {tuple(shape)}.")
