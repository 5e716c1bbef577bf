"""`.unikeras` round trips over the layer catalog: a model around each layer is saved on one
of torch, jax and tensorflow (taking turns), loaded on every other backend and compiled
with OpenVINO, and predicts the same within 1e-6."""
import numpy as np
import pytest

import unikeras as uk
from unikeras import layers, ops
from tests.conftest import FRAMEWORKS

L = layers


def _on(layer):
    return lambda x: layer()(x)


def _pair(merge):
    """A merging layer over the input and a Dense of it (two different tensors)."""
    return lambda x: merge()([x, L.Dense(x.shape[-1])(x)])


CASES = [  # (id, inputs -> outputs, input shape of one sample, integer input)
    ("dense", _on(lambda: L.Dense(5, activation="tanh")), (6,), False),
    ("einsum_dense", _on(lambda: L.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c")), (6,), False),
    ("embedding", _on(lambda: L.Embedding(10, 3)), (5,), True),
    ("reversible_embedding", _on(lambda: L.ReversibleEmbedding(10, 3)), (5,), True),
    ("identity_masking", _on(lambda: uk.Sequential([L.Identity(), L.Masking(0.25)])), (4, 3), False),
    ("conv1d", _on(lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2)), (8, 2), False),
    ("conv2d", _on(lambda: L.Conv2D(3, 3, strides=2, padding="same")), (7, 7, 2), False),
    ("conv3d", _on(lambda: L.Conv3D(2, 2, groups=1)), (4, 4, 4, 1), False),
    ("conv1d_transpose", _on(lambda: L.Conv1DTranspose(2, 3, strides=2)), (5, 2), False),
    ("conv2d_transpose", _on(lambda: L.Conv2DTranspose(2, 3, strides=2)), (4, 4, 2), False),
    ("conv3d_transpose", _on(lambda: L.Conv3DTranspose(1, 2)), (3, 3, 3, 2), False),
    ("depthwise_conv2d", _on(lambda: L.DepthwiseConv2D(3, depth_multiplier=2)), (6, 6, 2), False),
    ("depthwise_conv1d", _on(lambda: L.DepthwiseConv1D(3)), (6, 2), False),
    ("separable_conv1d", _on(lambda: L.SeparableConv1D(3, 3)), (8, 2), False),
    ("separable_conv2d", _on(lambda: L.SeparableConv2D(2, 3)), (5, 5, 2), False),
    ("max_pooling2d", _on(lambda: L.MaxPooling2D(2)), (6, 6, 2), False),
    ("average_pooling1d", _on(lambda: L.AveragePooling1D(2, padding="same")), (7, 3), False),
    ("average_pooling3d", _on(lambda: L.AveragePooling3D(2)), (4, 4, 4, 1), False),
    ("global_max_pooling3d", _on(lambda: L.GlobalMaxPooling3D()), (3, 3, 3, 2), False),
    ("global_average_pooling2d", _on(lambda: L.GlobalAveragePooling2D(keepdims=True)), (3, 3, 2), False),
    ("adaptive_average_pooling2d", _on(lambda: L.AdaptiveAveragePooling2D((2, 2))), (5, 5, 2), False),
    ("adaptive_max_pooling1d", _on(lambda: L.AdaptiveMaxPooling1D(3)), (7, 2), False),
    ("batch_normalization", _on(lambda: L.BatchNormalization()), (5,), False),
    ("layer_normalization", _on(lambda: L.LayerNormalization()), (4, 6), False),
    ("group_normalization", _on(lambda: L.GroupNormalization(groups=2)), (4, 4), False),
    ("rms_unit_normalization", _on(lambda: uk.Sequential([L.RMSNormalization(),
                                                          L.UnitNormalization()])), (6,), False),
    ("spectral_normalization", _on(lambda: L.SpectralNormalization(L.Dense(3))), (4,), False),
    ("activations", _on(lambda: uk.Sequential([L.PReLU(), L.LeakyReLU(0.2), L.ELU(), L.ReLU(6.0),
                                               L.Softmax()])), (6,), False),
    ("regularization", _on(lambda: uk.Sequential([
        L.Dropout(0.5), L.GaussianNoise(1.0), L.GaussianDropout(0.3), L.AlphaDropout(0.2),
        L.SpatialDropout1D(0.3), L.ActivityRegularization(0.1)])), (4, 3), False),
    ("simple_rnn", _on(lambda: L.SimpleRNN(4, return_sequences=True)), (5, 3), False),
    ("lstm", _on(lambda: L.LSTM(4)), (5, 3), False),
    ("gru", _on(lambda: L.GRU(4, reset_after=False)), (5, 3), False),
    ("stacked_cells", _on(lambda: L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]))),
     (5, 3), False),
    ("bidirectional", _on(lambda: L.Bidirectional(L.LSTM(3, return_sequences=True))), (5, 3), False),
    ("time_distributed", _on(lambda: L.TimeDistributed(L.Dense(2))), (4, 3), False),
    ("conv_lstm1d", _on(lambda: L.ConvLSTM1D(2, 3, padding="same")), (3, 6, 2), False),
    ("conv_lstm2d", _on(lambda: L.ConvLSTM2D(2, 3)), (2, 4, 4, 1), False),
    ("multi_head_attention", lambda x: L.MultiHeadAttention(num_heads=2, key_dim=3)(x, x), (4, 6), False),
    ("group_query_attention", lambda x: L.GroupQueryAttention(4, num_query_heads=2, num_key_value_heads=1)(x, x),
     (4, 6), False),
    ("attention", lambda x: L.Attention(use_scale=True)([x, x]), (4, 6), False),
    ("additive_attention", lambda x: L.AdditiveAttention()([x, x]), (4, 6), False),
    ("up_sampling2d", _on(lambda: L.UpSampling2D(2, interpolation="bilinear")), (3, 3, 2), False),
    ("up_sampling_1d_3d", _on(lambda: uk.Sequential([L.Reshape((2, 2, 2, 1)), L.UpSampling3D(2),
                                                     L.Reshape((64, 1)), L.UpSampling1D(2)])),
     (8,), False),
    ("padding_cropping", _on(lambda: uk.Sequential([L.ZeroPadding2D(1), L.Cropping2D(((0, 1), (1, 0)))])),
     (3, 3, 1), False),
    ("padding_cropping_1d_3d", _on(lambda: uk.Sequential([
        L.ZeroPadding1D(1), L.Cropping1D(1), L.Reshape((2, 2, 1, 1)), L.ZeroPadding3D(1),
        L.Cropping3D(1)])), (4, 1), False),
    ("reshape_permute_repeat", _on(lambda: uk.Sequential([L.Reshape((3, -1)), L.Permute((2, 1)),
                                                          L.Flatten(), L.RepeatVector(2)])), (6,), False),
    ("add", _pair(L.Add), (4,), False),
    ("subtract", _pair(L.Subtract), (4,), False),
    ("multiply_average", lambda x: L.Average()([L.Multiply()([x, x]), x]), (4,), False),
    ("maximum_minimum", lambda x: L.Maximum()([L.Minimum()([x, L.Dense(4)(x)]), x]), (4,), False),
    ("concatenate", _pair(lambda: L.Concatenate(axis=-1)), (4,), False),
    ("dot", _pair(lambda: L.Dot(axes=-1, normalize=True)), (4,), False),
]


