"""torch implementations of the random op family."""
import torch

from unikeras.adapters.torch_nn.ops import _FLOATS, _generator, _torch_dtype

__all__ = ["random_truncated_normal", "random_randint", "random_categorical", "random_shuffle",
           "random_gamma", "random_beta", "random_binomial"]

Tensor = torch.Tensor


def _sample_dtype(tdt):
    return tdt if tdt in (torch.float32, torch.float64) else torch.float32


def _param(v, dt, shape):
    v = v.to(dt) if isinstance(v, Tensor) else torch.as_tensor(v, dtype=dt)
    return v.expand(shape)


def random_truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    tdt = _torch_dtype(dtype)
    sd = tdt if tdt in _FLOATS else torch.float32
    out = torch.nn.init.trunc_normal_(torch.empty(tuple(shape), dtype=sd), 0.0, 1.0, -2.0, 2.0,
                                      generator=_generator(seed))
    out = out * stddev + mean
    return out if out.dtype is tdt else out.to(tdt)


def random_randint(shape, minval, maxval, dtype="int32", seed=None):
    tdt = _torch_dtype(dtype)
    if isinstance(minval, Tensor) or isinstance(maxval, Tensor):
        lo = minval if isinstance(minval, Tensor) else torch.as_tensor(minval)
        hi = maxval if isinstance(maxval, Tensor) else torch.as_tensor(maxval)
        u = torch.rand(tuple(shape), generator=_generator(seed), dtype=torch.float64)
        out = torch.floor(lo + u * (hi - lo)).clamp(max=hi - 1)
        return out.to(tdt)
    return torch.randint(int(minval), int(maxval), tuple(shape), generator=_generator(seed),
                         dtype=tdt)


def random_categorical(logits, num_samples, dtype="int32", seed=None):
    logits = logits if isinstance(logits, Tensor) else torch.as_tensor(logits)
    if logits.dtype not in (torch.float32, torch.float64):
        logits = logits.float()
    probs = torch.softmax(logits, dim=-1)
    out = torch.multinomial(probs, int(num_samples), replacement=True,
                            generator=_generator(seed, probs.device))
    return out.to(_torch_dtype(dtype))


def random_shuffle(x, axis=0, seed=None):
    x = x if isinstance(x, Tensor) else torch.as_tensor(x)
    axis = axis % x.ndim
    perm = torch.randperm(x.shape[axis], generator=_generator(seed, x.device), device=x.device)
    return x.index_select(axis, perm)


def random_gamma(shape, alpha, dtype=None, seed=None):
    tdt = _torch_dtype(dtype)
    sd = _sample_dtype(tdt)
    out = torch._standard_gamma(_param(alpha, sd, tuple(shape)), generator=_generator(seed))
    return out if out.dtype is tdt else out.to(tdt)


def random_beta(shape, alpha, beta, dtype=None, seed=None):
    tdt = _torch_dtype(dtype)
    sd = _sample_dtype(tdt)
    shape = tuple(shape)
    both = torch.stack([_param(alpha, sd, shape), _param(beta, sd, shape)])
    g = torch._standard_gamma(both, generator=_generator(seed))
    out = g[0] / (g[0] + g[1])
    return out if out.dtype is tdt else out.to(tdt)


def random_binomial(shape, counts, probabilities, dtype=None, seed=None):
    tdt = _torch_dtype(dtype)
    shape = tuple(shape)
    out = torch.binomial(_param(counts, torch.float32, shape).contiguous(),
                         _param(probabilities, torch.float32, shape).contiguous(),
                         generator=_generator(seed))
    return out if out.dtype is tdt else out.to(tdt)
