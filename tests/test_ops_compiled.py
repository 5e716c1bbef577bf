"""Ops inside jax.jit, tf.function and torch.compile give the eager results.

jax.jit and tf.function run EVERY case of the op-family test files (their `CASES` lists):
the NumPy arrays among a case's arguments (also inside lists, tuples and keyword arguments)
become traced inputs of the compiled function; everything else (Python scalars, axes,
strings, shapes) is closed over as static. To keep the file fast, the cases of one family
run in chunks, one compiled function per chunk; a chunk that fails to compile is re-run case
by case so the failure names the case.

What the compiled result is compared with (shape and dtype exactly, values with a tolerance):
- tensorflow: its eager result, always (eager TF is cheap);
- jax: the NumPy reference first, which the family tests prove equal to the jax eager result
  on these very cases; where they differ, the jax eager result is computed and is the judge.
  (Eager jax compiles every primitive for every new shape: computing it for all cases would
  cost more than the compiled runs themselves.)

jax.jit cannot trace ops whose output shape depends on the input values (EXCLUDED);
test_excluded_ops_really_cannot_be_jitted keeps that list minimal.

The families' CREATION cases (tensor-free ops: the backend comes from the scope) and the
linalg AMBIGUOUS cases (sign-ambiguous decompositions: compiled and eager still agree) run
too, and every computation of tests/test_ops_control.py runs compiled against its eager run.

torch.compile (backend aot_eager, dynamic=False) runs one representative case (the first) of
every op, the representatives of a family in chunks through one compiled function each.
Graph breaks are allowed (results must still match); hitting the recompile limit is an
error, never a silent fallback to eager, and every chunk must produce a compiled graph.
"""
import importlib
import itertools
import linecache

import numpy as np
import pytest

from unikeras import ops
from tests.conftest import FRAMEWORKS, to_backend

FAMILIES = ("core", "elementwise", "reductions", "arrays", "linalg", "neural", "image")
CHUNK = {"jax": 40, "tensorflow": 60, "torch": 30}

# jax.jit: ops whose output shape depends on the input values. Each entry: (reason, predicate
# on (args, kwargs) that makes a case jittable after all, or None).
EXCLUDED = {
    "unique": ("the number of distinct values is the output length (jittable with `size`)",
               lambda args, kwargs: kwargs.get("size") is not None),
    "nonzero": ("the number of non-zero elements is the output length", None),
    "bincount": ("the output length is max(x) + 1 (under jit the implementation gives `minlength` "
                 "bins, right only when every value is below it)",
                 lambda args, kwargs: kwargs.get("minlength", 0) > int(np.max(args[0], initial=-1))),
    "segment_sum": ("without num_segments the output length is max(segment_ids) + 1",
                    lambda args, kwargs: kwargs.get("num_segments") is not None),
    "segment_min": ("without num_segments the output length is max(segment_ids) + 1",
                    lambda args, kwargs: kwargs.get("num_segments") is not None),
    "segment_prod": ("without num_segments the output length is max(segment_ids) + 1",
                     lambda args, kwargs: kwargs.get("num_segments") is not None),
}

# (backend, case id) -> what goes wrong. Each runs as its own xfail(strict=True) test, so a fix
# makes it fail until the entry is removed.
KNOWN_FAILURES = {}


# --- the cases ---------------------------------------------------------------------------------
class Case:
    def __init__(self, family, name, args, kwargs, namespace, cid):
        self.family, self.name, self.args, self.kwargs, self.cid = family, name, args, kwargs, cid
        self.namespace = namespace
        self._reference = None

    @property
    def fn(self):
        return getattr(self.namespace, self.name)

    def reference(self):
        if self._reference is None:
            with ops.backend_scope("numpy"):
                self._reference = _flatten(self.fn(*self.args, **self.kwargs))
        return self._reference

    def jax_excluded(self):
        if self.name not in EXCLUDED:
            return False
        jittable = EXCLUDED[self.name][1]
        return jittable is None or not jittable(self.args, self.kwargs)


