"""Which Keras 3 op names each backend implements: `python -m unikeras.utils.coverage`.

The catalog (`keras_ops_catalog.txt`) lists the public names of `keras.ops` in Keras 3.15.
A name counts as implemented on a backend when `unikeras.ops` defines it and the
backend's op table has its implementation (names that need no table, such as `is_tensor`,
count everywhere the op exists).
"""
import argparse
import importlib.util
import os

from unikeras import ops
from unikeras.common.ops import dispatch

CATALOG = os.path.join(os.path.dirname(__file__), "keras_ops_catalog.txt")
BACKENDS = ("numpy", "torch", "jax", "tensorflow", "openvino")
_MODULES = {"numpy": "numpy", "torch": "torch", "jax": "jax", "tensorflow": "tensorflow",
            "openvino": "openvino"}


def catalog(path=CATALOG):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def implemented(name, backend):
    fn = getattr(ops, name, None)
    if fn is None:
        return False
    impl = getattr(fn, "impl_name", None)
    if impl is None:
        return callable(fn)
    return hasattr(dispatch.get_table(backend), impl)


def report(names, backends):
    """{backend: (implemented names, missing names)}."""
    out = {}
    for b in backends:
        done = [n for n in names if implemented(n, b)]
        out[b] = (done, [n for n in names if n not in done])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=CATALOG)
    parser.add_argument("--missing", action="store_true", help="list missing names per backend")
    args = parser.parse_args(argv)
    names = catalog(args.catalog)
    backends = [b for b in BACKENDS if importlib.util.find_spec(_MODULES[b])]
    results = report(names, backends)
    print(f"{'backend':<12}{'implemented':>12}{'of':>5}{'coverage':>10}")
    for b, (done, missing) in results.items():
        print(f"{b:<12}{len(done):>12}{len(names):>5}{len(done) / len(names):>10.1%}")
    if args.missing:
        for b, (_, missing) in results.items():
            print(f"\n{b} missing ({len(missing)}): {' '.join(missing)}")
    return results


if __name__ == "__main__":
    main()
