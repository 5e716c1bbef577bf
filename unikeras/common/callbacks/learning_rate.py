"""Reading and setting an optimizer's learning rate as a Python float, for the callbacks
that schedule or log it."""
from unikeras.common.callbacks.logs import to_float


def optimizers_of(model):
    """[(log key, optimizer)]: "learning_rate" for one optimizer, "learning_rate_<name>" for
    each inner optimizer of one that holds several (`optimizer.optimizers`)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return []
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    inner = getattr(optimizer, "optimizers", None)
    if inner:
        return [(f"learning_rate_{opt.name}", opt) for opt in inner]
    return [("learning_rate", optimizer)]


def get_learning_rate(optimizer):
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"Optimizer {type(optimizer).__name__} has no `learning_rate` "
                         "attribute.")
    return to_float(optimizer.learning_rate)


def add_learning_rates(logs, model):
    """Put the current learning rate(s) into `logs` (in place) and return it."""
    for key, optimizer in optimizers_of(model):
        logs[key] = get_learning_rate(optimizer)
    return logs
