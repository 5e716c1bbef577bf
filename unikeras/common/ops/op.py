"""The `op` decorator: one public function = docstring + symbolic rule + dispatch.

The decorated function's body *is* the symbolic rule: it receives the call's arguments
(KerasTensors among them) and returns KerasTensor(s) of the right shape and dtype. On
real tensors the call goes to the backend table function of the same name.
"""
import functools

from unikeras.common.ops import dispatch, tape
from unikeras.common.ops.dispatch import SYMBOLIC


class OpNotImplemented(NotImplementedError):
    pass


def _missing(name, backend):
    def raise_missing(*args, **kwargs):
        raise OpNotImplemented(f"Op {name!r} is not implemented for the {backend} backend.")
    return raise_missing


def op(rule=None, *, impl=None):
    """Make `rule` a dispatching op; `impl` names the backend function (default: its name)."""
    if rule is None:
        return functools.partial(op, impl=impl)
    impl_name = impl or rule.__name__
    impls = {}
    by_types = {}  # tuple of positional argument types -> implementation (no kwargs)

    @functools.wraps(rule)
    def call(*args, **kwargs):
        if tape.recorder is not None:
            return tape.recorder.call(call, impl_name, args, kwargs)
        if not kwargs:
            fn = by_types.get(tuple(map(type, args)))
            if fn is not None:
                return fn(*args)
        if dispatch.has_variables(args, kwargs):
            args, kwargs = dispatch.unwrap_variables(args, kwargs)
            if not kwargs:   # e.g. a layer's call on its weights: cached by value types
                fn = by_types.get(tuple(map(type, args)))
                if fn is not None:
                    return fn(*args)
        backend = dispatch.resolve_backend(args, kwargs)
        fn = impls.get(backend)
        if fn is None:
            if backend == SYMBOLIC:
                return _symbolic_call(call, rule, args, kwargs)
            fn = impls[backend] = getattr(dispatch.get_table(backend), impl_name, None) or _missing(
                impl_name, backend)
        if not kwargs and dispatch.types_fix_backend(args):
            by_types[tuple(map(type, args))] = fn
        return fn(*args, **kwargs)

    call.rule = rule
    call.impl_name = impl_name
    return call


def _symbolic_call(public, rule, args, kwargs):
    from unikeras.common.symbolic import Node
    out = rule(*args, **kwargs)
    Node(public, args, kwargs, out)
    return out
