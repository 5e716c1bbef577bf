"""Every metric of `unikeras.metrics` on numpy, torch, jax and tensorflow: state accumulated
over several batches (with and without sample weights) and reset, against NumPy formulas
written here and against Keras 3 (one subprocess per backend computing every case); a few
under `jax.jit` / `tf.function`; configs, lookup and bad input."""
import json

import numpy as np
import pytest

from unikeras import metrics, ops
from unikeras.common.metrics import build_state
from tests.conftest import FRAMEWORKS, to_backend
from tests.keras_oracle import run_keras_code

BACKENDS = ["numpy"] + FRAMEWORKS
EPS = 1e-7
R = np.random.default_rng(11)
N = 7   # samples per batch


def _u(*shape):
    return R.uniform(0.0, 1.0, shape).astype("float32")


def _n(*shape):
    return R.standard_normal(shape).astype("float32")


def _bits(*shape):
    return (R.uniform(size=shape) > 0.5).astype("float32")


def _ints(n, *shape):
    return R.integers(0, n, shape).astype("int32")


def _onehot(labels, n):
    return np.eye(n, dtype="float32")[labels]


def _w(*shape):
    return R.uniform(0.2, 2.0, shape).astype("float32")


def _iw(*shape):
    return R.integers(1, 4, shape).astype("int32")   # integer weights for the int IoU counts


def _probs(n):
    p = R.uniform(0.05, 1.0, (N, n)).astype("float32")
    return p / p.sum(-1, keepdims=True)


def batches(make, weighted, count=3):
    """`count` batches (y_true, y_pred, sample_weight) from `make()`."""
    out = []
    for _ in range(count):
        yt, yp = make()
        out.append((yt, yp, (_iw(len(yt)) if weighted == "int" else _w(len(yt)))
                    if weighted else None))
    return out


binary = lambda: (_bits(N), _u(N))                      # noqa: E731
binary_col = lambda: (_bits(N, 1), _u(N, 1))            # noqa: E731
multi = lambda: (_bits(N, 3), _u(N, 3))                 # noqa: E731
regress = lambda: (_n(N, 3), _n(N, 3))                  # noqa: E731
positive = lambda: (_u(N, 3) + 0.1, _u(N, 3) + 0.1)     # noqa: E731

