"""Every Keras 3 loss (classes and functions) on numpy, torch, jax and tensorflow, checked
against NumPy formulas written here and against Keras 3 (one subprocess on its numpy
backend, all cases at once); options, reductions, sample weights, masks, compiled calls,
gradients, bad input and (de)serialization."""
import json

import numpy as np
import pytest

from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_keras_code
from unikeras import ops
from unikeras.common import losses
from unikeras.common.variables import runtime

BACKENDS = ["numpy"] + FRAMEWORKS
R = np.random.default_rng(11)
EPS = 1e-7


# --- data ------------------------------------------------------------------------------------
def _f(*shape, lo=None, hi=None):
    if lo is None:
        return R.standard_normal(shape).astype("float32")
    return R.uniform(lo, hi, shape).astype("float32")


def _probs(*shape):
    p = R.uniform(0.05, 1.0, shape)
    return (p / p.sum(-1, keepdims=True)).astype("float32")


def _onehot(labels, n, axis=-1):
    return np.moveaxis(np.eye(n, dtype="float32")[labels], -1, axis)


def _unit(*shape):
    x = R.standard_normal(shape)
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


L6 = R.integers(0, 3, 6).astype("int32")
L6_IGN = np.array([1, 0, 1, 2, 2, 0], "int32")
L23 = R.integers(0, 4, (2, 3)).astype("int32")
CIRCLE_LABELS = np.array([0, 1, 0, 2, 1, 0, 3, 1], "int32")   # label 3 has no positive pair
ARRAYS = {
    "reg_t": _f(6, 3), "reg_p": _f(6, 3), "pos_t": _f(6, 3, lo=0.0, hi=3.0),
    "pos_p": _f(6, 3, lo=0.1, hi=3.0), "col_t": _f(6, 1), "col_p": _f(6),
    "bin_t": (R.uniform(size=(6, 3)) > 0.5).astype("float32"), "prob_p": _f(6, 3, lo=0.02, hi=0.98),
    "logit_p": _f(6, 3), "sign_t": np.sign(_f(6, 3)).astype("float32"),
    "bin3_t": (R.uniform(size=(2, 3, 4)) > 0.5).astype("float32"), "prob3_p": _f(2, 3, 4, lo=0.02, hi=0.98),
    "oh_t": _onehot(L6, 3), "cat_p": _probs(6, 3) * 1.3, "soft_t": _probs(6, 3),
    "oh3_t": _onehot(L23, 4, axis=1), "cat3_p": np.moveaxis(_probs(2, 3, 4), -1, 1).copy(),
    "logit3_p": _f(2, 4, 3),
    "lab": L6, "lab_col": L6[:, None], "lab_ign": L6_IGN, "lab23": L23,
    "emb": _unit(8, 4), "circ_lab": CIRCLE_LABELS, "ref_emb": _unit(5, 4),
    "ref_lab": np.array([1, 0, 2, 1, 3], "int32"),
    "ctc_t": np.array([[1, 2, 2], [3, 1, 4]], "int32"), "ctc_p": _f(2, 7, 5),
    "w6": _f(6, lo=0.0, hi=2.0), "w2": _f(2, lo=0.0, hi=2.0), "w8": _f(8, lo=0.0, hi=2.0),
    "w23": _f(2, 3, lo=0.0, hi=2.0),
}


# --- NumPy formulas (float64): per-sample values and validity mask (None: all valid) ----------
def _mean(x, axis=-1):
    return x.mean(axis)


def _log_softmax(x, axis=-1):
    x = x - x.max(axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis, keepdims=True))


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _align(t, p):
    """Keras's rank alignment of a Loss object's inputs: a trailing size-1 axis is dropped,
    or added to a rank-1 partner."""
    if t.ndim == p.ndim + 1 and t.shape[-1] == 1:
        return (t, p[:, None]) if p.ndim == 1 else (t[..., 0], p)
    if p.ndim == t.ndim + 1 and p.shape[-1] == 1:
        return (t[:, None], p) if t.ndim == 1 else (t, p[..., 0])
    return t, p


def np_bce_elementwise(t, p, from_logits):
    if from_logits:
        return -(t * _log_sigmoid(p) + (1 - t) * _log_sigmoid(-p))
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def np_probs(p, from_logits, axis):
    p = np.exp(_log_softmax(p, axis)) if from_logits else p / p.sum(axis, keepdims=True)
    return np.clip(p, EPS, 1 - EPS)


