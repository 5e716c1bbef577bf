"""compile / fit / evaluate / predict, written once for every backend.

Each step is a pure function of the values of a list of state variables (model weights,
optimizer slots, metric accumulators, seed states): it opens a StatelessScope over those
values, runs the ordinary stateful code (model call, optimizer.apply, metric
update_state), and returns the values the scope recorded. The backend's runtime then
compiles it (`jax.jit`, `tf.function`) or runs it eagerly (torch) and writes the new
values back into the variables' native storage.
"""
import numpy as np

from unikeras.common import data as data_utils
from unikeras.common import tree
from unikeras.common.ops import dispatch
from unikeras.common.ops import numpy as onp
from unikeras.common.seed_generator import draw_seed
from unikeras.common.variables import StatelessScope, runtime


class Trainer:
    """Mixin giving Model its training API."""

    def __init__(self):
        self._set_untracked(optimizer=None, compiled=False, stop_training=False, history=None,
                            _compiled_steps={}, _loss_tracker=None, _compile_metrics=[])

    # --- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, loss and metrics used by fit/evaluate."""
        from unikeras.common import losses, optimizers
        loss_fn = losses.get(loss)
        if loss_fn is not None and not isinstance(loss_fn, losses.Loss):
            loss_fn = losses.LossFunctionWrapper(loss_fn, name=getattr(loss_fn, "__name__", None))
        self._set_untracked(
            optimizer=optimizers.get(optimizer), loss=loss, _loss_fn=loss_fn,
            _metric_specs=list(metrics or []), _loss_tracker=None, _compile_metrics=[],
            run_eagerly=run_eagerly, jit_compile=jit_compile, compiled=True, _compiled_steps={})

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"Model '{self.name}' must be compiled before {what}(): call "
                               "model.compile(optimizer, loss, metrics).")

    @property
    def metrics(self):
        return ([self._loss_tracker] if self._loss_tracker else []) + list(self._compile_metrics)

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    def _backend_name(self):
        variables = self.variables
        return variables[0].backend if variables else dispatch.current_backend()

    def _ensure_built(self, x):
        if self.built and self.weights:
            return
        backend = dispatch.current_backend()
        with dispatch.backend_scope(backend):
            self(data_utils.to_backend(data_utils.take(x, slice(0, 1)), backend))

    def _build_metrics(self, y, y_pred_spec_fn):
        if self._loss_tracker is not None:
            return
        from unikeras.common import metrics as metrics_module
        with dispatch.backend_scope(self._backend_name()):
            tracker = metrics_module.Mean(name="loss")
            resolved = [self._resolve_metric(m, y, y_pred_spec_fn, metrics_module)
                        for m in self._metric_specs]
        self._set_untracked(_loss_tracker=tracker, _compile_metrics=resolved)

    def _resolve_metric(self, spec, y, y_pred_spec_fn, metrics_module):
        if spec in ("accuracy", "acc"):
            y_pred_shape = y_pred_spec_fn()
            y_true = tree.flatten(y)[0]
            if y_pred_shape[-1] == 1:
                cls = metrics_module.BinaryAccuracy
            elif y_true.ndim == len(y_pred_shape) and y_true.shape[-1] == y_pred_shape[-1]:
                cls = metrics_module.CategoricalAccuracy
            else:
                cls = metrics_module.SparseCategoricalAccuracy
            return cls(name=spec)
        return metrics_module.get(spec)

    def _output_shape_fn(self, x):
        def compute():
            from unikeras.common.symbolic import KerasTensor
            sample = tree.map_structure(lambda a: KerasTensor((None,) + a.shape[1:], a.dtype), x)
            return tree.flatten(self.compute_output_spec(sample))[0].shape
        return compute

    # --- the pure steps -----------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Compiled loss plus `self.losses` (add_loss, activity and weight penalties)."""
        loss = self._loss_fn(y, y_pred, sample_weight)
        extra = self.losses
        self._clear_losses()  # read once; traced values must not outlive the step
        for value in extra:
            loss = onp.add(loss, value)
        return loss

    def _train_state(self):
        return (self.trainable_variables + self.non_trainable_variables + self.optimizer.variables
                + self.metrics_variables)

    def _make_train_step(self, rt):
        trainable = self.trainable_variables
        non_trainable = self.non_trainable_variables
        state = self._train_state()

        def loss_fn(trainable_values, x, y, sw):
            with StatelessScope(dict(zip(trainable, trainable_values))) as inner:
                y_pred = self(x, training=True)
                loss = self.compute_loss(x, y, y_pred, sw)
            new_non_trainable = [inner.values.get(v) for v in non_trainable]
            return loss, (y_pred, new_non_trainable)

        grad_fn = rt.value_and_grad(loss_fn)

        def step(values, x, y, sw):
            with StatelessScope(dict(zip(state, values))) as scope:
                (loss, (y_pred, new_nt)), grads = grad_fn([scope.values[v] for v in trainable], x, y, sw)
                with rt.no_grad():
                    for v, new in zip(non_trainable, new_nt):
                        if new is not None:
                            v.assign(new)
                    self.optimizer.apply(grads, trainable)
                    self._update_metrics(loss, y, y_pred, sw)
            return [scope.values[v] for v in state], None

        return rt.compile_step(step, state)

    def _update_metrics(self, loss, y, y_pred, sw):
        self._loss_tracker.update_state(loss)
        for m in self._compile_metrics:
            m.update_state(y, y_pred, sample_weight=sw)

    def _make_test_step(self, rt):
        state = self.variables + self.metrics_variables

        def step(values, x, y, sw):
            with StatelessScope(dict(zip(state, values))) as scope:
                with rt.no_grad():
                    y_pred = self(x, training=False)
                    loss = self.compute_loss(x, y, y_pred, sw, training=False)
                    self._update_metrics(loss, y, y_pred, sw)
            return [scope.values[v] for v in state], None

        return rt.compile_step(step, state)

    def _make_predict_step(self, rt):
        state = self.variables

        def step(values, x):
            with StatelessScope(dict(zip(state, values))):
                with rt.no_grad():
                    y_pred = self(x, training=False)
            return values, y_pred

        return rt.compile_step(step, state)

    def _step(self, kind):
        steps = self._compiled_steps
        if kind not in steps:
            rt = runtime(self._backend_name())
            steps[kind] = getattr(self, f"_make_{kind}_step")(rt)
        return steps[kind]

    def _logs(self):
        """Metric results as backend scalars; callbacks convert them to floats only when a
        callback reads them, so steps need not wait for the device."""
        return {m.name: m.result() for m in self.metrics}

    def _reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def reset_metrics(self):
        self._reset_metrics()

    def _prepare(self, x, y, sample_weight):
        x, y, sample_weight = data_utils.to_numpy_structure((x, y, sample_weight))
        self._ensure_built(x)
        self._build_metrics(y, self._output_shape_fn(x))
        return x, y, sample_weight

    # --- public loops -------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` over NumPy (or backend tensor) data; returns a History."""
        from unikeras.common.callbacks import CallbackList, pythonify_logs
        self._require_compiled("fit")
        if y is None and isinstance(x, tuple) and len(x) in (2, 3):
            x, y, *rest = x
            sample_weight = rest[0] if rest else sample_weight
        x, y, sample_weight = self._prepare(x, y, sample_weight)
        train = (x, y, sample_weight)
        if validation_data is None and validation_split:
            train, validation_data = data_utils.split_validation(train, validation_split)
        elif validation_data is not None:
            validation_data = data_utils.to_numpy_structure(tuple(validation_data) + (None,) * (3 - len(validation_data)))
        batch_size = batch_size or 32
        with dispatch.backend_scope(self._backend_name()):
            if not getattr(self.optimizer, "built", False):
                self.optimizer.build(self.trainable_variables)
        backend = self._backend_name()
        train_step = self._step("train")
        steps = data_utils.steps_for(train, batch_size)
        verbose = 1 if verbose == "auto" else verbose
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=epochs, steps=steps)
        rng = np.random.default_rng(draw_seed())
        self.stop_training = False
        callbacks.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callbacks.on_epoch_begin(epoch)
            with dispatch.backend_scope(backend):
                batch_logs = callbacks.wants("on_train_batch_end")
                for i, batch in enumerate(data_utils.batches(train, batch_size, shuffle, rng)):
                    callbacks.on_train_batch_begin(i)
                    train_step(*data_utils.to_backend(batch, backend))
                    callbacks.on_train_batch_end(i, self._logs() if batch_logs else None)
                    if self.stop_training:
                        break
                logs = pythonify_logs(self._logs())
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self.evaluate(*validation_data[:2], sample_weight=validation_data[2],
                                         batch_size=validation_batch_size or batch_size,
                                         verbose=0, return_dict=True)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end(logs)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics over the data; a scalar, a list, or a dict (return_dict)."""
        from unikeras.common.callbacks import CallbackList, pythonify_logs
        self._require_compiled("evaluate")
        x, y, sample_weight = self._prepare(x, y, sample_weight)
        data = (x, y, sample_weight)
        batch_size = batch_size or 32
        backend = self._backend_name()
        test_step = self._step("test")
        verbose = 1 if verbose == "auto" else verbose
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                 epochs=1, steps=data_utils.steps_for(data, batch_size))
        self._reset_metrics()
        callbacks.on_test_begin()
        with dispatch.backend_scope(backend):
            batch_logs = callbacks.wants("on_test_batch_end")
            for i, batch in enumerate(data_utils.batches(data, batch_size)):
                callbacks.on_test_batch_begin(i)
                test_step(*data_utils.to_backend(batch, backend))
                callbacks.on_test_batch_end(i, self._logs() if batch_logs else None)
            logs = pythonify_logs(self._logs())
        callbacks.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[n] for n in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for `x` as NumPy arrays, computed batch by batch."""
        from unikeras.common.callbacks import CallbackList
        x = data_utils.to_numpy_structure(x)
        self._ensure_built(x)
        batch_size = batch_size or 32
        backend = self._backend_name()
        predict_step = self._step("predict")
        verbose = 1 if verbose == "auto" else verbose
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                                 epochs=1, steps=data_utils.steps_for(x, batch_size))
        table = dispatch.get_table(backend)
        outputs = []
        callbacks.on_predict_begin()
        with dispatch.backend_scope(backend):
            for i, batch in enumerate(data_utils.batches(x, batch_size)):
                callbacks.on_predict_batch_begin(i)
                out = predict_step(data_utils.to_backend(batch, backend))
                outputs.append(tree.map_structure(table.convert_to_numpy, out))
                callbacks.on_predict_batch_end(i, {"outputs": out})
        callbacks.on_predict_end()
        flat = [tree.flatten(o) for o in outputs]
        return tree.pack_sequence_as(outputs[0], [np.concatenate(parts) for parts in zip(*flat)])

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(tree.flatten(x)[0]), verbose=0)