# (id, class name, constructor kwargs, batches)
CASES = [
    ("tp", "TruePositives", {}, batches(binary, True)),
    ("fp_thresholds", "FalsePositives", {"thresholds": [0.2, 0.5, 0.8]}, batches(multi, False)),
    ("tn", "TrueNegatives", {"thresholds": 0.3}, batches(binary, True)),
    ("fn_even", "FalseNegatives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]},
     batches(multi, True)),
    ("precision", "Precision", {}, batches(binary, True)),
    ("precision_thr", "Precision", {"thresholds": [0.3, 0.6]}, batches(multi, False)),
    ("precision_topk", "Precision", {"top_k": 2}, batches(multi, True)),
    ("precision_class", "Precision", {"class_id": 1, "thresholds": 0.4}, batches(multi, True)),
    ("recall", "Recall", {}, batches(binary_col, True)),
    ("recall_topk_class", "Recall", {"top_k": 1, "class_id": 2}, batches(multi, False)),
    ("sens_at_spec", "SensitivityAtSpecificity", {"specificity": 0.6}, batches(binary, True)),
    ("spec_at_sens", "SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 50},
     batches(binary, False)),
    ("prec_at_rec", "PrecisionAtRecall", {"recall": 0.5, "class_id": 0}, batches(multi, True)),
    ("rec_at_prec", "RecallAtPrecision", {"precision": 0.6, "num_thresholds": 100},
     batches(binary, False)),
    ("auc_roc", "AUC", {}, batches(binary, True)),
    ("auc_minoring", "AUC", {"summation_method": "minoring", "num_thresholds": 50},
     batches(multi, False)),
    ("auc_majoring", "AUC", {"summation_method": "majoring"}, batches(binary, False)),
    ("auc_pr", "AUC", {"curve": "PR"}, batches(binary, True)),
    ("auc_pr_majoring_lw", "AUC", {"curve": "PR", "summation_method": "majoring",
                                   "label_weights": [1.0, 2.0, 0.5]}, batches(multi, False)),
    ("auc_prgain", "AUC", {"curve": "PRGAIN"}, batches(binary, False)),
    ("auc_multi_label", "AUC", {"multi_label": True}, batches(multi, True)),
    ("auc_multi_label_pr_lw", "AUC", {"multi_label": True, "num_labels": 3, "curve": "PR",
                                      "label_weights": [1.0, 2.0, 0.5]}, batches(multi, False)),
    ("auc_thresholds", "AUC", {"thresholds": [0.1, 0.4, 0.45, 0.9]}, batches(binary, True)),
    ("auc_logits", "AUC", {"from_logits": True}, batches(lambda: (_bits(N), _n(N)), False)),
    ("f1", "F1Score", {}, batches(multi, True)),
    ("f1_micro", "F1Score", {"average": "micro", "threshold": 0.5}, batches(multi, False)),
    ("f1_macro", "F1Score", {"average": "macro", "threshold": 0.4}, batches(multi, True)),
    ("fbeta_weighted", "FBetaScore", {"average": "weighted", "beta": 2.0}, batches(multi, True)),
    ("iou", "IoU", {"num_classes": 3, "target_class_ids": [0, 2]},
     batches(lambda: (_ints(3, N), _ints(3, N)), "int")),
    ("mean_iou_ignore", "MeanIoU", {"num_classes": 4, "ignore_class": 0},
     batches(lambda: (_ints(4, N, 2), _ints(4, N, 2)), False)),
    ("mean_iou_float", "MeanIoU", {"num_classes": 3, "dtype": "float32"},
     batches(lambda: (_ints(3, N), _ints(3, N)), True)),
    ("mean_iou_scores", "MeanIoU", {"num_classes": 3, "sparse_y_pred": False},
     batches(lambda: (_ints(3, N), _u(N, 3)), "int")),
    ("binary_iou", "BinaryIoU", {}, batches(lambda: (_bits(N), _u(N)), "int")),
    ("binary_iou_thr", "BinaryIoU", {"target_class_ids": [1], "threshold": 0.3,
                                     "dtype": "float32"}, batches(binary, True)),
    ("onehot_iou", "OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 1]},
     batches(lambda: (_onehot(_ints(3, N), 3), _u(N, 3)), False)),
    ("onehot_mean_iou", "OneHotMeanIoU", {"num_classes": 3},
     batches(lambda: (_onehot(_ints(3, N), 3), _u(N, 3)), "int")),
    ("r2", "R2Score", {}, batches(lambda: (_n(N, 2), _n(N, 2)), True)),
    ("r2_variance_weighted", "R2Score", {"class_aggregation": "variance_weighted_average"},
     batches(lambda: (_n(N, 2), _n(N, 2)), False)),
    ("r2_raw_adjusted", "R2Score", {"class_aggregation": None, "num_regressors": 2},
     batches(lambda: (_n(N, 2), _n(N, 2)), True)),
    ("pearson", "PearsonCorrelation", {}, batches(lambda: (_n(N, 5), _n(N, 5)), True)),
    ("concordance", "ConcordanceCorrelation", {}, batches(lambda: (_n(N, 5), _n(N, 5)), False)),
    ("rmse", "RootMeanSquaredError", {}, batches(regress, True)),
    ("mae", "MeanAbsoluteError", {}, batches(regress, True)),
    ("mape", "MeanAbsolutePercentageError", {}, batches(positive, False)),
    ("msle", "MeanSquaredLogarithmicError", {}, batches(positive, True)),
    ("cosine", "CosineSimilarity", {}, batches(regress, True)),
    ("logcosh", "LogCoshError", {}, batches(regress, False)),
    ("bce", "BinaryCrossentropy", {}, batches(lambda: (_bits(N, 1), _u(N, 1)), True)),
    ("bce_logits_ls", "BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
     batches(lambda: (_bits(N, 2), _n(N, 2)), False)),
    ("kld", "KLDivergence", {}, batches(lambda: (_probs(3), _probs(3)), True)),
    ("poisson", "Poisson", {}, batches(positive, False)),
    ("hinge", "Hinge", {}, batches(lambda: (_bits(N, 3), _n(N, 3)), True)),
    ("squared_hinge", "SquaredHinge", {}, batches(lambda: (_bits(N, 3), _n(N, 3)), False)),
    ("categorical_hinge", "CategoricalHinge", {},
     batches(lambda: (_onehot(_ints(3, N), 3), _n(N, 3)), True)),
    ("topk", "TopKCategoricalAccuracy", {"k": 2},
     batches(lambda: (_onehot(_ints(5, N), 5), _u(N, 5)), True)),
    ("topk_3d", "TopKCategoricalAccuracy", {"k": 2},
     batches(lambda: (_onehot(_ints(5, N, 2), 5), _u(N, 2, 5)), False)),
    ("sparse_topk", "SparseTopKCategoricalAccuracy", {"k": 3},
     batches(lambda: (_ints(5, N), _u(N, 5)), True)),
    ("sparse_topk_sorted_ids", "SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True},
     batches(lambda: (_ints(5, N), np.argsort(_u(N, 5), -1)[:, :4].astype("int32")), False)),
]


