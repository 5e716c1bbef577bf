"""OpenVINO graphs of the arrays, reductions and linalg op families against the NumPy
reference (and NumPy itself where the family's test module has an independent formula).

Every case of tests/test_ops_arrays.py, tests/test_ops_reductions.py and
tests/test_ops_linalg.py whose op is one of the OpenVINO builders added here is built as a
graph (one `parameter` per NumPy-array argument, with its static shape, and again with the
first dimension dynamic), compiled on CPU and inferred; values, dtypes and shapes must equal
the reference's. Cases with zero-size arrays stay on the frameworks: zero-size parameters
crash OpenVINO's CPU plugin at inference.
"""
import numpy as np
import pytest

ov = pytest.importorskip("openvino")
ovo = pytest.importorskip("openvino.opset16")

from unikeras import ops  # noqa: E402
from unikeras.adapters.openvino import ops as ov_ops  # noqa: E402
from tests import test_ops_arrays as arrays_t  # noqa: E402
from tests import test_ops_reductions as red_t  # noqa: E402
from tests import test_ops_linalg as lin_t  # noqa: E402
from tests.test_ops_openvino import _infer, _reference, _to_graph  # noqa: E402

R = np.random.default_rng(7)

ARRAY_OPS = {"unstack", "array_split", "hsplit", "vsplit", "dsplit", "hstack", "vstack",
             "dstack", "append", "fliplr", "flipud", "roll", "rot90", "size", "diag",
             "diagflat", "diagonal", "trace", "tril", "triu", "empty_like", "meshgrid",
             "array", "inner", "outer", "vdot", "kron", "cross", "slice_update", "scatter",
             "scatter_update", "select", "unravel_index", "vander", "extract_sequences"}
CREATION_OPS = {"tri", "empty", "linspace", "logspace", "geomspace", "bartlett", "blackman",
                "hamming", "hanning", "kaiser"}
REDUCTION_OPS = {
    "count_nonzero", "cumprod", "nancumsum", "nancumprod", "median", "quantile", "percentile",
    "nanmedian", "nanquantile", "nanpercentile", "average", "ptp", "diff", "trapezoid",
    "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nanargmax",
    "nanargmin", "searchsorted", "digitize", "bincount", "histogram", "isin", "argpartition",
    "unique", "nonzero", "corrcoef", "correlate", "cdist", "segment_sum", "segment_max",
    "segment_min", "segment_prod"}
LINALG_OPS = {"inv", "solve", "solve_triangular", "lu_factor", "det", "slogdet", "logdet",
              "cholesky", "cholesky_inverse", "norm", "fft", "fft2", "ifft2", "rfft", "irfft",
              "stft", "istft"}
# What OpenVINO cannot express exactly (see the module docstrings of the adapters).
NOT_ON_OPENVINO = {"view", "view_as_real", "view_as_complex", "eig", "eigh", "svd", "qr",
                   "lstsq", "pinv", "matrix_rank"}


def _leaves(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _arrays_in(args):
    for a in args:
        if isinstance(a, np.ndarray):
            yield a
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
            yield from a


def _has_empty(args):
    return any(a.size == 0 for a in _arrays_in(args))


def _can_be_dynamic(args):
    return any(a.ndim for a in _arrays_in(args))


def _check_graph(name, args, kwargs, dynamic, value_dependent=False):
    """Build, compile and run the case; compare with the reference. Returns the values."""
    expected = [np.asarray(e) for e in _leaves(_reference(name, args, kwargs))]
    graph_args, params, feeds = _to_graph(args, dynamic)
    out = _leaves(getattr(ops, name)(*graph_args, **kwargs))
    assert len(out) == len(expected), f"{name}: {len(out)} outputs, expected {len(expected)}"
    for o, e in zip(out, expected):
        assert isinstance(o, ov.Output), f"{name} returned {type(o)}"
        assert ov_ops.dtype_name(o) == e.dtype.name, (name, ov_ops.dtype_name(o), e.dtype)
        shape = ops.shape(o)
        assert len(shape) == e.ndim, (name, shape, e.shape)
        assert all(d is None or d == w for d, w in zip(shape, e.shape)), (name, shape, e.shape)
        if not dynamic and not value_dependent:
            assert shape == e.shape, (name, shape, e.shape)
    got = _infer(out, params, feeds)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype, f"{name}: {g.dtype} != reference {e.dtype}"
        assert g.shape == e.shape, f"{name}: {g.shape} != reference {e.shape}"
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5, err_msg=name)
    return got


