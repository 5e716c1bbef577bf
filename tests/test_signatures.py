"""Every public op and random function has Keras 3's signature: the same parameter names,
kinds and defaults, checked against Keras itself (a test-time oracle, run in a subprocess)."""
import importlib
import inspect
import json
import os
import subprocess
import sys

import pytest

from unikeras.utils import coverage

pytest.importorskip("keras")

_KERAS_SIGNATURES = r"""
import inspect, json, sys
import keras
out = {}
for namespace, names in json.loads(sys.argv[1]).items():
    module = keras
    for part in namespace.split("."):
        module = getattr(module, part)
    for name in names:
        try:
            out[namespace + ":" + name] = [
                [p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None]
                for p in inspect.signature(getattr(module, name)).parameters.values()]
        except (TypeError, ValueError):   # a builtin or class without a signature
            pass
print(json.dumps(out))
"""


_UNINFORMATIVE = [["args", "VAR_POSITIONAL", None], ["kwargs", "VAR_KEYWORD", None]]


def _params(fn):
    return [[p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None]
            for p in inspect.signature(fn).parameters.values()]


@pytest.fixture(scope="module")
def keras_signatures():
    names = {ns: coverage.catalog(os.path.join(coverage.CATALOG_DIR, ns + ".txt"))
             for ns in coverage.NAMESPACES}
    env = dict(os.environ, KERAS_BACKEND="numpy")
    done = subprocess.run([sys.executable, "-c", _KERAS_SIGNATURES, json.dumps(names)],
                          capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("namespace", sorted(coverage.NAMESPACES))
def test_signatures_equal_keras(namespace, keras_signatures):
    module = importlib.import_module(coverage.NAMESPACES[namespace])
    checked, differ = 0, []
    for key, expected in keras_signatures.items():
        ns, name = key.split(":")
        if ns != namespace or expected == _UNINFORMATIVE:   # e.g. Sequential's (*args, **kwargs)
            continue
        checked += 1
        ours = _params(getattr(module, name))
        if ours != expected:
            differ.append(f"{name}: keras {expected} ours {ours}")
    listed = coverage.catalog(os.path.join(coverage.CATALOG_DIR, namespace + ".txt"))
    assert checked >= min(10, len(listed) - 3), f"only {checked} signatures of {namespace} compared"
    assert not differ, "\n".join(differ)