def np_signed(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


def np_ctc(labels, logits):
    out = []
    for lab, x in zip(labels, logits):
        logp = _log_softmax(x)
        ext = [0]
        for c in lab:
            ext += [int(c), 0]
        alpha = np.full(len(ext), -np.inf)
        alpha[0], alpha[1] = logp[0, 0], logp[0, ext[1]]
        for t in range(1, len(x)):
            new = np.full(len(ext), -np.inf)
            for s, c in enumerate(ext):
                a = alpha[s]
                if s > 0:
                    a = np.logaddexp(a, alpha[s - 1])
                if s > 1 and c != 0 and c != ext[s - 2]:
                    a = np.logaddexp(a, alpha[s - 2])
                new[s] = a + logp[t, c]
            alpha = new
        out.append(-np.logaddexp(alpha[-1], alpha[-2]))
    return np.array(out)


def np_circle(labels, emb, ref_labels=None, ref_embeddings=None, gamma=80.0, margin=0.4,
              remove_diagonal=True):
    ref_labels = labels if ref_labels is None else ref_labels
    ref_embeddings = emb if ref_embeddings is None else ref_embeddings
    sim = emb @ ref_embeddings.T
    same = labels[:, None] == ref_labels[None, :]
    pos = same & ~np.eye(*same.shape, dtype=bool) if remove_diagonal else same
    dist = np.maximum(1 - sim, 0)
    sim = 1 - dist
    out = []
    for i in range(len(labels)):
        a_p = np.maximum(1 + margin - sim[i][pos[i]], 0)
        a_n = np.maximum(sim[i][~same[i]] + margin, 0)
        lp = -gamma * a_p * (sim[i][pos[i]] - (1 - margin))
        ln = gamma * a_n * (sim[i][~same[i]] - margin)
        lse = (np.logaddexp.reduce(lp) if lp.size else -np.inf) + (
            np.logaddexp.reduce(ln) if ln.size else -np.inf)
        out.append(np.logaddexp(0.0, lse))
    out = np.array(out)
    return out, out > 0


def np_sparse_labels(t, p, axis):
    if t.ndim == p.ndim and t.shape[axis] == 1:
        t = np.squeeze(t, axis)
    return t.astype(int)


def np_scce(t, p, from_logits=False, ignore_class=None, axis=-1):
    t = np_sparse_labels(t, p, axis)
    logp = np.log(np_probs(p, from_logits, axis)) if not from_logits else _log_softmax(p, axis)
    logp = np.moveaxis(logp, axis, -1)
    safe = np.where(t == ignore_class, 0, t) if ignore_class is not None else t
    per = -np.take_along_axis(logp, safe[..., None], -1)[..., 0]
    if ignore_class is None:
        return per, None
    return np.where(t == ignore_class, 0.0, per), t != ignore_class


def _plain(fn):
    """A formula without mask, as (values, None)."""
    return lambda t, p, **kw: (fn(t, p, **kw), None)


def _cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[axis]
    logp = _log_softmax(p, axis) if from_logits else np.log(np_probs(p, False, axis))
    return -(t * logp).sum(axis)


def _bfce(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
          label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    p = 1 / (1 + np.exp(-p)) if from_logits else p
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * np_bce_elementwise(t, p, False)
    if apply_class_balancing:
        out = out * (t * alpha + (1 - t) * (1 - alpha))
    return out.mean(axis)


def _cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[axis]
    q = np_probs(p, from_logits, axis)
    return (-alpha * (1 - q) ** gamma * t * np.log(q)).sum(axis)


def _cgce(t, p, q=0.5):
    t = np_sparse_labels(t, p, -1)
    p_t = np.take_along_axis(p, t[..., None], -1)[..., 0]
    return (1 - p_t ** q) / q


def _cosine(t, p, axis=-1):
    n = lambda x: x / np.maximum(np.sqrt((x * x).sum(axis, keepdims=True)), 1e-12)  # noqa: E731
    return -(n(t) * n(p)).sum(axis)


def _huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(-1)


def _dice(t, p, axis=None):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return 1 - 2 * (t * p).sum(axis) / (t.sum(axis) + p.sum(axis) + EPS)


def _tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    axis = tuple(axis) if isinstance(axis, list) else axis
    tp, fp, fn = (t * p).sum(axis), ((1 - t) * p).sum(axis), (t * (1 - p)).sum(axis)
    return 1 - tp / (tp + alpha * fn + beta * fp + EPS)


NP_FORMULAS = {
    "mean_squared_error": _plain(lambda t, p: _mean((t - p) ** 2)),
    "mean_absolute_error": _plain(lambda t, p: _mean(np.abs(t - p))),
    "mean_absolute_percentage_error": _plain(
        lambda t, p: 100 * _mean(np.abs(t - p) / np.maximum(np.abs(t), EPS))),
    "mean_squared_logarithmic_error": _plain(
        lambda t, p: _mean((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(t, EPS))) ** 2)),
    "cosine_similarity": _plain(_cosine),
    "huber": _plain(_huber),
    "log_cosh": _plain(lambda t, p: _mean(np.log(np.cosh(p - t)))),
    "kl_divergence": _plain(lambda t, p: (np.clip(t, EPS, 1) * np.log(
        np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1)),
    "poisson": _plain(lambda t, p: _mean(p - t * np.log(p + EPS))),
    "hinge": _plain(lambda t, p: _mean(np.maximum(1 - np_signed(t) * p, 0))),
    "squared_hinge": _plain(lambda t, p: _mean(np.maximum(1 - np_signed(t) * p, 0) ** 2)),
    "categorical_hinge": _plain(lambda t, p: np.maximum(
        ((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0)),
    "binary_crossentropy": _plain(lambda t, p, from_logits=False, label_smoothing=0.0, axis=-1:
                                  np_bce_elementwise(t * (1 - label_smoothing) + 0.5 * label_smoothing,
                                                     p, from_logits).mean(axis)),
    "binary_focal_crossentropy": _plain(_bfce),
    "categorical_crossentropy": _plain(_cce),
    "categorical_focal_crossentropy": _plain(_cfce),
    "sparse_categorical_crossentropy": np_scce,
    "categorical_generalized_cross_entropy": _plain(_cgce),
    "dice": _plain(_dice),
    "tversky": _plain(_tversky),
    "ctc": _plain(lambda t, p: np_ctc(t, p)),
    "circle": lambda t, p, ref_labels=None, **kw: np_circle(
        t.astype(int), p, None if ref_labels is None else ref_labels.astype(int), **kw),
}


def np_reduce(values, sw, mask, reduction):
    """Keras's weighting and reduction, written out: masked entries count as absent."""
    values = np.asarray(values, "float64")
    w = np.ones_like(values) if sw is None else np.broadcast_to(sw, np.broadcast_shapes(
        np.shape(sw), values.shape))
    values = np.broadcast_to(values, w.shape)
    m = np.ones_like(w) if mask is None else np.broadcast_to(mask, w.shape).astype("float64")
    weighted = values * w * m
    if reduction in (None, "none") or values.ndim == 0:
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight" and sw is not None:
        return weighted.sum() / (w * m).sum()
    return weighted.sum() / m.sum()


# --- the cases -------------------------------------------------------------------------------
# Classes: (class, options, y_true, y_pred, sample weight names); each is run with the default
# reduction and no weights, and with the weights under every reduction.
CLASS_DATA = [
    ("MeanSquaredError", {}, "reg_t", "reg_p", "w6"),
    ("MeanAbsoluteError", {}, "reg_t", "reg_p", "w6"),
    ("MeanAbsolutePercentageError", {}, "reg_t", "reg_p", "w6"),
    ("MeanSquaredLogarithmicError", {}, "pos_t", "pos_p", "w6"),
    ("CosineSimilarity", {}, "reg_t", "reg_p", "w6"),
    ("Huber", {}, "reg_t", "reg_p", "w6"),
    ("LogCosh", {}, "reg_t", "reg_p", "w6"),
    ("KLDivergence", {}, "soft_t", "cat_p", "w6"),
    ("Poisson", {}, "pos_t", "pos_p", "w6"),
    ("Hinge", {}, "bin_t", "reg_p", "w6"),
    ("SquaredHinge", {}, "sign_t", "reg_p", "w6"),
    ("CategoricalHinge", {}, "oh_t", "reg_p", "w6"),
    ("BinaryCrossentropy", {}, "bin_t", "prob_p", "w6"),
    ("BinaryFocalCrossentropy", {}, "bin_t", "prob_p", "w6"),
    ("CategoricalCrossentropy", {}, "oh_t", "cat_p", "w6"),
    ("CategoricalFocalCrossentropy", {}, "oh_t", "cat_p", "w6"),
    ("SparseCategoricalCrossentropy", {}, "lab", "cat_p", "w6"),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.6}, "lab", "soft_t", "w6"),
    ("Dice", {"axis": 1}, "bin_t", "prob_p", "w6"),
    ("Tversky", {"axis": [1]}, "bin_t", "prob_p", "w6"),
    ("CTC", {}, "ctc_t", "ctc_p", "w2"),
    ("Circle", {}, "circ_lab", "emb", "w8"),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]

# Options: (id, class, options, y_true, y_pred, sample weight or None)
OPTION_CASES = [
    ("mse_rank", "MeanSquaredError", {}, "col_t", "col_p", None),
    ("mse_3d", "MeanSquaredError", {"reduction": "mean"}, "bin3_t", "prob3_p", "w23"),
    ("cos_axis0", "CosineSimilarity", {"axis": 0}, "reg_t", "reg_p", None),
    ("huber_delta", "Huber", {"delta": 0.4}, "reg_t", "reg_p", "w6"),
    ("bce_logits_ls", "BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
     "bin_t", "logit_p", "w6"),
    ("bce_axis", "BinaryCrossentropy", {"axis": 1}, "bin3_t", "prob3_p", None),
    ("bfce_all", "BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4,
                                             "gamma": 1.5, "from_logits": True, "label_smoothing": 0.1},
     "bin_t", "logit_p", "w6"),
    ("bfce_axis", "BinaryFocalCrossentropy", {"axis": 1, "apply_class_balancing": True},
     "bin3_t", "prob3_p", None),
    ("cce_logits_ls", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
     "oh_t", "logit_p", "w6"),
    ("cce_axis", "CategoricalCrossentropy", {"axis": 1}, "oh3_t", "cat3_p", None),
    ("cfce_all", "CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.0, "from_logits": True,
                                                  "label_smoothing": 0.2}, "oh_t", "logit_p", "w6"),
    ("cfce_axis", "CategoricalFocalCrossentropy", {"axis": 1}, "oh3_t", "cat3_p", None),
    ("scce_logits_col", "SparseCategoricalCrossentropy", {"from_logits": True}, "lab_col",
     "logit_p", "w6"),
    ("scce_ignore", "SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1},
     "lab_ign", "logit_p", None),
    ("scce_ignore_sw_sum", "SparseCategoricalCrossentropy", {"ignore_class": 2, "reduction": "sum"},
     "lab_ign", "cat_p", "w6"),
    ("scce_ignore_mwsw", "SparseCategoricalCrossentropy",
     {"ignore_class": 0, "reduction": "mean_with_sample_weight"}, "lab_ign", "cat_p", "w6"),
    ("scce_ignore_none", "SparseCategoricalCrossentropy",
     {"from_logits": True, "ignore_class": 2, "reduction": None}, "lab_ign", "logit_p", "w6"),
    ("scce_axis", "SparseCategoricalCrossentropy", {"from_logits": True, "axis": 1}, "lab23",
     "logit3_p", "w23"),
    ("cgce_default", "CategoricalGeneralizedCrossEntropy", {}, "lab", "soft_t", None),
    ("dice_all", "Dice", {}, "bin_t", "prob_p", None),
    ("dice_axes", "Dice", {"axis": [1, 2]}, "bin3_t", "prob3_p", "w2"),
    ("tversky_ab", "Tversky", {"alpha": 0.3, "beta": 0.7}, "bin_t", "prob_p", None),
    ("tversky_axes", "Tversky", {"alpha": 0.8, "beta": 0.1, "axis": [1, 2]}, "bin3_t", "prob3_p", None),
    ("circle_opts", "Circle", {"gamma": 20.0, "margin": 0.25, "remove_diagonal": False},
     "circ_lab", "emb", "w8"),
]


