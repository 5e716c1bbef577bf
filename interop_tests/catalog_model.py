"""One model that holds every layer family of the catalog, for the interop tests: token ids
-> Embedding -> Conv1D -> BatchNormalization (moving statistics) -> LSTM -> MultiHeadAttention
-> LayerNormalization -> pooling -> Dropout -> Dense."""
import numpy as np

import unikeras as uk
from unikeras import layers as L
from unikeras import ops

VOCAB, TIME, CLASSES = 40, 10, 3


def build_catalog_model(backend, seed=0, time=TIME):
    """The model on `backend` with seeded weights; `time=None` leaves the time axis free."""
    uk.utils.set_random_seed(seed)
    with ops.backend_scope(backend):
        tokens = uk.Input((time,), dtype="int32", name="tokens")
        h = L.Embedding(VOCAB, 8, name="embed")(tokens)
        h = L.Conv1D(8, 3, padding="same", activation="relu", name="conv")(h)
        h = L.BatchNormalization(name="bn")(h)
        h = L.LSTM(8, return_sequences=True, name="lstm")(h)
        h = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(h, h)
        h = L.LayerNormalization(name="ln")(h)
        h = L.GlobalAveragePooling1D(name="pool")(h)
        h = L.Dropout(0.25, seed=seed, name="drop")(h)
        out = L.Dense(CLASSES, name="head")(h)
        return uk.Model(tokens, out, name="catalog")


def sample_tokens(batch, seed=0, time=TIME):
    """Random token ids (int32) of shape (batch, time)."""
    return np.random.default_rng(seed).integers(0, VOCAB, (batch, time)).astype("int32")


def sample_labels(batch, seed=0):
    return np.random.default_rng(seed + 1).integers(0, CLASSES, (batch,)).astype("int32")