def _load(family):
    """The cases of tests/test_ops_<family>.py, or the import error."""
    try:
        mod = importlib.import_module(f"tests.test_ops_{family}")
    except Exception as e:  # noqa: BLE001 -- reported as that family's failure
        return e
    namespace = ops.image if family == "image" else ops
    cases, seen = [], {}
    # CREATION: tensor-free ops (the compiled function's backend comes from the scope);
    # AMBIGUOUS (linalg): results defined up to signs, still the same compiled and eager.
    for c in list(mod.CASES) + list(getattr(mod, "CREATION", [])) + list(getattr(mod, "AMBIGUOUS", [])):
        name, args, kwargs = c[0], c[1], c[2]
        try:
            cid = f"{family}:{mod._case_id(c)}"
        except Exception:  # noqa: BLE001
            cid = f"{family}:{name}"
        seen[cid] = seen.get(cid, 0) + 1
        if seen[cid] > 1:
            cid += f"#{seen[cid]}"
        cases.append(Case(family, name, args, kwargs, namespace, cid))
    return cases


LOADED = {f: _load(f) for f in FAMILIES}
ALL_CASES = [c for f in FAMILIES if isinstance(LOADED[f], list) for c in LOADED[f]]
BY_ID = {c.cid: c for c in ALL_CASES}


def _split(x, leaves):
    """`x` with every NumPy array replaced by a slot index (arrays appended to `leaves`)."""
    if isinstance(x, np.ndarray):
        leaves.append(x)
        return ("leaf", len(leaves) - 1)
    if type(x) in (list, tuple):
        return (type(x), [_split(i, leaves) for i in x])
    if type(x) is dict:
        return (dict, {k: _split(v, leaves) for k, v in x.items()})
    return ("static", x)


def _build(tree, values):
    kind, v = tree
    if kind == "leaf":
        return values[v]
    if kind == "static":
        return v
    if kind is dict:
        return {k: _build(i, values) for k, i in v.items()}
    return kind(_build(i, values) for i in v)


def _flatten(out):
    if isinstance(out, (list, tuple)):
        return [leaf for o in out for leaf in _flatten(o)]
    if isinstance(out, dict):
        return [leaf for k in sorted(out) for leaf in _flatten(out[k])]
    return [np.asarray(ops.convert_to_numpy(out))]


def _group(cases):
    """One function computing all `cases` from their arrays (as positional inputs)."""
    leaves, scope = [], {}
    for i, c in enumerate(cases):
        scope[f"f{i}"] = _caller(c.fn, _split((c.args, c.kwargs), leaves))
    # Straight-line code, no loop: torch.compile cannot resume a graph break inside a loop
    # (it would skip the whole frame), and a fresh code object per group keeps torch's
    # compiled-code caches of different groups apart.
    n = len(cases)
    src = "def run(*t):\n" + "".join(f"    o{i} = f{i}(t)\n" for i in range(n))
    src += "    return [" + ", ".join(f"o{i}" for i in range(n)) + "]\n"
    filename = f"<compiled group {next(_GROUP_IDS)} of {n}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)  # for AutoGraph
    exec(compile(src, filename, "exec"), scope)
    return scope["run"], leaves


_GROUP_IDS = itertools.count()


def _caller(fn, tree):
    def call(tensors):
        args, kwargs = _build(tree, tensors)
        return fn(*args, **kwargs)
    return call


# --- compilers -----------------------------------------------------------------------------------
GRAPHS = {"count": 0}


def _counting_aot_eager(gm, example_inputs):
    from torch._dynamo import lookup_backend
    GRAPHS["count"] += 1
    return lookup_backend("aot_eager")(gm, example_inputs)


def _compile(backend, fn):
    if backend == "jax":
        import jax
        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf
        return tf.function(fn)
    import torch
    return torch.compile(fn, backend=_counting_aot_eager, dynamic=False)


@pytest.fixture(scope="module")
def torch_caches():
    """Drop this file's compiled code at the end: its many recompiles of shared frames (the op
    wrappers) must not push other tests' torch.compile calls over the recompile limit."""
    yield
    import torch._dynamo
    torch._dynamo.reset()


@pytest.fixture
def torch_config(torch_caches):
    """Every chunk really compiles: no silent eager fallback at the recompile limit."""
    import torch._dynamo.config as cfg
    with cfg.patch(recompile_limit=10_000, accumulated_recompile_limit=100_000,
                   fail_on_recompile_limit_hit=True, suppress_errors=False):
        yield