def _variants(cases, names, key):
    """Static and dynamic variants of the cases of the ops listed here (the OpenVINO builders
    that existed before are run by the family test modules themselves)."""
    out = []
    for c in cases:
        if c[0] not in names or _has_empty(c[1]):
            continue
        out.append((c, False))
        if _can_be_dynamic(c[1]):
            out.append((c, True))
    return out, [key(c) + ("-dyn" if d else "-static") for c, d in out]


# Cases whose dynamic variant needs a static first dimension: the builder must refuse it with
# a ValueError naming the op (never a wrong graph).
STATIC_ONLY = {
    "array_split(7,indices_or_sections=3)",  # uneven sections of an unknown length
    "cross(4x3,3,)", "cross(3x2,3x2,axisa=0,axisb=0,axisc=0)", "cross(2,2,)",  # 2 or 3 comps?
    "vander(3,)",  # the column count is the unknown length
}


def _static_only(case):
    return arrays_t._case_id(case) in STATIC_ONLY


# --- arrays ------------------------------------------------------------------------------------
ARRAY_VARIANTS, ARRAY_IDS = _variants(arrays_t.CASES, ARRAY_OPS, arrays_t._case_id)


@pytest.mark.parametrize("case,dynamic", ARRAY_VARIANTS, ids=ARRAY_IDS)
def test_array_op_graphs(case, dynamic):
    name, args, kwargs, expr = case
    if dynamic and _static_only(case):
        graph_args, _, _ = _to_graph(args, dynamic)
        with pytest.raises(ValueError, match=f"^{name}:"):
            getattr(ops, name)(*graph_args, **kwargs)
        return
    got = _check_graph(name, args, kwargs, dynamic)
    for g, w in zip(got, _leaves(expr(*args, **kwargs))):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} vs NumPy")


CREATION = [c for c in arrays_t.CREATION if c[0] in CREATION_OPS]


@pytest.mark.parametrize("case", CREATION, ids=[arrays_t._case_id(c) for c in CREATION])
def test_creation_ops_build_constants(case):
    name, args, kwargs, expr = case
    expected = _leaves(_reference(name, args, kwargs))
    with ops.backend_scope("openvino"):
        out = _leaves(getattr(ops, name)(*args, **kwargs))
    for o, e, w in zip(out, expected, _leaves(expr(*args, **kwargs))):
        assert isinstance(o, ov.Output)
        got = ops.convert_to_numpy(o)
        assert got.dtype == e.dtype and got.shape == e.shape
        np.testing.assert_array_equal(got, e)
        np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-6)


def test_every_listed_op_is_implemented():
    for name in ARRAY_OPS | CREATION_OPS | REDUCTION_OPS | LINALG_OPS:
        fn = getattr(ops, name)
        assert callable(getattr(ov_ops, fn.impl_name, None)), name
    for name in NOT_ON_OPENVINO:
        assert getattr(ov_ops, getattr(ops, name).impl_name, None) is None, name


# --- reductions --------------------------------------------------------------------------------
RED_VARIANTS, RED_IDS = _variants(red_t.CASES, REDUCTION_OPS, red_t._case_id)
# correlate pads by the second input's length (static) and slices by both lengths ('valid',
# 'same'); the dynamic variant makes both 1-D inputs of unknown length.
RED_STATIC_ONLY = {red_t._case_id(c) for c in red_t.CASES if c[0] == "correlate"}


