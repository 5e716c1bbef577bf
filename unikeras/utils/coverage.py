"""Which Keras 3 op names each backend implements: `python -m unikeras.utils.coverage`.

The catalogs in `keras_catalog/` list the public names of Keras 3.15's `keras.ops`
(`ops.txt`: the top level), of its namespaces `keras.ops.numpy/nn/linalg/image` and of
`keras.random`. The backend table counts the top-level names plus the image namespace
(whose names are not at the top level). A name counts as implemented on a backend when
unikeras defines it and the backend's op table has its implementation (names that need no
table, such as `is_tensor`, count everywhere the op exists).
"""
import argparse
import importlib
import importlib.util
import os

from unikeras.common.ops import dispatch

CATALOG_DIR = os.path.join(os.path.dirname(__file__), "keras_catalog")
CATALOG = os.path.join(CATALOG_DIR, "ops.txt")
BACKENDS = ("numpy", "torch", "jax", "tensorflow", "openvino")
# Keras namespace -> the unikeras module that must expose its names.
NAMESPACES = {"ops": "unikeras.ops", "ops.numpy": "unikeras.ops.numpy",
              "ops.nn": "unikeras.ops.nn", "ops.linalg": "unikeras.ops.linalg",
              "ops.image": "unikeras.ops.image", "random": "unikeras.random",
              "activations": "unikeras.activations", "initializers": "unikeras.initializers",
              "regularizers": "unikeras.regularizers", "constraints": "unikeras.constraints",
              "losses": "unikeras.losses", "metrics": "unikeras.metrics",
              "optimizers": "unikeras.optimizers",
              "optimizers.schedules": "unikeras.optimizers.schedules",
              "callbacks": "unikeras.callbacks", "saving": "unikeras.saving",
              "models": "unikeras.models"}


def catalog(path=CATALOG):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def backend_catalog():
    """The names the backend table counts: top-level ops, then `image.<name>`."""
    image = catalog(os.path.join(CATALOG_DIR, "ops.image.txt"))
    return catalog() + ["image." + n for n in image]


def implemented(name, backend):
    """`name` is a top-level op name or `image.<name>`."""
    module = importlib.import_module("unikeras.ops")
    for part in name.split(".")[:-1]:
        module = getattr(module, part)
    fn = getattr(module, name.split(".")[-1], None)
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


def namespace_report():
    """{keras namespace: names of its catalog the matching unikeras module lacks}."""
    out = {}
    for keras_name, module_name in NAMESPACES.items():
        module = importlib.import_module(module_name)
        names = catalog(os.path.join(CATALOG_DIR, keras_name + ".txt"))
        out[keras_name] = (len(names), [n for n in names if not hasattr(module, n)])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", help="a file of top-level op names to count instead")
    parser.add_argument("--missing", action="store_true", help="list missing names per backend")
    args = parser.parse_args(argv)
    names = catalog(args.catalog) if args.catalog else backend_catalog()
    backends = [b for b in BACKENDS if importlib.util.find_spec(b)]
    results = report(names, backends)
    print(f"{'backend':<12}{'implemented':>12}{'of':>5}{'coverage':>10}")
    for b, (done, missing) in results.items():
        print(f"{b:<12}{len(done):>12}{len(names):>5}{len(done) / len(names):>10.1%}")
    if not args.catalog:
        print("\nnamespace    exposed of")
        for keras_name, (total, absent) in namespace_report().items():
            print(f"{keras_name:<12}{total - len(absent):>8}{total:>4}"
                  + (f"  missing: {' '.join(absent)}" if absent else ""))
    if args.missing:
        for b, (_, missing) in results.items():
            print(f"\n{b} missing ({len(missing)}): {' '.join(missing)}")
    return results


if __name__ == "__main__":
    main()
