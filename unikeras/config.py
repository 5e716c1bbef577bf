"""Process-wide settings: the default backend, floatx and epsilon.

The default backend serves the standalone path (`Dense(4)(np_array)`, `model.fit`):
``UNIKERAS_BACKEND``, else ``~/.unikeras/unikeras.json``, else the first installed of
torch, jax, tensorflow, else the NumPy reference. Adapters never depend on it.
"""
import importlib.util
import json
import os

BACKENDS = ("torch", "jax", "tensorflow", "numpy")
_ALIASES = {"tf": "tensorflow", "pytorch": "torch"}

_floatx = "float32"
_epsilon = 1e-7
_backend = None


def _config_file_backend():
    path = os.path.join(os.path.expanduser("~"), ".unikeras", "unikeras.json")
    try:
        with open(path) as f:
            return json.load(f).get("backend")
    except (OSError, ValueError):
        return None


def _normalize_backend(name, source):
    name = _ALIASES.get(name, name)
    if name not in BACKENDS:
        raise ValueError(f"Unknown backend {name!r} from {source}; expected one of {BACKENDS}.")
    return name


def backend():
    """The default backend's name: 'torch', 'jax', 'tensorflow' or 'numpy'."""
    global _backend
    if _backend is None:
        env = os.environ.get("UNIKERAS_BACKEND")
        if env:
            _backend = _normalize_backend(env, "UNIKERAS_BACKEND")
        elif (from_file := _config_file_backend()):
            _backend = _normalize_backend(from_file, "~/.unikeras/unikeras.json")
        else:
            _backend = next(
                (b for b in ("torch", "jax", "tensorflow") if importlib.util.find_spec(b)),
                "numpy",
            )
    return _backend


def set_backend(name):
    """Change the default backend for this process (Keras reloads; we only switch)."""
    global _backend
    _backend = _normalize_backend(name, "set_backend")


def floatx():
    """Default float dtype name for weights and float results."""
    return _floatx


def set_floatx(value):
    global _floatx
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"set_floatx: unknown float dtype {value!r}.")
    _floatx = value


def epsilon():
    """Fuzz factor used by losses and metrics to avoid division by zero."""
    return _epsilon


def set_epsilon(value):
    global _epsilon
    _epsilon = float(value)


def image_data_format():
    return "channels_last"