@pytest.mark.parametrize("case,dynamic", RED_VARIANTS, ids=RED_IDS)
def test_reduction_op_graphs(case, dynamic):
    name, args, kwargs = case
    if dynamic and red_t._case_id(case) in RED_STATIC_ONLY:
        graph_args, _, _ = _to_graph(args, dynamic)
        with pytest.raises(ValueError, match=f"^{name}:"):
            getattr(ops, name)(*graph_args, **kwargs)
        return
    got = _check_graph(name, args, kwargs, dynamic, name in red_t.VALUE_DEPENDENT)
    for g, w in zip(got, _leaves(red_t.INDEPENDENT[name](*args, **kwargs))):
        np.testing.assert_allclose(g.astype("float64"), np.asarray(w, "float64"), rtol=1e-4,
                                   atol=1e-5, err_msg=f"{name} vs NumPy")


# --- linalg ------------------------------------------------------------------------------------
def _lin_key(case):
    return lin_t._case_id(case)


UNROLLED = {"det", "slogdet", "logdet", "lu_factor", "cholesky"}
# Matrix norms by singular values: no OpenVINO primitive (a ValueError naming the op).
SVD_NORMS = [c for c in lin_t.CASES if c[0] == "norm" and c[2].get("ord") in (2, -2, "nuc")
             and c[2].get("axis") is not None and not isinstance(c[2].get("axis"), int)]
LIN_VARIANTS, LIN_IDS = _variants([c for c in lin_t.CASES if all(c is not s for s in SVD_NORMS)],
                                  LINALG_OPS, _lin_key)


@pytest.mark.parametrize("case,dynamic", LIN_VARIANTS, ids=LIN_IDS)
def test_linalg_op_graphs(case, dynamic):
    name, args, kwargs = case
    if dynamic and ((name in UNROLLED and args[0].ndim == 2) or
                    (name == "stft" and args[0].ndim == 1)):
        # A factorization is unrolled over the matrix size, stft frames a signal of static
        # length: the dynamic variant makes these sizes unknown.
        graph_args, _, _ = _to_graph(args, dynamic)
        with pytest.raises(ValueError, match=f"^{name}:.*static"):
            getattr(ops, name)(*graph_args, **kwargs)
        return
    _check_graph(name, args, kwargs, dynamic)


@pytest.mark.parametrize("case", SVD_NORMS, ids=[_lin_key(c) for c in SVD_NORMS])
def test_singular_value_norms_are_refused(case):
    name, args, kwargs = case
    graph_args, _, _ = _to_graph(args, False)
    with pytest.raises(ValueError, match="^norm:.*singular values"):
        ops.norm(*graph_args, **kwargs)