# --- NumPy references -----------------------------------------------------------------------------
def _concat(case):
    """All batches of a case joined along the batch axis: (y_true, y_pred, weights or None)."""
    bs = case[3]
    yt = np.concatenate([b[0] for b in bs]).astype("float64")
    yp = np.concatenate([b[1] for b in bs]).astype("float64")
    sw = None if bs[0][2] is None else np.concatenate([b[2] for b in bs]).astype("float64")
    return yt, yp, sw


def _row_weights(sw, like):
    """Per-sample weights broadcast over the trailing axes of `like`."""
    if sw is None:
        return np.ones_like(like)
    return sw.reshape(sw.shape + (1,) * (like.ndim - 1)) * np.ones_like(like)


def _safe_div(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, "float64"), np.asarray(b, "float64"))
    out = np.zeros_like(a)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _np_counts(yt, yp, w, thresholds, axis=None):
    """tp, fp, tn, fn at each threshold (prediction positive when > threshold)."""
    out = {k: [] for k in ("tp", "fp", "tn", "fn")}
    pos = yt != 0
    for t in thresholds:
        pred = yp > np.float32(t)
        out["tp"].append(np.sum(w * (pos & pred), axis=axis))
        out["fp"].append(np.sum(w * (~pos & pred), axis=axis))
        out["tn"].append(np.sum(w * (~pos & ~pred), axis=axis))
        out["fn"].append(np.sum(w * (pos & ~pred), axis=axis))
    return {k: np.array(v) for k, v in out.items()}


def _thresholded_inputs(kw, yt, yp, sw):
    w = _row_weights(sw, yp)
    if kw.get("top_k"):
        order = np.argsort(-yp, axis=-1)
        keep = np.zeros_like(yp, bool)
        np.put_along_axis(keep, order[:, :kw["top_k"]], True, axis=-1)
        yp = np.where(keep, yp, -1e10)
    if kw.get("class_id") is not None:
        c = kw["class_id"]
        yt, yp, w = yt[:, c], yp[:, c], w[:, c]
    return yt, yp, w


def _as_list(t):
    return list(t) if isinstance(t, (list, tuple)) else [t]


def ref_confusion(cls, kw, yt, yp, sw):
    if yt.ndim == 2 and yt.shape[1] == 1:
        yt, yp = yt[:, 0], yp[:, 0]
    yt, yp, w = _thresholded_inputs(kw, yt, yp, sw)
    default = 0.5 if not kw.get("top_k") else -1e10
    thresholds = _as_list(kw.get("thresholds", default))
    c = _np_counts(yt, yp, w, thresholds)
    value = {"TruePositives": c["tp"], "FalsePositives": c["fp"], "TrueNegatives": c["tn"],
             "FalseNegatives": c["fn"], "Precision": _safe_div(c["tp"], c["tp"] + c["fp"]),
             "Recall": _safe_div(c["tp"], c["tp"] + c["fn"])}[cls]
    return value[0] if len(thresholds) == 1 else value


def ref_at_value(cls, kw, yt, yp, sw):
    yt, yp, w = _thresholded_inputs(kw, yt, yp, sw)
    n = kw.get("num_thresholds", 200)
    c = _np_counts(yt, yp, w, [i / (n - 1) for i in range(n)] if n > 1 else [0.5])
    rate = {"sensitivity": _safe_div(c["tp"], c["tp"] + c["fn"]),
            "specificity": _safe_div(c["tn"], c["tn"] + c["fp"]),
            "precision": _safe_div(c["tp"], c["tp"] + c["fp"])}
    rate["recall"] = rate["sensitivity"]
    given, wanted = {"SensitivityAtSpecificity": ("specificity", "sensitivity"),
                     "SpecificityAtSensitivity": ("sensitivity", "specificity"),
                     "PrecisionAtRecall": ("recall", "precision"),
                     "RecallAtPrecision": ("precision", "recall")}[cls]
    ok = rate[given] >= kw[given]
    return rate[wanted][ok].max() if ok.any() else 0.0