# --- comparison ------------------------------------------------------------------------------------
def _tolerance(dtype):
    if dtype.name in ("float16", "bfloat16"):
        return dict(rtol=2e-3, atol=2e-3)
    if dtype.name in ("float64", "complex128"):
        return dict(rtol=1e-10, atol=1e-12)
    return dict(rtol=1e-5, atol=1e-6)


def _mismatch(got, want):
    """None when the flat outputs agree, else a description."""
    if len(got) != len(want):
        return f"{len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        if g.dtype != w.dtype or g.shape != w.shape:
            return f"output {i}: {g.dtype}{g.shape} != {w.dtype}{w.shape}"
        if g.dtype.kind in "fc":
            scale = float(np.max(np.abs(w[np.isfinite(w)]), initial=1.0)) if w.size else 1.0
            tol = _tolerance(g.dtype)
            ok = np.isclose(g, w, rtol=tol["rtol"], atol=tol["atol"] * max(scale, 1.0), equal_nan=True)
        else:
            ok = g == w
        if not np.all(ok):
            bad = np.argwhere(~np.asarray(ok))[:3].tolist()
            return (f"output {i} differs at {bad}: got {np.asarray(g)[tuple(np.array(bad).T)]} "
                    f"want {np.asarray(w)[tuple(np.array(bad).T)]}")
    return None


def _eager(case, backend, tensors):
    run, _ = _group([case])
    with ops.backend_scope(backend):
        return _flatten(run(*tensors)[0])


def _check_cases(backend, cases):
    """Compile `cases` together (case by case if that fails); the failures as {case id: why}."""
    run, leaves = _group(cases)
    tensors = [to_backend(x, backend) for x in leaves]
    try:
        with ops.backend_scope(backend):
            outs = _compile(backend, run)(*tensors)
        outs = [_flatten(o) for o in outs]
    except Exception as e:  # noqa: BLE001 -- find which case, then report it
        if len(cases) == 1:
            return {cases[0].cid: f"{type(e).__name__}: {str(e)[:400]}"}
        failures = {}
        for c in cases:
            failures.update(_check_cases(backend, [c]))
        return failures or {"chunk": f"fails only when compiled together: {type(e).__name__}: {e}"}
    failures = {}
    offsets = np.cumsum([0] + [_n_leaves(c) for c in cases])
    for k, (c, got) in enumerate(zip(cases, outs)):
        mine = tensors[offsets[k]:offsets[k + 1]]
        if backend == "jax" and _matches_reference(got, c):
            continue   # equal to the reference, which the family tests prove equal to eager
        try:
            why = _mismatch(got, _eager(c, backend, mine))
        except Exception as e:  # noqa: BLE001
            why = f"the eager call fails: {type(e).__name__}: {str(e)[:300]}"
        if why:
            failures[c.cid] = why
    return failures


def _matches_reference(got, case):
    try:
        return _mismatch(got, case.reference()) is None
    except Exception:  # noqa: BLE001 -- no NumPy reference: the eager result decides
        return False


def _n_leaves(case):
    leaves = []
    _split((case.args, case.kwargs), leaves)
    return len(leaves)


# --- tests -----------------------------------------------------------------------------------------
JIT_BACKENDS = [b for b in ("jax", "tensorflow") if b in FRAMEWORKS]


def _chunks(backend, cases):
    """pytest params: the cases of each family in chunks of CHUNK[backend]."""
    params = []
    for family in FAMILIES:
        mine = [c.cid for c in cases if c.family == family and (backend, c.cid) not in KNOWN_FAILURES]
        n = CHUNK[backend]
        for k in range(0, len(mine), n):
            params.append(pytest.param(backend, mine[k:k + n], id=f"{backend}-{family}-{k // n}"))
    return params


JIT_CHUNKS = [p for b in JIT_BACKENDS
              for p in _chunks(b, [c for c in ALL_CASES if not (b == "jax" and c.jax_excluded())])]


def _representatives():
    """The first case of every op (over all families)."""
    seen, reps = set(), []
    for c in ALL_CASES:
        if c.name not in seen:
            seen.add(c.name)
            reps.append(c)
    return reps