def _class_cases():
    cases = []
    for cls, opts, yt, yp, sw in CLASS_DATA:
        cases.append((f"{cls}:default", cls, opts, yt, yp, None))
        for red in REDUCTIONS:
            cases.append((f"{cls}:{red}", cls, {**opts, "reduction": red}, yt, yp, sw))
    return cases + OPTION_CASES


CLASS_CASES = _class_cases()

# Functions: (id, function, kwargs, y_true, y_pred)
FN_CASES = [(f"fn:{cls}", getattr(losses, cls).fn.__name__,
             {k: v for k, v in opts.items() if k not in ("reduction",)}, yt, yp)
            for cls, opts, yt, yp, _ in CLASS_DATA] + [
    ("fn:bce_logits", "binary_crossentropy", {"from_logits": True, "label_smoothing": 0.3},
     "bin_t", "logit_p"),
    ("fn:bfce", "binary_focal_crossentropy", {"gamma": 3.0, "alpha": 0.1,
                                              "apply_class_balancing": True}, "bin_t", "prob_p"),
    ("fn:cfce", "categorical_focal_crossentropy", {"from_logits": True}, "oh_t", "logit_p"),
    ("fn:scce", "sparse_categorical_crossentropy", {"ignore_class": 1}, "lab_ign", "cat_p"),
    ("fn:huber", "huber", {"delta": 2.0}, "reg_t", "reg_p"),
    ("fn:tversky", "tversky", {"alpha": 0.2, "beta": 0.9}, "bin_t", "prob_p"),
    ("fn:circle", "circle", {"gamma": 10, "margin": 0.3, "remove_diagonal": False},
     "circ_lab", "emb"),
    ("fn:circle_ref", "circle", {"ref_labels": "@ref_lab", "ref_embeddings": "@ref_emb",
                                 "gamma": 30}, "circ_lab", "emb"),
]

