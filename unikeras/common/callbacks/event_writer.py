"""TensorBoard event files through a maintained writer: TensorBoard's own record writer
and protos (`tensorboard.summary.writer`, `tensorboard.compat.proto`), else tensorboardX.
Imported only when a writer is opened."""
import itertools
import os
import socket
import time

import numpy as np

INSTALL_HINT = ("The TensorBoard callback writes event files with the `tensorboard` package "
                "(or `tensorboardX`); install it with `pip install unikeras[tensorboard]`.")
HISTOGRAM_BUCKETS = 30   # as tf.summary.histogram


def open_event_writer(logdir):
    """An event writer for folder `logdir` with `scalar`, `histogram`, `flush`, `close`."""
    try:
        return _TensorBoardWriter(logdir)
    except ImportError:
        pass
    try:
        return _TensorBoardXWriter(logdir)
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


_file_numbers = itertools.count()


class _TensorBoardWriter:
    """Summaries as TensorBoard's protos, framed by its RecordWriter into a local
    `events.out.tfevents.*` file. (Its EventFileWriter would do the same through
    `tf.io.gfile`, which imports TensorFlow whenever it is installed: seconds per process.)"""

    def __init__(self, logdir):
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter
        self._event, self._summary = event_pb2.Event, summary_pb2
        os.makedirs(logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_file_numbers)}")
        self._writer = RecordWriter(open(os.path.join(logdir, name), "wb"))
        self._write(self._event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event):
        self._writer.write(event.SerializeToString())

    def _add(self, step, value):
        summary = self._summary.Summary(value=[value])
        self._write(self._event(wall_time=time.time(), step=int(step), summary=summary))

    def scalar(self, tag, value, step):
        self._add(step, self._summary.Summary.Value(tag=tag, simple_value=float(value)))

    def histogram(self, tag, values, step):
        values = np.asarray(values, dtype=np.float64).ravel()
        counts, edges = np.histogram(values, bins=HISTOGRAM_BUCKETS)
        histo = self._summary.HistogramProto(
            min=float(values.min()), max=float(values.max()), num=float(values.size),
            sum=float(values.sum()), sum_squares=float(np.dot(values, values)),
            bucket_limit=edges[1:].tolist(), bucket=counts.astype(np.float64).tolist())
        self._add(step, self._summary.Summary.Value(tag=tag, histo=histo))

    def flush(self):
        self._writer.flush()

    def close(self):
        if not self._writer.closed:
            self._writer.close()


class _TensorBoardXWriter:
    """tensorboardX's SummaryWriter, for environments that have it but not tensorboard."""

    def __init__(self, logdir):
        from tensorboardX import SummaryWriter
        self._writer = SummaryWriter(logdir)

    def scalar(self, tag, value, step):
        self._writer.add_scalar(tag, float(value), global_step=int(step))

    def histogram(self, tag, values, step):
        self._writer.add_histogram(tag, np.asarray(values, dtype=np.float64), global_step=int(step))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()
