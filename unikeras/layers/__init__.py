"""`unikeras.layers`: the layer catalog (each family's module lists its names in __all__)."""
from unikeras.common.layers.core import Activation, Dense, Dropout, Flatten  # noqa: F401
from unikeras.common.layers.input_layer import Input, InputLayer  # noqa: F401
from unikeras.common.layers.input_spec import InputSpec  # noqa: F401
from unikeras.common.layers.layer import Layer  # noqa: F401
from unikeras.common.layers.activation_layers import *  # noqa: F401,F403
from unikeras.common.layers.attention import *  # noqa: F401,F403
from unikeras.common.layers.convolution import *  # noqa: F401,F403
from unikeras.common.layers.core_extra import *  # noqa: F401,F403
from unikeras.common.layers.embedding import *  # noqa: F401,F403
from unikeras.common.layers.merging import *  # noqa: F401,F403
from unikeras.common.layers.normalization import *  # noqa: F401,F403
from unikeras.common.layers.pooling import *  # noqa: F401,F403
from unikeras.common.layers.recurrent import *  # noqa: F401,F403
from unikeras.common.layers.regularization import *  # noqa: F401,F403
from unikeras.common.layers.reshaping import *  # noqa: F401,F403

# Layers that wrap a framework's own modules live in that framework's adapter and load on
# first use, so `import unikeras.layers` imports no framework.
_FRAMEWORK_LAYERS = {
    "TorchModuleWrapper": "unikeras.adapters.torch_nn.module_wrapper",
    "FlaxLayer": "unikeras.adapters.flax.wrapped_layers",
    "JaxLayer": "unikeras.adapters.flax.wrapped_layers",
    "TFSMLayer": "unikeras.adapters.tf_module.saved_model_layer",
}


def __getattr__(name):
    if name in _FRAMEWORK_LAYERS:
        import importlib
        return getattr(importlib.import_module(_FRAMEWORK_LAYERS[name]), name)
    raise AttributeError(f"module 'unikeras.layers' has no attribute '{name}'")


def serialize(layer):
    """A layer's Keras config dict (`module`, `class_name`, `config`, `registered_name`)."""
    from unikeras.common.saving.serialization import serialize_keras_object
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A new layer from a `serialize` dict; classes come from the registry only."""
    from unikeras.common.saving.serialization import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects)