TORCH_CHUNKS = _chunks("torch", _representatives()) if "torch" in FRAMEWORKS else []


@pytest.mark.parametrize("family", FAMILIES)
def test_family_cases_load(family):
    assert isinstance(LOADED[family], list), f"tests/test_ops_{family}.py: {LOADED[family]!r}"
    assert LOADED[family], f"tests/test_ops_{family}.py has no cases"


@pytest.mark.parametrize("backend,cids", JIT_CHUNKS)
def test_every_case_inside_jax_jit_and_tf_function_gives_the_eager_result(backend, cids):
    failures = _check_cases(backend, [BY_ID[c] for c in cids])
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


@pytest.mark.parametrize("backend,cids", TORCH_CHUNKS)
def test_one_case_of_every_op_inside_torch_compile_gives_the_eager_result(backend, cids, torch_config):
    before = GRAPHS["count"]
    failures = _check_cases(backend, [BY_ID[c] for c in cids])
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
    assert GRAPHS["count"] > before, "torch.compile produced no graph: the chunk ran eagerly"


KNOWN = [pytest.param(b, cid, marks=pytest.mark.xfail(strict=True, reason=why), id=f"{b}-{cid}")
         for (b, cid), why in KNOWN_FAILURES.items() if b in FRAMEWORKS]

if KNOWN:  # (no empty, skipped test while there is none)
    @pytest.mark.parametrize("backend,cid", KNOWN)
    def test_known_failures(backend, cid, request):
        if backend == "torch":
            request.getfixturevalue("torch_config")
        failures = _check_cases(backend, [BY_ID[cid]])
        assert not failures, failures


EXCLUDED_CASES = [c for c in ALL_CASES if c.jax_excluded()]


def test_excluded_ops_really_cannot_be_jitted():
    """Every case left out of jax.jit fails there, or gives another shape than eager (the
    output shape depends on the values); every EXCLUDED op has such a case."""
    if "jax" not in FRAMEWORKS:
        pytest.skip("jax is not installed")
    import jax
    assert {c.name for c in EXCLUDED_CASES} == set(EXCLUDED), "EXCLUDED names an op with no excluded case"
    reductions = importlib.import_module("tests.test_ops_reductions")
    assert set(EXCLUDED) <= set(reductions.VALUE_DEPENDENT)
    for c in EXCLUDED_CASES:
        run, leaves = _group([c])
        tensors = [to_backend(x, "jax") for x in leaves]
        try:
            got = _flatten(jax.jit(run)(*tensors)[0])
        except jax.errors.ConcretizationTypeError:
            continue
        # (the reference: the family tests prove the eager result has its shapes)
        assert [g.shape for g in got] != [r.shape for r in c.reference()], (
            f"{c.cid} works under jax.jit: take it out of EXCLUDED")


# --- control flow: tests/test_ops_control.py builds its computations from a backend name -------
try:
    CONTROL = importlib.import_module("tests.test_ops_control").CASES
except Exception as e:  # noqa: BLE001 -- reported by test_control_cases_load
    CONTROL = e


def test_control_cases_load():
    assert isinstance(CONTROL, dict) and CONTROL, f"tests/test_ops_control.py: {CONTROL!r}"


# torch.compile unrolls these loops op by op: the two costliest cases stay out of its budget.
TORCH_CONTROL_LEFT_OUT = {"associative_scan", "vectorize"}
CONTROL_PARAMS = [(b, n) for n in (CONTROL if isinstance(CONTROL, dict) else {}) for b in FRAMEWORKS
                  if not (b == "torch" and n in TORCH_CONTROL_LEFT_OUT)]


@pytest.mark.parametrize("backend,name", CONTROL_PARAMS, ids=[f"{b}-{n}" for b, n in CONTROL_PARAMS])
def test_control_flow_compiled_gives_the_eager_result(backend, name, request):
    if backend == "torch":
        request.getfixturevalue("torch_config")
    build = CONTROL[name][0]
    with ops.backend_scope(backend):
        eager = _flatten(build(backend))
        got = _flatten(_compile(backend, lambda: build(backend))())
    why = _mismatch(got, eager)
    assert why is None, f"{name}: {why}"