CONFIG_CASES = [(cls, opts) for cls, opts, *_ in CLASS_DATA] + [
    ("BinaryFocalCrossentropy", {"alpha": 0.3, "gamma": 1.0, "from_logits": True}),
    ("SparseCategoricalCrossentropy", {"ignore_class": 3, "reduction": "sum", "axis": 1}),
    ("Huber", {"delta": 2.5}), ("CosineSimilarity", {"axis": 0}),
    ("Tversky", {"alpha": 0.1, "beta": 0.9, "axis": [1, 2]}), ("CategoricalGeneralizedCrossEntropy", {"q": 0.3}),
    ("Circle", {"gamma": 5.0, "margin": 0.1, "remove_diagonal": False}),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2, "axis": 1, "name": "cce_named"}),
]
FN_SERIALIZE = ["mean_squared_error", "huber", "circle", "ctc", "categorical_generalized_cross_entropy"]


# --- the Keras oracle ----------------------------------------------------------------------------
KERAS_CODE = r"""
import json
spec = json.loads(SPEC)
def arr(name):
    return None if name is None else arrays[name]
for cid, cls, kw, yt, yp, sw in spec["classes"]:
    try:
        result[cid] = getattr(keras.losses, cls)(**kw)(arr(yt), arr(yp), sample_weight=arr(sw))
    except Exception as e:
        result[cid + ":error"] = repr(e)
for cid, fn, kw, yt, yp in spec["functions"]:
    kw = {k: arr(v[1:]) if str(v).startswith("@") else v for k, v in kw.items()}
    try:
        result[cid] = getattr(keras.losses, fn)(arr(yt), arr(yp), **kw)
    except Exception as e:
        result[cid + ":error"] = repr(e)
if spec["configs"]:
    result["configs"] = [keras.losses.serialize(getattr(keras.losses, cls)(**kw))
                         for cls, kw in spec["configs"]]
    result["fn_serialized"] = [keras.losses.serialize(getattr(keras.losses, fn))
                               for fn in spec["fn_serialize"]]
"""