def _build(case, backend):
    name, build, shape, integer = case
    with ops.backend_scope(backend):
        inputs = uk.Input(shape, dtype="int32" if integer else "float32")
        return uk.Model(inputs, build(inputs), name=name)


def _randomize(model, rng):
    """Weights in [-0.5, 0.5] (variances in [0.5, 1]) so that every value is exercised."""
    values = []
    for v in model.weights:
        w = rng.uniform(-0.5, 0.5, v.shape)
        if v.path.endswith("moving_variance"):
            w = np.abs(w) + 0.5
        values.append(w.astype(v.dtype))
    model.set_weights(values)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_save_on_one_backend_load_on_every_other_and_openvino(index, tmp_path):
    from unikeras.adapters import openvino as uov
    case = CASES[index]
    source = FRAMEWORKS[index % len(FRAMEWORKS)]
    model = _build(case, source)
    rng = np.random.default_rng(index)
    _randomize(model, rng)
    shape = (3,) + case[2]
    x = rng.integers(0, 10, shape).astype("int32") if case[3] else rng.uniform(-1, 1, shape).astype("float32")
    want = model.predict(x, verbose=0)
    path = tmp_path / "model.unikeras"
    model.save(path)
    for backend in [b for b in FRAMEWORKS + ["numpy"] if b != source]:
        with ops.backend_scope(backend):
            loaded = uk.saving.load_model(path)
        assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]
        np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6,
                                   err_msg=f"saved on {source}, loaded on {backend}")
    compiled = uov.compile(uk.saving.load_model(path))
    np.testing.assert_allclose(compiled(x), want, rtol=1e-6, atol=1e-6,
                               err_msg=f"saved on {source}, compiled with OpenVINO")
