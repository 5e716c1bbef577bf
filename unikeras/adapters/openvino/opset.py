"""`openvino.opset16` as the adapter builds with it, with NaN-correct comparisons.

On CPUs with AVX-512 (checked on an Intel Xeon with AMX, OpenVINO 2026.4) the CPU plugin
evaluates `Greater` and `GreaterEqual` as unordered comparisons: `NaN > 0` is true there,
while AVX2 CPUs give false as IEEE says. `Less` and `LessEqual` are ordered on both, so
`a > b` is built as `b < a` (the same predicate in IEEE arithmetic) and every graph agrees
on every CPU.
"""
from openvino.opset16 import *  # noqa: F401,F403
from openvino.opset16 import less, less_equal


def greater(left, right, auto_broadcast="NUMPY", name=None):
    """`left > right`, false where either is NaN, as `right < left`."""
    return less(right, left, auto_broadcast, name)


def greater_equal(left, right, auto_broadcast="NUMPY", name=None):
    """`left >= right`, false where either is NaN, as `right <= left`."""
    return less_equal(right, left, auto_broadcast, name)
