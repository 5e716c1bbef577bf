"""The OpenVINO graph of a channels_last CNN keeps its data channels-first between layers
(unikeras/adapters/openvino/layout.py) and computes the same as the NumPy reference."""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")

import unikeras as uk  # noqa: E402
from unikeras import layers, ops  # noqa: E402
from unikeras.adapters import openvino as uov  # noqa: E402


def _transposes(ov_model):
    return [op for op in ov_model.get_ordered_ops() if op.get_type_name() == "Transpose"
            and op.input_value(0).get_node().get_type_name() != "Constant"]


def _numpy(model, x):
    with ops.backend_scope("numpy"):
        return ops.convert_to_numpy(model(x))


def test_cnn_graph_drops_the_layout_round_trips():
    uk.utils.set_random_seed(0)
    model = uk.Sequential([
        uk.Input((12, 12, 3)),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, padding="same", activation="sigmoid"), layers.AveragePooling2D(2),
        layers.Flatten(), layers.Dense(4)])
    ov_model = uov.build_ov_model(model)
    # Left: the input's (into channels-first); the 2 conv -> pool and 1 pool -> conv pairs
    # are gone, and the one before Flatten is folded into the Dense kernel's rows
    # (unikeras/adapters/openvino/dense_weights.py).
    assert len(_transposes(ov_model)) == 1
    compiled = uov.compile(model)
    for n in (1, 5):
        x = np.random.default_rng(n).standard_normal((n, 12, 12, 3)).astype("float32")
        np.testing.assert_allclose(compiled(x), _numpy(model, x), rtol=1e-5, atol=1e-5)


def test_a_chain_with_a_second_consumer_stays_channels_last():
    """conv -> relu feeds both a pooling layer and a residual add in channels_last: the relu
    output must stay as it is, and the result must not change."""
    uk.utils.set_random_seed(1)
    inputs = uk.Input((8, 8, 4))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    pooled = layers.MaxPooling2D(2, strides=1, padding="same")(h)
    out = layers.Add()([h, pooled])
    model = uk.Model(inputs, layers.GlobalAveragePooling2D()(out))
    compiled = uov.compile(model)
    x = np.random.default_rng(2).standard_normal((3, 8, 8, 4)).astype("float32")
    np.testing.assert_allclose(compiled(x), _numpy(model, x), rtol=1e-5, atol=1e-5)