def _trapezoids(x, y, method):
    h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
         "majoring": np.maximum(y[:-1], y[1:])}[method]
    return (x[:-1] - x[1:]) * h


def _pr_interpolated(tp, fp, fn):
    areas = np.zeros(len(tp) - 1)
    for i in range(len(tp) - 1):
        p0, p1 = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
        d_tp, d_p = tp[i] - tp[i + 1], p0 - p1
        slope = d_tp / d_p if d_p > 0 else 0.0
        intercept = tp[i + 1] - slope * p1
        ratio = p0 / p1 if p0 > 0 and p1 > 0 else 1.0
        total = tp[i + 1] + fn[i + 1]
        areas[i] = slope * (d_tp + intercept * np.log(ratio)) / total if total > 0 else 0.0
    return areas


def ref_auc(kw, yt, yp, sw):
    if kw.get("from_logits"):
        yp = 1 / (1 + np.exp(-yp))
    if "thresholds" in kw:
        inner = sorted(kw["thresholds"])
    else:
        n = kw.get("num_thresholds", 200)
        inner = [(i + 1) / (n - 1) for i in range(n - 2)]
    thresholds = [-EPS] + inner + [1 + EPS]
    w = _row_weights(sw, yp)
    multi = kw.get("multi_label", False)
    lw = kw.get("label_weights")
    if lw is not None and not multi:
        w = w * np.asarray(lw)
    c = _np_counts(yt, yp, w, thresholds, axis=0 if multi else None)
    columns = [c] if not multi else [{k: v[:, j] for k, v in c.items()} for j in range(yt.shape[1])]
    curve, method = kw.get("curve", "ROC"), kw.get("summation_method", "interpolation")
    areas = []
    for c in columns:
        tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
        if curve == "PR" and method == "interpolation":
            areas.append(_pr_interpolated(tp, fp, fn).sum())
            continue
        recall = _safe_div(tp, tp + fn)
        if curve == "ROC":
            x, y = _safe_div(fp, fp + tn), recall
        elif curve == "PR":
            x, y = recall, _safe_div(tp, tp + fp)
        else:
            scale = _safe_div(tp + fn, tn + fp)
            x = np.maximum(np.where(tp == 0, 0.0, 1 - scale * _safe_div(fn, tp)), 0.0)
            y = np.where(tp == 0, 1.0, 1 - scale * _safe_div(fp, tp))
        areas.append(_trapezoids(x, y, method).sum())
    if not multi:
        return areas[0]
    lw = np.ones(len(areas)) if lw is None else np.asarray(lw)
    return np.sum(np.array(areas) * lw) / lw.sum()


def ref_fbeta(kw, yt, yp, sw):
    beta = kw.get("beta", 1.0)
    thr = kw.get("threshold")
    if thr is None:
        pred = (yp >= yp.max(-1, keepdims=True)) & (np.abs(yp) > 1e-9)
    else:
        pred = yp > thr
    w = _row_weights(sw, yp)
    average = kw.get("average")
    axis = None if average == "micro" else 0
    tp = np.sum(w * pred * yt, axis=axis)
    fp = np.sum(w * pred * (1 - yt), axis=axis)
    fn = np.sum(w * ~pred * yt, axis=axis)
    p, r = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f = (1 + beta ** 2) * p * r / (beta ** 2 * p + r + EPS)
    if average == "weighted":
        support = np.sum(w * yt, axis=0)
        return np.sum(f * support / (support.sum() + EPS))
    return f.mean() if average else f


def ref_iou(cls, kw, yt, yp, sw):
    num = kw.get("num_classes", 2)
    if cls == "BinaryIoU":
        yp = (yp >= kw.get("threshold", 0.5)).astype(int)
    if cls.startswith("OneHot"):
        yt = yt.argmax(-1)
    if kw.get("sparse_y_pred", not cls.startswith("OneHot")) is False:
        yp = yp.argmax(-1)
    w = _row_weights(sw, yt).ravel()
    t, p = yt.astype(int).ravel(), yp.astype(int).ravel()
    if kw.get("ignore_class") is not None:
        keep = t != kw["ignore_class"]
        t, p, w = t[keep], p[keep], w[keep]
    cm = np.zeros((num, num))
    np.add.at(cm, (t, p), w)
    targets = kw.get("target_class_ids", (0, 1) if cls == "BinaryIoU" else range(num))
    ious = [cm[c, c] / (cm[c].sum() + cm[:, c].sum() - cm[c, c]) for c in targets
            if cm[c].sum() + cm[:, c].sum() - cm[c, c] > 0]
    return np.mean(ious)


