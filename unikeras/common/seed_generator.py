"""SeedGenerator: random-op seeds as a state variable, so jitted steps stay pure."""
import numpy as np

from unikeras.common.variables import Variable

_global_rng = None  # made on first use: numpy.random is not loaded by `import unikeras`


def set_global_seed(seed):
    """Seed the process-wide generator used for unseeded initializers and generators."""
    global _global_rng
    _global_rng = np.random.default_rng(seed)


def draw_seed():
    """A fresh integer seed from the process-wide generator."""
    global _global_rng
    if _global_rng is None:
        _global_rng = np.random.default_rng()
    return int(_global_rng.integers(0, 2**31 - 1))


class SeedGenerator:
    """Produces a new (2,) int32 seed tensor per call of `next()`; its state is a
    non-trainable Variable that adapters host like any other state. The state is allocated
    when its layer is built (or on first use), on that backend."""

    def __init__(self, seed=None, name=None, **kwargs):
        self.name = name or "seed_generator"
        self.initial_seed = draw_seed() if seed is None else int(seed)
        self.state = Variable(np.array([self.initial_seed, 0], dtype="int32"), dtype="int32",
                              trainable=False, name="seed_generator_state", _deferred=True)

    def next(self, ordered=True):
        from unikeras.common.ops import numpy as onp
        state = self.state.value   # [seed, counter]: counter + 1, with ops a tracer follows
        seed = onp.concatenate([onp.get_item(state, slice(0, 1)),
                                onp.add(onp.get_item(state, slice(1, 2)), 1)])
        self.state.assign(seed)
        return seed

    def get_config(self):
        return {"seed": self.initial_seed}
