"""`cached_per_shape`: memoize a shape-validation helper for eager calls, and bypass the
cache while torch traces (torch.compile, torch.export), where sizes may be symbolic and
cannot be hashed, and where dynamo would warn about an lru_cache it does not honour."""
import functools

import torch


def cached_per_shape(maxsize):
    """Decorator: `functools.lru_cache(maxsize)` outside torch's tracers."""
    def wrap(fn):
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(*args):
            if torch.compiler.is_compiling():
                return fn(*args)
            return cached(*args)
        return call
    return wrap
