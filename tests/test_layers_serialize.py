"""`unikeras.layers.serialize/deserialize`: Keras's layer dicts, both ways, for every family."""
import json

import pytest

from unikeras import layers
from tests.keras_oracle import run_keras_code

LAYERS = [
    lambda: layers.Dense(3, activation="relu", kernel_regularizer="l2"),
    lambda: layers.Conv2D(4, 3, strides=2, padding="same", data_format="channels_first"),
    lambda: layers.Conv3DTranspose(2, 3, output_padding=1, strides=2),
    lambda: layers.SeparableConv1D(4, 3, depth_multiplier=2),
    lambda: layers.MaxPooling2D(3, strides=1),
    lambda: layers.GlobalAveragePooling1D(keepdims=True),
    lambda: layers.BatchNormalization(momentum=0.9, epsilon=1e-4),
    lambda: layers.LayerNormalization(axis=[-2, -1]),
    lambda: layers.MultiHeadAttention(num_heads=2, key_dim=8),
    lambda: layers.LSTM(5, return_sequences=True, go_backwards=True),
    lambda: layers.GRU(4, reset_after=False),
    lambda: layers.Bidirectional(layers.SimpleRNN(3), merge_mode="sum"),
    lambda: layers.TimeDistributed(layers.Dense(2)),
    lambda: layers.Embedding(10, 4, mask_zero=True),
    lambda: layers.Reshape((2, -1)),
    lambda: layers.Concatenate(axis=1),
    lambda: layers.SpatialDropout2D(0.3),
    lambda: layers.PReLU(shared_axes=[1]),
]


@pytest.mark.parametrize("make", LAYERS, ids=lambda m: type(m()).__name__)
def test_serialize_deserialize_round_trip(make):
    layer = make()
    config = layers.serialize(layer)
    assert config["class_name"] == type(layer).__name__ and config["module"].startswith("keras")
    again = layers.deserialize(json.loads(json.dumps(config)))
    assert type(again) is type(layer)
    assert layers.serialize(again)["config"] == config["config"]


def test_keras_reads_our_layer_dicts_and_agrees():
    ours = [layers.serialize(make()) for make in LAYERS]
    code = (
        "import json\n"
        "configs = json.loads(%r)\n"
        "result['back'] = [keras.layers.serialize(keras.layers.deserialize(c))['config'] "
        "for c in configs]\n") % json.dumps(ours)
    back = run_keras_code(code)["back"]
    for mine, theirs in zip(ours, back):
        config = mine["config"]
        assert sorted(config) == sorted(theirs), mine["class_name"]
        for key in ("units", "filters", "kernel_size", "strides", "padding", "momentum", "axis",
                    "num_heads", "key_dim", "return_sequences", "go_backwards", "reset_after",
                    "merge_mode", "mask_zero", "target_shape", "rate", "shared_axes"):
            if key in config:
                assert json.loads(json.dumps(config[key])) == theirs[key], (mine["class_name"], key)