def ref_r2(kw, yt, yp, sw):
    w = _row_weights(sw, yt)
    mean = (w * yt).sum(0) / w.sum(0)
    ss_tot = (w * (yt - mean) ** 2).sum(0)
    scores = 1 - (w * (yt - yp) ** 2).sum(0) / ss_tot
    agg = kw.get("class_aggregation", "uniform_average")
    if agg == "uniform_average":
        scores = scores.mean()
    elif agg == "variance_weighted_average":
        scores = (ss_tot * scores).sum() / ss_tot.sum()
    p = kw.get("num_regressors", 0)
    if p:
        n = yt.size
        scores = 1 - (1 - scores) * (n - 1) / (n - p - 1)
    return scores


def _per_sample(cls, kw, yt, yp):
    """Per-sample values of the Mean-based metrics."""
    clip = lambda x: np.clip(x, EPS, 1 - EPS)  # noqa: E731
    if cls == "PearsonCorrelation":
        return np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(yt, yp)])
    if cls == "ConcordanceCorrelation":
        mt, mp = yt.mean(-1, keepdims=True), yp.mean(-1, keepdims=True)
        cov = ((yt - mt) * (yp - mp)).mean(-1)
        return 2 * cov / (yt.var(-1) + yp.var(-1) + (mt - mp)[:, 0] ** 2)
    if cls == "TopKCategoricalAccuracy" or cls == "SparseTopKCategoricalAccuracy":
        labels = yt.argmax(-1) if cls.startswith("TopK") else yt.astype(int)
        if kw.get("from_sorted_ids"):
            return (yp[:, :kw["k"]] == labels[:, None]).any(-1).astype(float)
        top = np.argsort(-yp, axis=-1)[..., :kw["k"]]
        hits = (top == labels[..., None]).any(-1).astype(float)
        return hits.mean(-1) if hits.ndim > 1 else hits
    if cls == "CategoricalHinge":
        return np.maximum(0, ((1 - yt) * yp).max(-1) - (yt * yp).sum(-1) + 1)
    if cls == "KLDivergence":
        a, b = np.clip(yt, EPS, 1), np.clip(yp, EPS, 1)
        return (a * np.log(a / b)).sum(-1)
    if cls == "CosineSimilarity":
        unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
        return (unit(yt) * unit(yp)).sum(-1)
    if cls == "BinaryCrossentropy":
        if kw.get("from_logits"):
            y = yt * (1 - kw["label_smoothing"]) + 0.5 * kw["label_smoothing"]
            loss = np.maximum(yp, 0) - yp * y + np.log1p(np.exp(-np.abs(yp)))
        else:
            p = clip(yp)
            loss = -(yt * np.log(p) + (1 - yt) * np.log(1 - p))
        return loss.mean(-1)
    signed = 2 * yt - 1
    element = {
        "RootMeanSquaredError": lambda: (yt - yp) ** 2,
        "MeanAbsoluteError": lambda: np.abs(yt - yp),
        "MeanAbsolutePercentageError": lambda: 100 * np.abs(yt - yp) / np.abs(yt),
        "MeanSquaredLogarithmicError": lambda: (np.log1p(yp) - np.log1p(yt)) ** 2,
        "LogCoshError": lambda: np.log(np.cosh(yp - yt)),
        "Poisson": lambda: yp - yt * np.log(yp + EPS),
        "Hinge": lambda: np.maximum(1 - signed * yp, 0),
        "SquaredHinge": lambda: np.maximum(1 - signed * yp, 0) ** 2,
    }[cls]()
    return element.mean(-1)


