"""In-place multi-tensor (`torch._foreach_*`) updates for eager optimizer steps on torch.

Each kernel computes Keras's formula (the one `unikeras.common.optimizers` writes with
`unikeras.ops`; Adam's regroups it into lerp/addcmul/addcdiv, equal up to rounding) on
all parameters at once. On an accelerator the step count and learning rate stay 0-d
tensors on the parameters' device (no `.item()`, no sync); on the CPU, where reading them
costs nothing, the step's rate is computed with NumPy scalars of the parameters' dtype
(the precision Keras computes it in), cheaper than tensor ops.
`apply` returns False when the inputs are not plain torch tensors of one float dtype and
device, and the caller then runs the generic per-variable code.

Large tensors are updated one at a time (all of a kernel's ops on one tensor, then the
next) so that their operands stay in cache from one op to the next; small ones share each
multi-tensor op. The arithmetic, element by element, is the same either way.
"""
import numpy as np
import torch

from unikeras.adapters.torch_nn.grad_mode import no_grad


_NUMPY_SCALARS = {torch.float32: np.float32, torch.float64: np.float64}


def _as_tensor(x, like):
    if isinstance(x, torch.Tensor):
        return x.to(device=like.device, dtype=like.dtype)
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _weight_decay(params, decayed, weight_decay, lr):
    """`p <- p - p * wd * lr` on the parameters not excluded from weight decay."""
    chosen = [p for p, d in zip(params, decayed) if d]
    if weight_decay is None or not chosen:
        return
    delta = torch._foreach_mul(chosen, weight_decay)
    torch._foreach_mul_(delta, lr)
    torch._foreach_sub_(chosen, delta)


def _sgd(params, grads, slots, lr, h):
    glr = torch._foreach_mul(grads, lr)
    if not h["momentum"]:
        torch._foreach_sub_(params, glr)
        return
    m, momentum = slots["momentum"], h["momentum"]
    torch._foreach_mul_(m, momentum)
    torch._foreach_sub_(m, glr)
    if h["nesterov"]:
        ahead = torch._foreach_mul(m, momentum)
        torch._foreach_sub_(ahead, glr)
        torch._foreach_add_(params, ahead)
    else:
        torch._foreach_add_(params, m)


def _adam_step_size(lr, step, h):
    """`lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)` at `t = step + 1`."""
    if isinstance(lr, np.floating):   # parameters on the CPU: NumPy scalars (see `apply`)
        real = type(lr)
        t, one = real(step + 1), real(1)
        return lr * np.sqrt(one - real(h["beta_2"]) ** t) / (one - real(h["beta_1"]) ** t)
    t = step.to(lr.dtype) + 1
    beta_1_power = torch.pow(h["beta_1"], t)   # a Python base: no tensor made per step
    beta_2_power = torch.pow(h["beta_2"], t)
    return lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)


def _adam(params, grads, slots, alpha, h):
    m, v = slots["momentum"], slots["velocity"]
    torch._foreach_lerp_(m, grads, 1 - h["beta_1"])           # m + (g - m) * (1 - beta_1)
    torch._foreach_mul_(v, h["beta_2"])                        # v + (g * g - v) * (1 - beta_2)
    torch._foreach_addcmul_(v, grads, grads, 1 - h["beta_2"])
    if h["amsgrad"]:
        torch._foreach_maximum_(slots["velocity_hat"], v)
        v = slots["velocity_hat"]
    denom = torch._foreach_sqrt(v)                             # p - m * alpha / (sqrt(v) + eps)
    torch._foreach_add_(denom, h["epsilon"])
    torch._foreach_div_(denom, alpha)
    torch._foreach_addcdiv_(params, m, denom, -1)


def _rmsprop(params, grads, slots, lr, h):
    rho = h["rho"]
    v = slots["velocity"]
    torch._foreach_mul_(v, rho)
    sq = torch._foreach_mul(grads, grads)
    torch._foreach_mul_(sq, 1 - rho)
    torch._foreach_add_(v, sq)
    if h["centered"]:
        a = slots["average_gradient"]
        torch._foreach_mul_(a, rho)
        torch._foreach_add_(a, torch._foreach_mul(grads, 1 - rho))
        denom = torch._foreach_sub(v, torch._foreach_mul(a, a))
        torch._foreach_add_(denom, h["epsilon"])
    else:
        denom = torch._foreach_add(v, h["epsilon"])
    torch._foreach_sqrt_(denom)
    increment = torch._foreach_mul(grads, lr)
    torch._foreach_div_(increment, denom)
    if h["momentum"] > 0:
        m = slots["momentum"]
        torch._foreach_mul_(m, h["momentum"])
        torch._foreach_add_(m, increment)
        increment = m
    torch._foreach_sub_(params, increment)


# name -> (the step's rate from (lr, step, hyper), or None for lr itself; the update)
KERNELS = {"sgd": (None, _sgd), "adam": (_adam_step_size, _adam), "rmsprop": (None, _rmsprop)}
LARGE = 1 << 16   # elements from which a tensor is updated on its own


def _chunks(params):
    """Index lists covering `params`: each large tensor alone, then all small ones."""
    small = [i for i, p in enumerate(params) if p.numel() < LARGE]
    if len(small) == len(params):
        return None   # one chunk: the lists as they are
    return [[i] for i, p in enumerate(params) if p.numel() >= LARGE] + ([small] if small else [])


def apply(name, params, grads, slots, learning_rate, step, hyper, weight_decay, decayed):
    """Update `params` and `slots` (dict of tensor lists aligned with `params`) in place
    with kernel `name`; False when the inputs do not suit a fused update."""
    kernel = KERNELS.get(name)
    if kernel is None or not params:
        return False
    first = params[0]
    if not all(isinstance(p, torch.Tensor) and p.dtype == first.dtype
               and p.device == first.device for p in params):
        return False
    if not first.is_floating_point() or not isinstance(step, torch.Tensor):
        return False
    if not all(isinstance(g, torch.Tensor) for g in grads):
        return False
    grads = [g if g.dtype == first.dtype else g.to(first.dtype) for g in grads]
    scalar = _NUMPY_SCALARS.get(first.dtype) if first.device.type == "cpu" else None
    if scalar is not None:
        # Reading a CPU scalar costs no device sync, and NumPy scalars of the parameters'
        # dtype (the precision Keras computes the rate in) cost less than tensor ops.
        lr, step = scalar(float(learning_rate)), int(step)
    else:
        lr, step = _as_tensor(learning_rate, first), step.to(first.device)
    step_rate, update = kernel
    with no_grad():
        rate = lr if step_rate is None else step_rate(lr, step, hyper)
        if isinstance(lr, np.floating):   # exact; torch's Scalar arguments take Python numbers
            lr, rate = float(lr), float(rate)
        _weight_decay(params, decayed, weight_decay, lr)
        chunks = _chunks(params)
        if chunks is None:
            update(params, grads, slots, rate, hyper)
        for chunk in chunks or ():
            pick = lambda items: [items[i] for i in chunk]  # noqa: E731
            update(pick(params), pick(grads), {k: pick(v) for k, v in slots.items()}, rate,
                   hyper)
    return True