# --- cases the family modules lack -------------------------------------------------------------
def _graph_vs_numpy(fn, arrays, dynamic_shapes, want):
    """Build fn on parameters of the given (possibly -1) shapes, run on `arrays`, compare with
    `want` (NumPy values computed independently): dtype, shape, values."""
    params = [ovo.parameter(list(s), a.dtype) for a, s in zip(arrays, dynamic_shapes)]
    out = _leaves(fn(*[p.output(0) for p in params]))
    got = _infer(out, params, arrays)
    want = _leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        assert g.shape == w.shape, (g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return got


def test_space_ops_with_graph_bounds():
    start = np.array([0.0, 1.0, -2.0], "float32")
    stop = np.array([1.0, 3.0, -32.0], "float32")
    want = [np.linspace(start, stop, 5, axis=-1).astype("float32"),
            np.linspace(start, stop, 4, endpoint=False).astype("float32"),
            np.logspace(start, stop, 3, base=2.0).astype("float32"),
            np.geomspace(start[2:], stop[2:], 5).astype("float32"),
            np.floor(np.linspace(start, stop, 4)).astype("int32")]
    _graph_vs_numpy(lambda s, e: [
        ops.linspace(s, e, 5, axis=-1), ops.linspace(s, e, 4, endpoint=False),
        ops.logspace(s, e, 3, base=2.0),
        ops.geomspace(ops.get_item(s, slice(2, None)), ops.get_item(e, slice(2, None)), 5),
        ops.linspace(s, e, 4, dtype="int32")], [start, stop], [[-1], [-1]], want)
    samples, step = ops.linspace(ovo.parameter([3], np.float32).output(0), 1.0, 3,
                                 retstep=True)
    assert ops.shape(samples) == (3, 3) and ops.shape(step) == (3,)


def test_dynamic_matrix_dims_for_diagonals_and_triangles():
    a = R.standard_normal((3, 5)).astype("float32")
    want = [np.diagonal(a, 1), np.diagonal(a, -2), np.tril(a, 1), np.triu(a, -1),
            np.trace(a, 2).astype("float32"), np.diag(a[0], -1), np.fliplr(a), np.roll(a, 2)]
    _graph_vs_numpy(lambda x: [
        ops.diagonal(x, 1), ops.diagonal(x, -2), ops.tril(x, 1), ops.triu(x, -1),
        ops.trace(x, 2), ops.diag(ops.get_item(x, 0), -1), ops.fliplr(x), ops.roll(x, 2)],
        [a], [[-1, -1]], want)


def test_sizes_and_unstack_of_dynamic_axes():
    a = R.standard_normal((2, 3)).astype("float32")
    x = ovo.parameter([-1, 3], np.float32).output(0)
    assert ops.ndim(x) == 2 and ops.dtype(x) == "float32"
    size = ops.size(x)
    parts = ops.unstack(x, num=2, axis=0)
    got = _infer([size] + parts, [x.get_node()], [a])
    assert got[0].dtype == np.int32 and got[0] == 6
    np.testing.assert_array_equal(got[1], a[0])
    np.testing.assert_array_equal(got[2], a[1])
    with pytest.raises(ValueError, match="^unstack:"):
        ops.unstack(x, axis=0)  # unknown count


def test_nan_reductions_of_all_nan_slices_and_quantiles_with_nan():
    a = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, -2.0]], "float32")
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = [np.nanmax(a, axis=1), np.nanmin(a, axis=1), np.nanmean(a, axis=1),
                np.nanmedian(a, axis=1), np.nanquantile(a, [0.25, 1.0], axis=1).astype("float32"),
                np.quantile(a, 0.5, axis=1).astype("float32"), np.nansum(a, axis=1),
                np.nancumsum(a, axis=1), np.nanprod(a, axis=1)]
    _graph_vs_numpy(lambda x: [
        ops.nanmax(x, axis=1), ops.nanmin(x, axis=1), ops.nanmean(x, axis=1),
        ops.nanmedian(x, axis=1), ops.nanquantile(x, [0.25, 1.0], axis=1),
        ops.quantile(x, 0.5, axis=1), ops.nansum(x, axis=1), ops.nancumsum(x, axis=1),
        ops.nanprod(x, axis=1)], [a], [[-1, 3]], want)


def test_segments_with_out_of_range_ids_and_value_dependent_length():
    data = R.standard_normal((6, 2)).astype("float32")
    ids = np.array([3, -1, 0, 3, 7, 1], "int32")

    def np_segment(fn, num, fill):
        return np.stack([fn(data[ids == s], axis=0) if (ids == s).any()
                         else np.full(2, fill, "float32") for s in range(num)]).astype("float32")
    want = [np_segment(np.sum, 4, 0.0), np_segment(np.max, 4, -np.inf),
            np_segment(np.min, 8, np.inf), np_segment(np.prod, 8, 1.0)]
    got = _graph_vs_numpy(lambda d, i: [
        ops.segment_sum(d, i, num_segments=4), ops.segment_max(d, i, num_segments=4),
        ops.segment_min(d, i), ops.segment_prod(d, i)], [data, ids], [[-1, 2], [-1]], want)
    assert got[2].shape == (8, 2)


