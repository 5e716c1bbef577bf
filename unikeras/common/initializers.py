"""Weight initializers with Keras 3's names, arguments and configs.

Values are computed with NumPy, so the same seed gives the same initial weights on every
backend. Seeding follows Keras: an integer seed, or no seed (one is drawn from the
process-wide generator when the initializer is made), gives the same values on every call
of that instance; a `SeedGenerator` seed gives new values on each call.
"""
import math
import warnings

import numpy as np

from unikeras.common import dtypes
from unikeras.common import seed_generator
from unikeras.common.catalog import Catalog


def _numpy_dtype(dtype):
    """NumPy has no bfloat16: such values are made in float32 and cast by the storage."""
    return "float32" if dtype == "bfloat16" else dtype


class Initializer:
    """Callable `(shape, dtype=None) -> NumPy array`; subclasses implement `sample`."""

    def __call__(self, shape, dtype=None):
        dtype = dtypes.standardize_dtype(dtype)
        shape = tuple(int(d) for d in shape)
        return np.asarray(self.sample(shape, dtype), dtype=_numpy_dtype(dtype))

    def sample(self, shape, dtype):
        raise NotImplementedError(f"{type(self).__name__} must implement sample(shape, dtype).")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


class Constant(Initializer):
    """Every entry `value` (a scalar, or an array broadcast to the shape)."""

    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, dtype):
        return np.broadcast_to(np.asarray(self.value, dtype=_numpy_dtype(dtype)), shape)

    def get_config(self):
        value = self.value
        return {"value": value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value}

    @classmethod
    def from_config(cls, config):
        value = config.get("value", 0.0)
        if isinstance(value, dict) and value.get("class_name") in ("__tensor__", "__numpy__"):
            value = np.asarray(value["config"]["value"], dtype=value["config"].get("dtype"))
        return cls(value)


class _Fill(Constant):
    """A Constant whose value is fixed by the class (no arguments, empty config)."""
    fill = 0.0

    def __init__(self):
        super().__init__(self.fill)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(_Fill):
    """All zeros."""
    fill = 0.0


class Ones(_Fill):
    """All ones."""
    fill = 1.0


class Identity(Initializer):
    """`gain` times the identity matrix (2D shapes only; rectangular ones allowed)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def sample(self, shape, dtype):
        if len(shape) != 2:
            raise ValueError("Identity initializer: only 2D shapes have an identity matrix, got "
                             f"shape {shape} of rank {len(shape)}.")
        return self.gain * np.eye(*shape)

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """Kernels of shape `(frame_length, 1, fft_length // 2 + 1)` computing the real or
    imaginary part of a windowed short-time Fourier transform by convolution."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT initializer: side must be 'real' or 'imag', got {side!r}.")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError("STFT initializer: scaling must be None, 'density' or 'spectrum', "
                             f"got {scaling!r}.")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def _window(self, n):
        if not isinstance(self.window, str):
            window = np.asarray(self.window, dtype="float64")
            if window.shape != (n,):
                raise ValueError(f"STFT initializer: the window has shape {window.shape}, the "
                                 f"frame length is {n}.")
            return window
        numpy_windows = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman,
                         "bartlett": np.bartlett}
        if self.window in numpy_windows:   # periodic: the symmetric window of n + 1, cut
            symmetric = numpy_windows[self.window]
            return symmetric(n + 1)[:n] if self.periodic else symmetric(n)
        try:
            from scipy.signal import get_window
        except ImportError:
            raise ValueError(f"STFT initializer: window {self.window!r} needs scipy; built in: "
                             f"{sorted(numpy_windows)}.") from None
        return get_window(self.window, n, fftbins=self.periodic)

    def sample(self, shape, dtype):
        if len(shape) != 3 or shape[1] != 1:
            raise ValueError("STFT initializer: expected a shape (frame_length, 1, "
                             f"fft_length // 2 + 1), got {shape}.")
        frame_length, bins = shape[0], shape[2]
        fft_length = 2 * (bins - 1)
        angle = 2 * np.pi * np.outer(np.arange(frame_length), np.arange(bins)) / fft_length
        kernel = np.cos(angle) if self.side == "real" else -np.sin(angle)
        if self.window is not None:
            window = self._window(frame_length)
            if self.scaling == "density":
                window = window / np.sqrt(np.sum(window ** 2))
            elif self.scaling == "spectrum":
                window = window / np.sum(np.abs(window))
            kernel = kernel * window[:, None]
        return kernel[:, None, :]

    def get_config(self):
        window = self.window
        window = window.tolist() if isinstance(window, np.ndarray) else window
        return {"side": self.side, "window": window, "scaling": self.scaling,
                "periodic": self.periodic}