def reference(case):
    _, cls, kw, _ = case
    yt, yp, sw = _concat(case)
    if cls in ("TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
               "Precision", "Recall"):
        return ref_confusion(cls, kw, yt, yp, sw)
    if cls.endswith(("AtSpecificity", "AtSensitivity", "AtRecall", "AtPrecision")):
        return ref_at_value(cls, kw, yt, yp, sw)
    if cls == "AUC":
        return ref_auc(kw, yt, yp, sw)
    if cls in ("F1Score", "FBetaScore"):
        return ref_fbeta(kw, yt, yp, sw)
    if "IoU" in cls:
        return ref_iou(cls, kw, yt, yp, sw)
    if cls == "R2Score":
        return ref_r2(kw, yt, yp, sw)
    values = _per_sample(cls, kw, yt, yp)
    w = np.ones(len(values)) if sw is None else sw
    mean = np.sum(values * w) / np.sum(w)
    return np.sqrt(mean) if cls == "RootMeanSquaredError" else mean


# --- the Keras oracle ----------------------------------------------------------------------
KERAS_CODE = r"""
import inspect, json
spec = json.loads(SPEC)
for cid, cls, kw, batches in spec["cases"]:
    m = getattr(keras.metrics, cls)(**kw)
    for yt, yp, sw in batches:
        m.update_state(arrays[yt], arrays[yp], sample_weight=None if sw is None else arrays[sw])
    result[cid] = m.result()
    config = m.get_config()
    if config.get("label_weights") is not None:
        config["label_weights"] = [float(v) for v in np.asarray(config["label_weights"])]
    if "thresholds" in config and isinstance(config["thresholds"], list):
        config["thresholds"] = [float(v) for v in config["thresholds"]]
    result["config:" + cid] = config
    result["variables:" + cid] = [v.path.split("/")[-1] for v in m.variables]
for name in spec["names"]:
    obj = getattr(keras.metrics, name)
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        continue
    result["signature:" + name] = [[p.name, repr(p.default) if p.default is not p.empty else None]
                                   for p in params]
"""


def _oracle_inputs():
    arrays, cases = {}, []
    for cid, cls, kw, bs in CASES:
        refs = []
        for i, (yt, yp, sw) in enumerate(bs):
            arrays[f"{cid}_{i}_t"], arrays[f"{cid}_{i}_p"] = yt, yp
            if sw is not None:
                arrays[f"{cid}_{i}_w"] = sw
            refs.append([f"{cid}_{i}_t", f"{cid}_{i}_p", None if sw is None else f"{cid}_{i}_w"])
        cases.append([cid, cls, kw, refs])
    names = [n for n in metrics.__all__ if n[0].isupper()] + [
        n for n in metrics.__all__ if n[0].islower()]
    return arrays, json.dumps({"cases": cases, "names": names})


@pytest.fixture(scope="module")
def keras_ref():
    """Keras 3's result, config and variable names for every case, and the signatures of
    its metrics: one subprocess, on Keras's numpy backend (its jax backend compiles every
    op of every shape eagerly and takes minutes)."""
    arrays, spec = _oracle_inputs()
    return run_keras_code(f"SPEC = {spec!r}\n" + KERAS_CODE, arrays, backend="numpy")


@pytest.fixture(scope="module")
def references():
    return {case[0]: reference(case) for case in CASES}


# --- running our side ---------------------------------------------------------------------------
def _t(x, backend):
    return None if x is None else to_backend(x, backend)


def _run(case, backend):
    """(result after all batches, result of the last batch alone after reset_state, the
    metric), as NumPy arrays."""
    _, cls, kw, bs = case
    with ops.backend_scope(backend):
        m = getattr(metrics, cls)(**kw)
        for yt, yp, sw in bs:
            # sample weights stay NumPy: they follow y_pred's backend
            m.update_state(_t(yt, backend), _t(yp, backend), sample_weight=sw)
        total = ops.convert_to_numpy(m.result())
        m.reset_state()
        assert all(not np.any(ops.convert_to_numpy(v.value)) for v in m.variables), case[0]
        yt, yp, sw = bs[-1]
        m.update_state(_t(yt, backend), _t(yp, backend), sample_weight=sw)
        return total, ops.convert_to_numpy(m.result()), m


def _close(actual, expected, what):
    """float32 tolerance; the absolute part scales with the data, since some counts are
    differences of float32 sums (fn = positives - tp)."""
    expected = np.asarray(expected, "float64")
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(np.asarray(actual, "float64"), expected, rtol=2e-5,
                               atol=5e-6 * scale, err_msg=what)