def test_value_dependent_lengths_are_dynamic_dims():
    a = np.array([[0, 2, 0], [1, 0, 3]], "int32")
    x = ovo.parameter([-1, 3], np.int32).output(0)
    rows, cols = ops.nonzero(x)
    counts = ops.bincount(ops.reshape(x, (-1,)), minlength=2)
    assert ops.shape(rows) == (None,) and ops.shape(counts) == (None,)
    got = _infer([rows, cols, counts], [x.get_node()], [a])
    want_rows, want_cols = np.nonzero(a)
    np.testing.assert_array_equal(got[0], want_rows)
    np.testing.assert_array_equal(got[1], want_cols)
    np.testing.assert_array_equal(got[2], np.bincount(a.ravel(), minlength=2))
    assert got[0].dtype == got[2].dtype == np.int32


def test_cumprod_of_zeros_and_negatives_is_exact():
    a = np.array([[2, -3, 0, 5], [-1, -1, 4, 2]], "int8")
    want = [np.cumprod(a, axis=1, dtype="int32"), np.cumprod(a.astype("float32"), axis=0),
            np.cumprod(a, dtype="int32")]
    _graph_vs_numpy(lambda x: [ops.cumprod(x, axis=1), ops.cumprod(ops.cast(x, "float32"), axis=0),
                               ops.cumprod(x)], [a], [[-1, 4]], want)


def test_linalg_of_singular_and_permuted_matrices():
    a = np.array([[[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [2.0, 0.0, 3.0]],
                  [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 5.0]]], "float32")
    sign, logabs = np.linalg.slogdet(a.astype("float64"))
    want = [np.linalg.det(a.astype("float64")).astype("float32"), sign.astype("float32"),
            logabs.astype("float32")]
    _graph_vs_numpy(lambda x: [ops.det(x), *ops.slogdet(x)], [a], [[-1, 3, 3]], want)


@pytest.mark.parametrize("bad", [
    lambda x: ops.diagonal(x, axis1=0, axis2=0), lambda x: ops.roll(x, 1, axis=3),
    lambda x: ops.quantile(x, 0.5, method="bogus"), lambda x: ops.nanmean(x, axis=2),
    lambda x: ops.searchsorted(x, x), lambda x: ops.det(ops.reshape(x, (6,))),
    lambda x: ops.cross(x, ops.reshape(x, (3, 2))), lambda x: ops.segment_sum(x, x),
])
def test_bad_arguments_are_value_errors_naming_the_op(bad):
    x = ovo.parameter([2, 3], np.float32).output(0)
    with pytest.raises(ValueError, match=r"^(diagonal|roll|quantile|nanmean|searchsorted|det|"
                                         r"cross|segment_sum):"):
        bad(x)


def test_ops_without_an_exact_openvino_graph_are_not_implemented():
    from unikeras.common.ops.op import OpNotImplemented
    x = ovo.parameter([2, 2], np.float32).output(0)
    for call in (lambda: ops.view(x, "int32"), lambda: ops.svd(x), lambda: ops.qr(x),
                 lambda: ops.eigh(x), lambda: ops.pinv(x), lambda: ops.matrix_rank(x)):
        with pytest.raises(OpNotImplemented):
            call()


def test_mixed_ranks_and_narrow_integer_wraparound():
    a, b, c = (R.standard_normal(n).astype("float32") for n in (3, 2, 4))
    m = R.standard_normal((3, 4)).astype("float32")
    i8 = np.array([[100, -100, 5], [-100, 100, 3]], "int8")
    u8 = np.array([[1, 250, 3], [200, 2, 7]], "uint8")
    with np.errstate(over="ignore"):
        want = [*np.meshgrid(a, b, c), np.hstack([a[0], a]), np.kron(m, c),
                np.diff(i8, axis=0), np.diff(u8, axis=0), np.ptp(i8, axis=0)]
    _graph_vs_numpy(lambda a, b, c, m, i8, u8: [
        *ops.meshgrid(a, b, c), ops.hstack([ops.get_item(a, 0), a]), ops.kron(m, c),
        ops.diff(i8, axis=0), ops.diff(u8, axis=0), ops.ptp(i8, axis=0)],
        [a, b, c, m, i8, u8], [[-1], [-1], [-1], [-1, 4], [-1, 3], [-1, 3]], want)