# Cases where Keras itself fails on its numpy backend (ours is still checked against NumPy).
KERAS_FAILS = {
    "cos_axis0",    # its numpy `normalize` breaks for axis 0
    "scce_axis",    # a class axis other than -1 (only Keras's torch backend supports it)
}


def _cases(backend):
    """The cases run on `backend`. NumPy runs them all; the frameworks (slow op by op, jax
    above all) run each class with its defaults, the option cases (with weights under
    several reductions) and the extra function cases: the full reduction sweep is the same
    reduction code, checked on NumPy, and the other function cases repeat a class default.
    Eager CTC on jax compiles many small programs (seconds): there it runs under jax.jit
    (test_under_jax_jit) only."""
    if backend == "numpy":
        return {"classes": CLASS_CASES, "functions": FN_CASES}
    return {"classes": [c for c in CLASS_CASES if (c[0].endswith(":default") or ":" not in c[0])
                        and not (backend == "jax" and c[1] == "CTC")],
            "functions": FN_CASES[len(CLASS_DATA):]}


@pytest.fixture(scope="module")
def keras_ref():
    """Keras's results for every case, computed once on its numpy backend: one Keras
    subprocess per framework would cost about a minute of CPU (measured), far more than
    this file's budget; every backend of ours is compared with these values and with the
    NumPy formulas."""
    spec = {**_cases("numpy"), "configs": CONFIG_CASES, "fn_serialize": FN_SERIALIZE}
    code = f"SPEC = {json.dumps(json.dumps(spec))}\n" + KERAS_CODE
    return run_keras_code(code, ARRAYS, backend="numpy")


# --- helpers -------------------------------------------------------------------------------------
def _t(name, backend):
    return None if name is None else to_backend(ARRAYS[name], backend)