def _check_eager(cases, backend, references, keras_ref):
    for case in cases:
        cid, cls, kw, bs = case
        total, last, m = _run(case, backend)
        _close(total, references[cid], f"{cid} on {backend} vs NumPy")
        _close(total, keras_ref[cid], f"{cid} on {backend} vs Keras")
        _close(last, reference((cid, cls, kw, bs[-1:])), f"{cid} last batch on {backend}")
        assert [v.path.split("/")[-1] for v in m.variables] == keras_ref["variables:" + cid], cid


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "jax"])
def test_metrics_match_numpy_and_keras(backend, references, keras_ref):
    _check_eager(CASES, backend, references, keras_ref)


# Eager jax compiles every op for every new shape (~0.1 s each): a few families run
# eagerly, and every case runs in one jax.jit-compiled function.
JAX_EAGER = ["precision_class", "pearson"]


@pytest.mark.skipif("jax" not in FRAMEWORKS, reason="jax is not installed")
def test_jax_eager_and_jit(references, keras_ref):
    import jax
    _check_eager([c for c in CASES if c[0] in JAX_EAGER], "jax", references, keras_ref)
    with ops.backend_scope("jax"):
        built = [_built(cls, kw, bs[0]) for _, cls, kw, bs in CASES]

        @jax.jit
        def step(states, batch):   # one update of every metric: compiled once
            return [m.stateless_update_state(state, yt, yp, sample_weight=sw)
                    for m, state, (yt, yp, sw) in zip(built, states, batch)]

        states = [m.stateless_reset_state() for m in built]
        for i in range(len(CASES[0][3])):
            states = step(states, [case[3][i] for case in CASES])
        results = jax.jit(lambda states: [m.stateless_result(state)
                                          for m, state in zip(built, states)])(states)
    for (cid, *_), value in zip(CASES, results):
        _close(value, references[cid], f"{cid} under jax.jit")
        assert "jax" in type(value).__module__, cid


def test_configs_and_signatures_match_keras(keras_ref):
    import inspect
    for cid, cls, kw, bs in CASES:
        with ops.backend_scope("numpy"):
            m = getattr(metrics, cls)(**kw)
            m.update_state(bs[0][0], bs[0][1])
        ours, theirs = m.get_config(), keras_ref["config:" + cid]
        assert set(ours) == set(theirs), cid
        for key in ours:
            if key != "name":   # auto names carry process-wide counters
                assert ours[key] == theirs[key], (cid, key, ours[key], theirs[key])
    differ = []
    for name in metrics.__all__:
        expected = keras_ref.get("signature:" + name)
        if expected is None:
            continue
        ours = [[p.name, repr(p.default) if p.default is not p.empty else None]
                for p in inspect.signature(getattr(metrics, name)).parameters.values()]
        if ours != expected:
            differ.append(f"{name}: keras {expected} ours {ours}")
    assert not differ, "\n".join(differ)


@ops.backend_scope("numpy")
def test_config_round_trips():
    for cid, cls, kw, bs in CASES:
        m = getattr(metrics, cls)(**kw)
        config = m.get_config()
        again = type(m).from_config(config)
        assert again.get_config() == config, cid
        restored = metrics.deserialize(metrics.serialize(m))
        assert type(restored) is type(m) and restored.get_config() == config, cid
    wrapper = metrics.MeanMetricWrapper(metrics.pearson_correlation, name="pc", axis=0)
    again = metrics.MeanMetricWrapper.from_config(wrapper.get_config())
    assert again._fn is metrics.pearson_correlation and again._fn_kwargs == {"axis": 0}


@ops.backend_scope("numpy")
def test_get_by_name():
    assert isinstance(metrics.get("auc"), metrics.AUC)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert isinstance(metrics.get("f1_score"), metrics.F1Score)
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    assert isinstance(metrics.get("MSLE"), metrics.MeanSquaredLogarithmicError)
    assert isinstance(metrics.get("precision"), metrics.Precision)
    assert isinstance(metrics.get("root_mean_squared_error"), metrics.RootMeanSquaredError)
    assert metrics.get(metrics.top_k_categorical_accuracy) is metrics.top_k_categorical_accuracy
    assert metrics.deserialize(metrics.serialize(metrics.hinge)) is metrics.hinge
    got = metrics.get({"class_name": "Recall", "config": {"thresholds": [0.2, 0.7]}})
    assert got.thresholds == [0.2, 0.7]
    with pytest.raises(ValueError, match="metric identifier"):
        metrics.get("log_cosh_error_of_nothing")
    with pytest.raises(ValueError, match="Unknown metric"):
        metrics.deserialize({"class_name": "Nope", "config": {}})


