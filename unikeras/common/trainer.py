"""compile / fit / evaluate / predict, written once for every backend.

The loops feed batches from a data adapter (arrays, tf.data, torch DataLoader, generators,
PyDataset) to `train_step` / `test_step` / `predict_step`, which a user may override as in
Keras; `step_functions` runs them eagerly (torch, in place) or compiled as pure functions of
the state (jax, tensorflow). Losses and metrics given per output are matched to the outputs
by `compile_utils`.
"""
import warnings

import numpy as np

from unikeras.common import compile_utils, step_functions, tree
from unikeras.common.data_adapters.helpers import (to_backend, to_numpy_structure,
                                                   unpack_x_y_sample_weight)
from unikeras.common.ops import dispatch
from unikeras.common.ops import numpy as onp
from unikeras.common.variables import StatelessScope, runtime


class Trainer:
    """Mixin giving Model its training API."""

    def __init__(self):
        self._set_untracked(optimizer=None, compiled=False, stop_training=False, history=None,
                            _step_fns={}, _loss_tracker=None, _compile_loss=None,
                            _compile_metrics=None, _initial_epoch=None, steps_per_execution=1,
                            run_eagerly=False, jit_compile="auto", loss=None,
                            _predict_backend=None, _running_backend=None,
                            _batch_logs_unread=False)

    # --- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, the loss(es) and the metrics used by fit/evaluate."""
        from unikeras.common import optimizers
        if not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"compile: steps_per_execution must be an integer >= 1, got "
                             f"{steps_per_execution!r}.")
        compile_loss = None if loss is None else compile_utils.CompileLoss(loss, loss_weights)
        if compile_loss is not None and not isinstance(loss, (dict, list, tuple)):
            from unikeras.common import losses
            losses.get(loss)   # an unknown name fails here
        compile_metrics = (compile_utils.CompileMetrics(metrics, weighted_metrics)
                           if metrics or weighted_metrics else None)
        self._set_untracked(
            optimizer=optimizers.get(optimizer), loss=loss, _compile_loss=compile_loss,
            _compile_metrics=compile_metrics, _loss_tracker=None, _part_trackers=[],
            run_eagerly=bool(run_eagerly), jit_compile=jit_compile, compiled=True,
            steps_per_execution=steps_per_execution, _step_fns={}, _ready_kinds=set())

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"Model '{self.name}' must be compiled before {what}(): call "
                               "model.compile(optimizer, loss, metrics).")

    @property
    def metrics(self):
        """The loss tracker, per-output loss trackers, then the compiled metrics."""
        out = [self._loss_tracker] if self._loss_tracker is not None else []
        out += getattr(self, "_part_trackers", [])
        if self._compile_metrics is not None and self._compile_metrics.built:
            out += self._compile_metrics.metrics
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    @property
    def output_names(self):
        return compile_utils.output_names(self)

    def _backend_name(self):
        variables = self.variables
        return variables[0].backend if variables else dispatch.current_backend()

    def _step_runtime(self):
        """The runtime of the backend a step runs on: the running loop's (see `_run`), so
        that steps do not walk the model's variables to find it, else the variables'."""
        return runtime(self._running_backend or self._backend_name())

    # --- building on the first batch -----------------------------------------------------------
    def _build_for(self, batch, kind):
        """Build the model, the compiled loss/metrics and the optimizer from a NumPy batch."""
        x, y, _ = unpack_x_y_sample_weight(batch)
        if not (self.built and self.weights):
            backend = dispatch.current_backend()
            with dispatch.backend_scope(backend):
                self(to_backend(tree.map_structure(lambda a: a[:1], x), backend))
        if kind == "predict":
            return
        with dispatch.backend_scope(self._backend_name()):
            if self._loss_tracker is None:
                self._build_losses_and_metrics(x, y)
            if kind == "train" and not getattr(self.optimizer, "built", False):
                self.optimizer.build(self.trainable_variables)

    def _build_losses_and_metrics(self, x, y):
        from unikeras.common import metrics as metrics_module
        from unikeras.common.symbolic import KerasTensor
        names = self.output_names
        sample = tree.map_structure(lambda a: KerasTensor((None,) + tuple(a.shape[1:]), a.dtype), x)
        y_pred = self.compute_output_spec(sample)
        if len(tree.flatten(y_pred)) != len(names):
            names = [f"output_{i}" for i in range(len(tree.flatten(y_pred)))]
        if self._compile_loss is not None and y is not None:
            self._compile_loss.build(names, y, y_pred)
        if self._compile_metrics is not None and y is not None:
            self._compile_metrics.build(names, y, y_pred)
        parts = []
        if self._compile_loss is not None and self._compile_loss.built and len(names) > 1:
            parts = [metrics_module.Mean(name=f"{n}_loss")
                     for n, fn in zip(names, self._compile_loss.losses) if fn is not None]
        self._set_untracked(_loss_tracker=metrics_module.Mean(name="loss"), _part_trackers=parts)

    # --- the steps a user may override ---------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus `self.losses` (add_loss, activity and weight penalties)."""
        loss = None
        if self._compile_loss is not None and y is not None:
            loss = self._compile_loss(y, y_pred, sample_weight)
        for value in self.losses:
            loss = value if loss is None else onp.add(loss, value)
        self._clear_losses()  # read once; traced values must not outlive the step
        if loss is None:
            raise ValueError(f"Model '{self.name}': no loss to optimize; pass `loss=` to "
                             "compile() or add losses with add_loss().")
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics; returns `get_metrics_result()`."""
        self._update_compiled_metrics(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _update_compiled_metrics(self, y, y_pred, sample_weight):
        if self._compile_metrics is not None and y is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)

    def _step_logs(self, x, y, y_pred, sample_weight):
        """What the built-in steps return: `compute_metrics(...)`, except that while an
        eager loop reads no logs of the batch (`_batch_logs_unread`, see `_run`) and
        `compute_metrics` is this class's, the metrics are only updated (no `result()` per
        batch) and None is returned."""
        if self._batch_logs_unread and not _overrides(self, "compute_metrics"):
            self._update_compiled_metrics(y, y_pred, sample_weight)
            return None
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def get_metrics_result(self):
        """Each metric's current result (backend scalars), by name."""
        return {m.name: m.result() for m in self.metrics}

    def _track_loss(self, loss, parts, x):
        batch = _batch_size(tree.flatten(x)[0])
        self._loss_tracker.update_state(loss, sample_weight=batch)
        for tracker, value in zip(self._part_trackers, parts or []):
            tracker.update_state(value, sample_weight=batch)

    def _loss_and_gradients(self, x, y, sample_weight, trainable, rt):
        """(loss, y_pred, grads, loss parts) for the `trainable` variables, on runtime `rt`;
        non-trainable updates made by the forward pass (moving statistics, seeds) are
        assigned."""
        non_trainable = self.non_trainable_variables
        scale = getattr(self.optimizer, "scale_loss", None)

        def loss_fn(values, x, y, sample_weight):
            with StatelessScope(dict(zip(trainable, values))) as inner:
                y_pred = self(x, training=True)
                loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
            parts = self._compile_loss.pop_parts() if self._compile_loss is not None else None
            new_nt = [inner.values.get(v) for v in non_trainable]
            scaled = scale(loss) if scale is not None else loss
            return scaled, (loss, y_pred, new_nt, parts)

        values = [v.value for v in trainable]
        (_, (loss, y_pred, new_nt, parts)), grads = rt.value_and_grad(loss_fn)(
            values, x, y, sample_weight)
        updates = [(v, new) for v, new in zip(non_trainable, new_nt) if new is not None]
        if updates:
            with rt.no_grad():
                for v, new in updates:
                    v.assign(new)
        return loss, y_pred, grads, parts

    def train_step(self, data):
        """One optimization step on a batch `(x, y, sample_weight)`; returns the logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        rt, trainable = self._step_runtime(), self.trainable_variables
        loss, y_pred, grads, parts = self._loss_and_gradients(x, y, sample_weight, trainable, rt)
        with rt.no_grad():
            self.optimizer.apply(grads, trainable)
            self._track_loss(loss, parts, x)
            return self._step_logs(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """Loss and metrics on a batch, no update; returns the logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with self._step_runtime().no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
            parts = self._compile_loss.pop_parts() if self._compile_loss is not None else None
            self._track_loss(loss, parts, x)
            return self._step_logs(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs for a batch."""
        x, _, _ = unpack_x_y_sample_weight(data)
        with self._step_runtime().no_grad():
            return self(x, training=False)

    # --- running steps -------------------------------------------------------------------------
    def _step_fn(self, kind):
        fns = self._step_fns
        if kind not in fns:
            fns[kind] = step_functions.make_step_function(
                self, kind, self._backend_name(), self.run_eagerly, self.steps_per_execution,
                self.jit_compile)
        return fns[kind]

    def _executions(self, adapter, kind):
        """Groups of up to steps_per_execution NumPy batches; builds on the first batch."""
        group, k = [], self.steps_per_execution if kind != "predict" else 1
        for batch in adapter.get_numpy_iterator():
            if not self._built_for(kind):
                self._build_for(batch, kind)
            group.append(batch)
            if len(group) == k:
                yield group
                group = []
        if group:
            yield group

    def _built_for(self, kind):
        """Whether the model (and for train/test the loss, metrics, optimizer) is built;
        remembered, so the per-batch check costs a set lookup."""
        ready = self.__dict__.setdefault("_ready_kinds", set())
        if kind in ready:
            return True
        built = self.built and bool(self.weights)
        if built and kind != "predict":
            built = self._loss_tracker is not None and (
                kind != "train" or getattr(self.optimizer, "built", False))
        if built:
            ready.add(kind)
        return built

    def _run(self, kind, group, backend, logs_read=True):
        """Run the `kind` step on a group of NumPy batches, as `backend` tensors, in
        `backend`'s scope. While it runs, the step methods find the backend in
        `_running_backend`, and `_batch_logs_unread` tells them that the loop reads no logs
        of this batch (`logs_read=False`: no callback reads batch logs), so that the
        built-in step, run eagerly, skips the per-batch `result()` of the metrics (see
        `_step_logs`). Compiled steps are traced once for every loop, so they always compute
        their logs."""
        batches = [to_backend(b, backend) for b in group]
        outer = self._running_backend, self._batch_logs_unread
        unread = (not logs_read and step_functions.runs_eagerly(backend, self.run_eagerly)
                  and not _overrides(self, f"{kind}_step"))   # an override may read them
        self._set_untracked(_running_backend=backend, _batch_logs_unread=unread)
        try:
            with dispatch.backend_scope(backend):
                return self._step_fn(kind)(batches)
        finally:
            self._set_untracked(_running_backend=outer[0], _batch_logs_unread=outer[1])

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # --- public loops -------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` over arrays, tensors, datasets or generators; returns History."""
        from unikeras.common import data_adapters
        from unikeras.common.callbacks import CallbackList, pythonify_logs
        self._require_compiled("fit")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_adapters.train_validation_split(
                (x, y, sample_weight), validation_split)
        train = data_adapters.get_data_adapter(
            x, y, sample_weight, batch_size=batch_size, steps_per_epoch=steps_per_epoch,
            shuffle=shuffle, class_weight=class_weight)
        val = None
        if validation_data is not None:
            vx, vy, vsw = data_adapters.unpack_x_y_sample_weight(validation_data)
            val = data_adapters.get_data_adapter(
                vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                steps_per_epoch=validation_steps, shuffle=False)
        verbose = 1 if verbose == "auto" else verbose
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=epochs, steps=train.num_batches)
        self.stop_training = False
        self._set_untracked(_initial_epoch=None)
        if not self._built_for("train"):   # callbacks may restore weights and optimizer state
            self._build_for(train.peek(), "train")
        callbacks.on_train_begin()
        start = self._initial_epoch if self._initial_epoch is not None else initial_epoch
        batch_logs = callbacks.wants("on_train_batch_end")
        backend = self._backend_name()
        logs = {}
        for epoch in range(start, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            train.on_epoch_begin()
            step = 0
            for group in self._executions(train, "train"):
                callbacks.on_train_batch_begin(step)
                step_logs = self._run("train", group, backend, logs_read=batch_logs)
                step += len(group)
                callbacks.on_train_batch_end(step - 1, step_logs if batch_logs else None)
                if self.stop_training:
                    break
            train.on_epoch_end()
            if step == 0:   # the source ran dry (the adapter has warned): nothing to report
                break
            logs = pythonify_logs(self.get_metrics_result())
            _warn_if_nan(logs, epoch)
            if val is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_adapter(val, callbacks)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training or train.exhausted:
                break
        callbacks.on_train_end(logs)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics over the data; a scalar, a list, or a dict (return_dict)."""
        from unikeras.common import data_adapters
        from unikeras.common.callbacks import CallbackList
        self._require_compiled("evaluate")
        if kwargs:
            raise ValueError(f"evaluate: arguments not recognized: {sorted(kwargs)}.")
        adapter = data_adapters.get_data_adapter(x, y, sample_weight, batch_size=batch_size,
                                                 steps_per_epoch=steps, shuffle=False)
        verbose = 1 if verbose == "auto" else verbose
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                 epochs=1, steps=adapter.num_batches)
        logs = self._evaluate_adapter(adapter, callbacks)
        return logs if return_dict else _as_list(logs, self.metrics_names)

    def _evaluate_adapter(self, adapter, callbacks):
        from unikeras.common.callbacks import pythonify_logs
        self.reset_metrics()
        callbacks.on_test_begin()
        batch_logs = callbacks.wants("on_test_batch_end")
        step, backend = 0, None
        for group in self._executions(adapter, "test"):
            backend = backend or self._backend_name()
            callbacks.on_test_batch_begin(step)
            step_logs = self._run("test", group, backend, logs_read=batch_logs)
            step += len(group)
            callbacks.on_test_batch_end(step - 1, step_logs if batch_logs else None)
        logs = pythonify_logs(self.get_metrics_result())
        callbacks.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for `x` as NumPy arrays (the model's output structure)."""
        from unikeras.common import data_adapters
        from unikeras.common.callbacks import CallbackList
        adapter = data_adapters.get_data_adapter(x, batch_size=batch_size, steps_per_epoch=steps,
                                                 shuffle=False)
        verbose = 1 if verbose == "auto" else verbose
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                 epochs=1, steps=adapter.num_batches)
        outputs, backend = [], None
        callbacks.on_predict_begin()
        for i, group in enumerate(self._executions(adapter, "predict")):
            backend = backend or self._backend_name()
            callbacks.on_predict_batch_begin(i)
            out = self._run("predict", group, backend)
            outputs.append(tree.map_structure(_to_numpy, out))
            callbacks.on_predict_batch_end(i, {"outputs": out})
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError(f"Model '{self.name}': predict got no data.")
        flat = [tree.flatten(o) for o in outputs]
        return tree.pack_sequence_as(outputs[0], [np.concatenate(parts) for parts in zip(*flat)])

    # --- single batches ------------------------------------------------------------------------
    def _one_batch(self, kind, x, y=None, sample_weight=None, class_weight=None):
        from unikeras.common import data_adapters
        size = tree.flatten(x)[0].shape[0]
        adapter = data_adapters.get_data_adapter(x, y, sample_weight, batch_size=size,
                                                 shuffle=False, class_weight=class_weight)
        batch = next(iter(adapter.get_numpy_iterator()))
        if not self._built_for(kind):
            self._build_for(batch, kind)
        return self._run(kind, [batch], self._backend_name())

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimization step on exactly this batch; the metrics keep accumulating."""
        from unikeras.common.callbacks import pythonify_logs
        self._require_compiled("train_on_batch")
        logs = pythonify_logs(self._one_batch("train", x, y, sample_weight, class_weight))
        return logs if return_dict else _as_list(logs, self.metrics_names)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        from unikeras.common.callbacks import pythonify_logs
        self._require_compiled("test_on_batch")
        logs = pythonify_logs(self._one_batch("test", x, y, sample_weight))
        return logs if return_dict else _as_list(logs, self.metrics_names)

    def predict_on_batch(self, x):
        """The outputs for one batch, as NumPy arrays. Lean: no data adapter, no callbacks,
        so that small-batch serving costs little more than the forward pass."""
        if not self._built_for("predict"):
            self._build_for((to_numpy_structure(x),), "predict")
        backend = self._predict_backend
        if backend is None:
            backend = self._backend_name()
            self._set_untracked(_predict_backend=backend)
        batch = to_backend(x if isinstance(x, np.ndarray) else to_numpy_structure(x), backend)
        fast = self._fast_inference(backend, batch)
        if fast:
            out = fast(batch)
            return _to_numpy(out) if not tree.is_nested(out) else tree.map_structure(_to_numpy, out)
        with dispatch.backend_scope(backend):
            out = self._step_fn("predict")([(batch,)])
        return tree.map_structure(_to_numpy, out)

    def _fast_inference(self, backend, batch):
        """The runtime's lean inference callable (torch: the model's to_torch module), used
        for a single input tensor when predict_step is not overridden; else None."""
        if tree.is_nested(batch) or type(self).predict_step is not Trainer.predict_step:
            return None
        fast = self.__dict__.get("_inference_fn")
        if fast is None:
            maker = getattr(runtime(backend), "inference_function", None)
            fast = maker(self) if maker is not None else False
            self._set_untracked(_inference_fn=fast)
        return fast


def _overrides(model, name):
    """Whether `model` replaces Trainer's method `name` (in its class or on itself)."""
    return name in vars(model) or getattr(type(model), name) is not getattr(Trainer, name)