def _close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual, "float64"), np.asarray(expected, "float64"),
                               rtol=3e-5, atol=3e-6, err_msg=what)


def _np_class_value(case):
    _, cls, kw, yt, yp, sw = case
    opts = {k: v for k, v in kw.items() if k not in ("reduction", "name")}
    t, p = (ARRAYS[yt].astype("float64"), ARRAYS[yp].astype("float64"))
    if not cls.startswith(("Sparse", "CategoricalGeneralized", "Circle", "CTC")):
        t, p = _align(t, p)
    values, mask = NP_FORMULAS[getattr(losses, cls).fn.__name__](t, p, **opts)
    return np_reduce(values, None if sw is None else ARRAYS[sw], mask,
                     kw.get("reduction", "sum_over_batch_size"))


def _array_kwargs(kw, convert):
    """Function kwargs with "@name" values replaced by `convert(name)`."""
    return {k: convert(v[1:]) if str(v).startswith("@") else v for k, v in kw.items()}


def _np_fn_value(case):
    _, fn, kw, yt, yp = case
    kw = _array_kwargs(kw, lambda name: ARRAYS[name].astype("float64"))
    return NP_FORMULAS[fn](ARRAYS[yt].astype("float64"), ARRAYS[yp].astype("float64"), **kw)[0]


def _check_keras(out, ref, cid, backend):
    if cid in KERAS_FAILS:
        assert cid + ":error" in ref, f"Keras now runs {cid}: compare with it"
        return
    assert cid in ref, f"Keras failed on {cid}: {ref.get(cid + ':error')}"
    _close(out, ref[cid], f"{cid} vs Keras on {backend}")


# --- values on every backend -------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_losses_match_numpy_formulas_and_keras(backend, keras_ref):
    ref, cases = keras_ref, _cases(backend)
    with ops.backend_scope(backend):
        for case in cases["classes"]:
            cid, cls, kw, yt, yp, sw = case
            # y_true stays NumPy in the weighted cases: it must follow y_pred's backend.
            y_true = ARRAYS[yt] if sw else _t(yt, backend)
            out = getattr(losses, cls)(**kw)(y_true, _t(yp, backend),
                                             sample_weight=None if sw is None else ARRAYS[sw])
            out = ops.convert_to_numpy(out)
            assert out.dtype == np.float32, cid
            _close(out, _np_class_value(case), f"{cid} vs NumPy on {backend}")
            _check_keras(out, ref, cid, backend)
        for case in cases["functions"]:
            cid, fn, kw, yt, yp = case
            kw = _array_kwargs(kw, lambda name: _t(name, backend))
            out = ops.convert_to_numpy(getattr(losses, fn)(_t(yt, backend), _t(yp, backend), **kw))
            _close(out, _np_fn_value(case), f"{cid} vs NumPy on {backend}")
            _check_keras(out, ref, cid, backend)


# --- compiled calls ------------------------------------------------------------------------------
COMPILED_CASES = ["SparseCategoricalCrossentropy:sum", "scce_ignore", "bfce_all", "Circle:mean",
                  "circle_opts", "CTC:default", "dice_axes", "Hinge:default", "cgce_default"]


def _case(cid):
    return next(c for c in CLASS_CASES if c[0] == cid)


@pytest.mark.skipif("jax" not in FRAMEWORKS, reason="jax is not installed")
def test_under_jax_jit():
    import jax
    with ops.backend_scope("jax"):
        for cid in COMPILED_CASES:
            case = _case(cid)
            _, cls, kw, yt, yp, sw = case
            loss = getattr(losses, cls)(**kw)
            weights = None if sw is None else ARRAYS[sw]
            value = jax.jit(lambda a, b, w: loss(a, b, sample_weight=w))(
                ARRAYS[yt], ARRAYS[yp], weights)
            _close(value, _np_class_value(case), f"{cid} under jax.jit")


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_under_tf_function_with_unknown_batch_size():
    import tensorflow as tf
    with ops.backend_scope("tensorflow"):
        for cid in COMPILED_CASES:
            case = _case(cid)
            _, cls, kw, yt, yp, sw = case
            loss = getattr(losses, cls)(**kw)
            args = [ARRAYS[yt], ARRAYS[yp]] + ([] if sw is None else [ARRAYS[sw]])
            # Batch size unknown at trace time (the CTC time axis too).
            spec = [tf.TensorSpec((None,) + a.shape[1:], a.dtype) for a in args]
            fn = tf.function(lambda *a: loss(*a[:2], sample_weight=a[2] if len(a) > 2 else None),
                             input_signature=spec)
            _close(fn(*args).numpy(), _np_class_value(case), f"{cid} under tf.function")