@ops.backend_scope("numpy")
def test_bad_input_names_the_metric():
    with pytest.raises(ValueError, match="Precision.*threshold"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="TruePositives.*threshold"):
        metrics.TruePositives(thresholds=-0.1)
    with pytest.raises(ValueError, match="AUC.*num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="AUC.*curve"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="AUC.*summation_method"):
        metrics.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match="AUC.*num_labels"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match="F1Score.*average"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="FBetaScore.*beta"):
        metrics.FBetaScore(beta=0.0)
    with pytest.raises(ValueError, match="IoU.*target class"):
        metrics.IoU(num_classes=2, target_class_ids=[2])
    with pytest.raises(ValueError, match="R2Score.*class_aggregation"):
        metrics.R2Score(class_aggregation="median")
    with pytest.raises(ValueError, match="SensitivityAtSpecificity.*specificity"):
        metrics.SensitivityAtSpecificity(1.5)
    with pytest.raises(ValueError, match="RecallAtPrecision.*num_thresholds"):
        metrics.RecallAtPrecision(0.5, num_thresholds=0)
    mismatched = (_bits(4, 3), _u(4, 2))
    for m in (metrics.Precision(), metrics.AUC(), metrics.F1Score(), metrics.R2Score(),
              metrics.PearsonCorrelation(), metrics.RootMeanSquaredError()):
        with pytest.raises(ValueError, match=f"{type(m).__name__}|pearson_correlation"):
            m.update_state(*mismatched)
    with pytest.raises(ValueError, match="IoU.*class per entry"):
        metrics.MeanIoU(3).update_state(_ints(3, 5), _ints(3, 4))
    with pytest.raises(ValueError, match="Recall.*class_id"):
        metrics.Recall(class_id=1).update_state(_bits(4), _u(4))
    with pytest.raises(ValueError, match="AUC.*rank 2"):
        metrics.AUC(multi_label=True).update_state(_bits(4), _u(4))
    with pytest.raises(ValueError, match="Precision.*sample_weight"):
        metrics.Precision().update_state(_bits(4, 3), _u(4, 3), sample_weight=_w(3))
    with pytest.raises(ValueError, match="F1Score expects 2-D"):
        metrics.F1Score().update_state(_bits(4), _u(4))


# --- compiled steps ---------------------------------------------------------------------------
def _built(cls, kw, first_batch):
    """A metric whose lazily created state (F1Score, R2Score, multi-label AUC) exists
    before tracing: `build_state` sizes it from the inputs' shapes, symbolically."""
    m = getattr(metrics, cls)(**kw)
    build_state(m, first_batch[0], first_batch[1])
    assert all(not np.any(ops.convert_to_numpy(v.value)) for v in m.variables), cls
    return m


TF_FUNCTION = ["auc_multi_label_pr_lw", "precision_topk", "recall_topk_class", "fn_even",
               "mean_iou_ignore", "f1_macro", "r2", "sparse_topk"]


@pytest.mark.skipif("tensorflow" not in FRAMEWORKS, reason="tensorflow is not installed")
def test_under_tf_function(references):
    import tensorflow as tf
    with ops.backend_scope("tensorflow"):
        for cid, cls, kw, bs in [c for c in CASES if c[0] in TF_FUNCTION]:
            m = _built(cls, kw, bs[0])
            yt, yp, sw = bs[0]
            # Unknown batch size at trace time: every count must work with dynamic shapes.
            spec = [[tf.TensorSpec(v.shape, v.dtype) for v in m.variables],
                    tf.TensorSpec((None,) + yt.shape[1:], yt.dtype),
                    tf.TensorSpec((None,) + yp.shape[1:], yp.dtype)]
            if sw is not None:
                spec.append(tf.TensorSpec((None,), sw.dtype))
            step = tf.function(lambda state, *args: m.stateless_update_state(
                state, *args[:2], sample_weight=args[2] if len(args) > 2 else None),
                input_signature=spec)
            state = [tf.constant(v) for v in m.stateless_reset_state()]
            for yt, yp, sw in bs:
                state = step(state, yt, yp, *([] if sw is None else [sw]))
            _close(m.stateless_result(state), references[cid], f"{cid} under tf.function")