class RandomInitializer(Initializer):
    """Base of the random initializers: resolves the seed (see module docstring)."""

    def __init__(self, seed=None):
        if not (seed is None or isinstance(seed, (int, np.integer, seed_generator.SeedGenerator))):
            raise ValueError(f"{type(self).__name__}: seed must be None, an int or a "
                             f"SeedGenerator, got {seed!r}.")
        self._init_seed = seed
        self._seed = seed_generator.draw_seed() if seed is None else (
            seed if isinstance(seed, seed_generator.SeedGenerator) else int(seed))
        self._calls = 0

    @property
    def seed(self):
        return self._init_seed

    def _rng(self):
        seed = self._seed
        if isinstance(seed, seed_generator.SeedGenerator):
            from unikeras.common.ops import core
            seed = [int(s) for s in np.asarray(core.convert_to_numpy(seed.next()))]
        elif self._init_seed is None and self._calls:
            warnings.warn(f"The unseeded initializer {type(self).__name__} is called again and "
                          "returns the same values as before (as in Keras): give it a seed, or "
                          "use one instance per weight.", stacklevel=4)
        self._calls += 1
        return np.random.default_rng(seed)

    def __call__(self, shape, dtype=None):
        dtype = dtypes.standardize_dtype(dtype)
        if not dtypes.is_float(dtype):
            raise ValueError(f"{type(self).__name__}: random values need a float dtype, got "
                             f"{dtype!r}.")
        return super().__call__(shape, dtype)

    def get_config(self):
        seed = self._init_seed
        if isinstance(seed, seed_generator.SeedGenerator):
            seed = {"module": "keras.random", "class_name": "SeedGenerator",
                    "config": seed.get_config(), "registered_name": None}
        return {"seed": seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        seed = config.get("seed")
        if isinstance(seed, dict):   # a serialized SeedGenerator
            config["seed"] = seed_generator.SeedGenerator(seed.get("config", {}).get("seed"))
        return cls(**config)


def _truncated_standard_normal(rng, shape):
    """Standard normal draws redrawn until within two standard deviations."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out


class RandomNormal(RandomInitializer):
    """Normal draws with `mean` and `stddev`."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def sample(self, shape, dtype):
        return self._rng().normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Normal draws of `mean` and `stddev`, redrawn beyond two `stddev`s from the mean."""

    def sample(self, shape, dtype):
        return self.mean + self.stddev * _truncated_standard_normal(self._rng(), shape)


class RandomUniform(RandomInitializer):
    """Uniform draws in [minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def sample(self, shape, dtype):
        return self._rng().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape: the products over `input_axes` and `output_axes`
    when both are given, else Keras's rule (the last two axes, times the receptive field)."""
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


# std of a standard normal truncated at +-2 standard deviations
_TRUNCATED_STD = 0.87962566103423978


class VarianceScaling(RandomInitializer):
    """Zero-mean draws of variance `scale / n`, n the fan in, out or their average."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        super().__init__(seed)
        name = type(self).__name__
        if not scale > 0:
            raise ValueError(f"{name}: scale must be positive, got {scale!r}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"{name}: mode must be 'fan_in', 'fan_out' or 'fan_avg', got "
                             f"{mode!r}.")
        distribution = distribution.lower() if isinstance(distribution, str) else distribution
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"{name}: distribution must be 'truncated_normal', "
                             f"'untruncated_normal' or 'uniform', got {distribution!r}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes

    def sample(self, shape, dtype):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return math.sqrt(variance) * rng.standard_normal(shape)
        return math.sqrt(variance) / _TRUNCATED_STD * _truncated_standard_normal(rng, shape)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """VarianceScaling with fixed (scale, mode, distribution): the Glorot/He/Lecun family."""
    preset = None

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self.preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": RandomInitializer.get_config(self)["seed"],
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Uniform in +-sqrt(6 / (fan_in + fan_out))."""
    preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal of std sqrt(2 / (fan_in + fan_out))."""
    preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """Uniform in +-sqrt(6 / fan_in)."""
    preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal of std sqrt(2 / fan_in)."""
    preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform in +-sqrt(3 / fan_in)."""
    preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal of std sqrt(1 / fan_in)."""
    preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """`gain` times a random orthogonal matrix (QR of normal draws), the shape flattened to
    (prod(shape[:-1]), shape[-1]): orthonormal columns, or rows when there are fewer."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def sample(self, shape, dtype):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer: the shape must have rank >= 2, got {shape}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))   # a uniformly distributed orthogonal matrix
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


_CLASSES = (Initializer, Constant, Zeros, Ones, Identity, STFT, RandomNormal, RandomUniform,
            TruncatedNormal, VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
            LecunUniform, LecunNormal, Orthogonal)
# Keras's other public names: the same classes (`glorot_uniform is GlorotUniform`).
_ALIASES = {"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
            "STFTInitializer": STFT, "constant": Constant, "zeros": Zeros, "ones": Ones,
            "identity": Identity, "stft": STFT, "random_normal": RandomNormal,
            "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
            "variance_scaling": VarianceScaling, "orthogonal": Orthogonal,
            "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
            "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
            "lecun_normal": LecunNormal}
globals().update(_ALIASES)
_catalog = Catalog("initializer", "keras.initializers", Initializer, _CLASSES, _ALIASES)


def get(identifier):
    """An initializer from None, a name, a config dict, a class, an instance or a callable."""
    return _catalog.get(identifier)


def serialize(initializer):
    """Keras's `{"module", "class_name", "config", "registered_name"}` dict."""
    return _catalog.serialize(initializer)


def deserialize(config, custom_objects=None):
    """An initializer from `serialize`'s dict (or a name); unknown names raise ValueError."""
    return _catalog.deserialize(config, custom_objects)


__all__ = ["RandomInitializer", "compute_fans", "get", "serialize",
           "deserialize"] + [c.__name__ for c in _CLASSES] + sorted(_ALIASES)