# --- gradients -------------------------------------------------------------------------------------
GRAD_CASES = ["Huber:sum", "bfce_all", "cce_logits_ls", "tversky_ab", "Circle:mean"]


def _numeric_grad(case, eps=1e-4):
    _, cls, kw, yt, yp, sw = case
    x = ARRAYS[yp].astype("float64")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        shifted = []
        for step in (eps, -eps):
            moved = x.copy()
            moved[idx] += step
            ARRAYS["_grad_probe"] = moved
            shifted.append(float(_np_class_value((None, cls, kw, yt, "_grad_probe", sw))))
        grad[idx] = (shifted[0] - shifted[1]) / (2 * eps)
    del ARRAYS["_grad_probe"]
    return grad


@pytest.mark.skipif(not FRAMEWORKS, reason="no framework installed")
def test_gradients_agree_across_backends():
    for cid in GRAD_CASES:
        case = _case(cid)
        _, cls, kw, yt, yp, sw = case
        expected = _numeric_grad(case)
        grads = {}
        for backend in FRAMEWORKS:
            with ops.backend_scope(backend):
                loss = getattr(losses, cls)(**kw)
                y_true = _t(yt, backend)

                def value(params, *unused):
                    weights = None if sw is None else ARRAYS[sw]
                    return loss(y_true, params[0], sample_weight=weights), None

                (_, _), g = runtime(backend).value_and_grad(value)([_t(yp, backend)])
                grads[backend] = ops.convert_to_numpy(g[0])
            np.testing.assert_allclose(grads[backend], expected, rtol=2e-3, atol=2e-4,
                                       err_msg=f"{cid} gradient on {backend} vs NumPy")
        first = grads[FRAMEWORKS[0]]
        for backend, g in grads.items():
            np.testing.assert_allclose(g, first, rtol=1e-4, atol=1e-6,
                                       err_msg=f"{cid} gradients of {backend} and {FRAMEWORKS[0]}")


# --- masks ---------------------------------------------------------------------------------------
@pytest.mark.skipif("torch" not in FRAMEWORKS, reason="torch is not installed")
def test_keras_mask_of_y_pred_is_honoured():
    t, p, w = ARRAYS["reg_t"], ARRAYS["reg_p"], ARRAYS["w6"]
    mask = np.array([1, 0, 1, 1, 0, 1], bool)
    per = ((t - p) ** 2).mean(-1)
    labels, logits = ARRAYS["lab_ign"], ARRAYS["logit_p"]
    with ops.backend_scope("torch"):
        y_pred = to_backend(p, "torch")
        y_pred._keras_mask = to_backend(mask, "torch")
        _close(ops.convert_to_numpy(losses.MeanSquaredError()(t, y_pred, sample_weight=w)),
               (per * w)[mask].sum() / mask.sum(), "masked mse")
        _close(ops.convert_to_numpy(losses.MeanSquaredError(reduction="sum")(t, y_pred)),
               per[mask].sum(), "masked mse, sum")
        # The input mask and ignore_class combine.
        y_pred = to_backend(logits, "torch")
        y_pred._keras_mask = to_backend(mask, "torch")
        valid = mask & (labels != 1)
        per, _ = np_scce(labels.astype("float64"), logits.astype("float64"), from_logits=True)
        scce = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)
        _close(ops.convert_to_numpy(scce(labels, y_pred)), per[valid].sum() / valid.sum(),
               "masked scce with ignore_class")
        # A wrapper around a masking loss function masks too.
        wrapper = losses.LossFunctionWrapper(losses.sparse_categorical_crossentropy,
                                             from_logits=True, ignore_class=1)
        _close(ops.convert_to_numpy(wrapper(labels, to_backend(logits, "torch"))),
               per[labels != 1].mean(), "wrapped scce with ignore_class")