def _batch_size(leaf):
    """The batch size of a tensor: a Python int when static, else a scalar tensor (a tf
    step is traced with the batch dimension unknown)."""
    size = leaf.shape[0]
    if size is not None:
        return size
    return onp.size(leaf[(slice(None),) + (0,) * (len(leaf.shape) - 1)])


def _to_numpy(t):
    from unikeras.common.ops import core
    return None if t is None else core.convert_to_numpy(t)


def _as_list(logs, names):
    values = [logs[n] for n in names if n in logs] + [v for k, v in logs.items() if k not in names]
    return values[0] if len(values) == 1 else values


def _warn_if_nan(logs, epoch):
    loss = logs.get("loss")
    if isinstance(loss, float) and not np.isfinite(loss):
        warnings.warn(f"fit: the training loss is {loss} in epoch {epoch + 1}; the weights are "
                      "no longer meaningful (lower the learning rate, check the data for "
                      "NaN/inf, or pass callbacks.TerminateOnNaN() to stop at the first bad "
                      "batch).", RuntimeWarning, stacklevel=3)


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        if freq < 1:
            raise ValueError(f"fit: validation_freq must be >= 1, got {freq}.")
        return (epoch + 1) % freq == 0
    if isinstance(freq, (list, tuple, set)):
        return epoch + 1 in freq
    raise ValueError(f"fit: validation_freq must be an int or a list of epochs, got {freq!r}.")