def test_loss_subclass():
    class Doubled(losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * ops.mean(ops.abs(y_true - y_pred), axis=-1)

    t, p, w = ARRAYS["reg_t"], ARRAYS["reg_p"], ARRAYS["w6"]
    per = 2 * np.abs(t - p).mean(-1)
    with ops.backend_scope("numpy"):
        loss = Doubled(reduction="mean_with_sample_weight")
        assert loss.name.startswith("doubled")
        _close(loss(t, p, sample_weight=w), (per * w).sum() / w.sum(), "Loss subclass")
        assert loss.get_config() == {"name": loss.name, "reduction": "mean_with_sample_weight"}


# --- bad input ------------------------------------------------------------------------------------
def test_bad_input_names_the_loss():
    t, p = ARRAYS["reg_t"], ARRAYS["reg_p"]
    with pytest.raises(ValueError, match="loss identifier.*no_such_loss"):
        losses.get("no_such_loss")
    with pytest.raises(ValueError, match="no_such_loss"):
        losses.deserialize("no_such_loss")
    with pytest.raises(ValueError, match="MeanAbsoluteError.*reduction 'average'"):
        losses.MeanAbsoluteError(reduction="average")
    with pytest.raises(ValueError, match="CategoricalGeneralizedCrossEntropy.*q"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with ops.backend_scope("numpy"):
        for fn in ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                   "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh",
                   "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
                   "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
                   "categorical_focal_crossentropy", "dice", "tversky"):
            with pytest.raises(ValueError, match=f"{fn}: .*same shape.*\\(6, 3\\).*\\(6, 4\\)"):
                getattr(losses, fn)(t, _f(6, 4))
        for fn in ("sparse_categorical_crossentropy", "categorical_generalized_cross_entropy"):
            with pytest.raises(ValueError, match=f"{fn}: y_true must have the shape of y_pred"):
                getattr(losses, fn)(ARRAYS["lab"][:4], ARRAYS["cat_p"],
                                    **({"q": 0.5} if "generalized" in fn else {}))
        with pytest.raises(ValueError, match="ctc: y_true must have shape"):
            losses.ctc(ARRAYS["lab"], ARRAYS["ctc_p"])
        with pytest.raises(ValueError, match="circle: y_pred must be embeddings"):
            losses.circle(ARRAYS["lab"], ARRAYS["bin3_t"])
        with pytest.raises(ValueError, match="categorical_crossentropy: `axis` must be an int"):
            losses.categorical_crossentropy(ARRAYS["oh_t"], ARRAYS["cat_p"], axis=None)
        with pytest.raises(ValueError, match="dice: `axis`"):
            losses.dice(t, p, axis="rows")
        with pytest.raises(ValueError, match="MeanSquaredError: sample_weight of shape \\(4,\\)"):
            losses.MeanSquaredError()(t, p, sample_weight=np.ones(4, "float32"))


# --- lookup and (de)serialization --------------------------------------------------------------
def test_config_and_serialization_match_keras(keras_ref):
    ref = keras_ref
    for (cls, kw), theirs in zip(CONFIG_CASES, ref["configs"]):
        obj = getattr(losses, cls)(**kw)
        ours = losses.serialize(obj)
        assert ours == theirs, cls
        again = type(obj).from_config(obj.get_config())
        assert again.get_config() == obj.get_config(), cls
        restored = losses.deserialize(json.loads(json.dumps(ours)))
        assert type(restored) is type(obj) and restored.get_config() == obj.get_config(), cls
    for fn, theirs in zip(FN_SERIALIZE, ref["fn_serialized"]):
        assert losses.serialize(getattr(losses, fn)) == theirs, fn
        assert losses.deserialize(theirs) is getattr(losses, fn)
        assert losses.get(theirs) is getattr(losses, fn)
    wrapper = losses.LossFunctionWrapper(losses.huber, name="h", reduction="sum", delta=0.5)
    again = losses.LossFunctionWrapper.from_config(wrapper.get_config())
    assert again.fn is losses.huber and again.get_config() == wrapper.get_config()


def test_get():
    for fn in {c[1] for c in FN_CASES}:
        assert losses.get(fn) is getattr(losses, fn)
    for alias, fn in (("mse", "mean_squared_error"), ("MAE", "mean_absolute_error"),
                      ("mape", "mean_absolute_percentage_error"), ("MSLE", "mean_squared_logarithmic_error"),
                      ("kld", "kl_divergence"), ("bce", "binary_crossentropy")):
        assert losses.get(alias) is getattr(losses, fn)
    for cls, *_ in CLASS_DATA:
        assert type(losses.get(cls)) is getattr(losses, cls)
        assert type(losses.get(getattr(losses, cls))) is getattr(losses, cls)
    inst = losses.Dice(axis=1)
    assert losses.get(inst) is inst
    assert losses.get(None) is None
    got = losses.get({"class_name": "Huber", "config": {"name": "h", "reduction": "sum"}})
    assert isinstance(got, losses.Huber) and got.name == "h" and got.reduction == "sum"
