"""Data adapters: every source's batches (values, order, partial batches, structures),
shuffling, steps_per_epoch, class weights, PyDataset parallel loading, error messages; the
array semantics also checked against Keras 3's own adapters."""
import os
import random
import threading
import time
import warnings

import numpy as np
import pytest

import unikeras as uk
from unikeras.common import data_adapters as da
from unikeras.common.seed_generator import draw_seed
from tests import keras_oracle
from tests.conftest import FRAMEWORKS, to_backend


def epoch(adapter):
    """One epoch's batches, with on_epoch_begin/end around it as the trainer calls them."""
    adapter.on_epoch_begin()
    batches = list(adapter.get_numpy_iterator())
    adapter.on_epoch_end()
    return batches


def first_values(batches):
    """The first column of x in each batch (x is an array with the sample index there)."""
    return [b[0][:, 0].tolist() for b in batches]


def indexed(n, width=2):
    """x[i] = [i, i + 0.5, ...] so batches show which samples they hold; y[i] = i % 3."""
    x = np.arange(n, dtype="float32")[:, None] + 0.5 * np.arange(width, dtype="float32")
    return x, (np.arange(n) % 3).astype("int32")


def quiet_epoch(adapter):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ran out of data" warning expected
        return epoch(adapter)


# --- arrays --------------------------------------------------------------------------------
def test_array_batches_keep_structure_order_and_partial_batch():
    x, y = indexed(10)
    xs = {"a": x, "b": x[:, :1] * 10}
    ys = (y, y.astype("float32") * 2)
    sw = np.linspace(0.1, 1.0, 10).astype("float32")
    adapter = da.get_data_adapter(xs, ys, sample_weight=sw, batch_size=4)
    assert (adapter.num_batches, adapter.batch_size) == (3, 4)
    assert adapter.has_partial_batch and adapter.partial_batch_size == 2
    for _ in range(2):  # a second pass gives the same batches
        batches = quiet_epoch(adapter)
        assert len(batches) == 3
        for i, (bx, by, bsw) in enumerate(batches):
            index = np.arange(i * 4, min(i * 4 + 4, 10))
            assert isinstance(bx, dict) and sorted(bx) == ["a", "b"]
            np.testing.assert_array_equal(bx["a"], x[index])
            np.testing.assert_array_equal(bx["b"], x[index, :1] * 10)
            assert isinstance(by, tuple) and len(by) == 2
            np.testing.assert_array_equal(by[0], y[index])
            np.testing.assert_array_equal(by[1], y[index] * 2.0)
            # one sample_weight array for two outputs applies to each of them
            assert isinstance(bsw, tuple)
            for w in bsw:
                np.testing.assert_array_equal(w, sw[index])
    np.testing.assert_array_equal(adapter.peek()[0]["a"], x[:4])

    full = da.get_data_adapter(x, batch_size=5)  # no partial batch; y/sw None
    assert not full.has_partial_batch and full.partial_batch_size == 0
    assert [(b[1], b[2]) for b in epoch(full)] == [(None, None)] * 2
    assert da.get_data_adapter(x).batch_size == 32  # default
    assert da.get_data_adapter(x, steps_per_epoch=3).batch_size == 4  # ceil(10 / 3)


def test_framework_tensors_become_numpy():
    x, y = indexed(6)
    for backend in FRAMEWORKS:
        adapter = da.get_data_adapter([to_backend(x, backend), to_backend(x * 2, backend)],
                                      to_backend(y, backend), batch_size=4)
        (bx, by, _), (bx2, by2, _) = epoch(adapter)
        assert isinstance(bx, list) and all(isinstance(a, np.ndarray) for a in bx), backend
        np.testing.assert_array_equal(bx[1], x[:4] * 2)
        np.testing.assert_array_equal(by2, y[4:])


def test_shuffle_is_a_reproducible_permutation():
    x, y = indexed(23)

    def orders(shuffle, seed):
        adapter = da.get_data_adapter(x, y, batch_size=5, shuffle=shuffle, seed=seed)
        passes = []
        for _ in range(3):
            batches = epoch(adapter)
            for bx, by, _ in batches:  # x and y stay paired
                np.testing.assert_array_equal(by, bx[:, 0].astype(int) % 3)
            assert [len(b[0]) for b in batches] == [5, 5, 5, 5, 3]
            passes.append(first_values(batches))
        return passes

    passes = orders(True, seed=3)
    for p in passes:
        assert sorted(v for b in p for v in b) == list(range(23))
    assert passes[0] != passes[1] != passes[2]  # a new permutation each pass
    assert orders(True, seed=3) == passes and orders(True, seed=4) != passes
    # "batch": each batch keeps its samples, permuted inside
    for p in orders("batch", seed=5) + orders("BATCH", seed=5):
        assert [sorted(b) for b in p] == [list(range(i, min(i + 5, 23))) for i in range(0, 23, 5)]
    assert any(b != sorted(b) for p in orders("batch", seed=5) for b in p)
    assert orders(False, seed=1)[0] == [list(range(i, min(i + 5, 23))) for i in range(0, 23, 5)]
    # seed=None draws from the global seed: reproducible after set_random_seed
    uk.utils.set_random_seed(11)
    a = orders(True, seed=None)
    uk.utils.set_random_seed(11)
    assert orders(True, seed=None) == a
    uk.utils.set_random_seed(11)
    expected_draw = draw_seed()
    uk.utils.set_random_seed(11)
    da.get_data_adapter(x, shuffle=False)  # not shuffling spends no global draw
    assert draw_seed() == expected_draw


def test_set_random_seed_seeds_python_numpy_frameworks_and_unikeras():
    import tensorflow as tf
    import torch

    def draws():
        return (random.random(), float(np.random.rand()), float(torch.rand(1)),
                float(tf.random.uniform(())), draw_seed())
    uk.utils.set_random_seed(123)
    first = draws()
    uk.utils.set_random_seed(123)
    assert draws() == first
    uk.utils.set_random_seed(124)
    assert all(a != b for a, b in zip(draws(), first))


def test_steps_per_epoch_continues_the_pass_across_epochs():
    x, _ = indexed(10)
    adapter = da.get_data_adapter(x, batch_size=2, steps_per_epoch=3)  # 5 batches per pass
    assert adapter.num_batches == 3
    assert first_values(quiet_epoch(adapter)) == [[0, 1], [2, 3], [4, 5]]
    with pytest.warns(UserWarning, match=r"ran out of data after 2 batches.*steps_per_epoch=3"):
        assert first_values(epoch(adapter)) == [[6, 7], [8, 9]]
    assert not adapter.exhausted  # arrays restart: the next epoch is a new pass
    assert first_values(quiet_epoch(adapter)) == [[0, 1], [2, 3], [4, 5]]
    exact = da.get_data_adapter(x, batch_size=2, steps_per_epoch=5)
    for _ in range(2):
        assert first_values(quiet_epoch(exact)) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]


# --- class weights -------------------------------------------------------------------------
def test_class_weight_times_sample_weight():
    x, y = indexed(9)                          # classes 0, 1, 2, 0, 1, 2, ...
    weights = {0: 2.0, 2: 0.5}                 # class 1 is missing: weight 1
    per_class = np.array([2.0, 1.0, 0.5])
    sw = np.arange(1, 10, dtype="float32")
    expected = per_class[y]
    one_hot = np.eye(3, dtype="float32")[y]
    for targets in (y, y[:, None].astype("float32"), one_hot):
        adapter = da.get_data_adapter(x, targets, batch_size=4, class_weight=weights)
        got = np.concatenate([b[2] for b in epoch(adapter)])
        np.testing.assert_array_equal(got, expected)
        with_sw = da.get_data_adapter(x, targets, sample_weight=sw, batch_size=4,
                                      class_weight=weights)
        np.testing.assert_array_equal(np.concatenate([b[2] for b in epoch(with_sw)]),
                                      expected * sw)
    # shuffled batches keep each sample's weight with it
    shuffled = da.get_data_adapter(x, y, batch_size=4, shuffle=True, class_weight=weights, seed=0)
    for bx, by, bsw in epoch(shuffled):
        np.testing.assert_array_equal(bsw, per_class[bx[:, 0].astype(int) % 3])
    with pytest.raises(ValueError, match="single output.*tuple of 2"):
        da.get_data_adapter(x, (y, y), class_weight=weights)
    with pytest.raises(ValueError, match="needs targets"):
        da.get_data_adapter(x, class_weight=weights)
    with pytest.raises(TypeError, match="must be a dict"):
        da.get_data_adapter(x, y, class_weight=[1.0, 2.0])


# --- generators ----------------------------------------------------------------------------
def batch_generator(count, size=2):
    for i in range(count):
        x = np.full((size, 1), i, dtype="float32")
        yield x, np.full((size,), i * 10)


def test_generator_element_forms_and_structures():
    x = np.ones((2, 3), "float32")
    y, sw = np.zeros((2,)), np.full((2,), 0.5)
    elements = [x, (x,), [x, y], (x, y), (x, y, sw), ({"in": x}, {"out": y}), {"in": x}]
    for element in elements:
        (bx, by, bsw), = epoch(da.get_data_adapter(iter([element])))
        ex, ey, esw = da.unpack_x_y_sample_weight(element)
        for got, want in ((bx, ex), (by, ey), (bsw, esw)):
            if isinstance(want, dict):
                assert isinstance(got, dict) and sorted(got) == sorted(want)
                got, want = list(got.values())[0], list(want.values())[0]
            if want is None:
                assert got is None
            else:
                np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="tuple of 4 elements"):
        epoch(da.get_data_adapter(iter([(x, y, sw, sw)])))


def test_generator_epochs_continue_and_exhaust():
    adapter = da.get_data_adapter(batch_generator(7), steps_per_epoch=3)
    assert adapter.num_batches == 3 and adapter.batch_size is None
    np.testing.assert_array_equal(adapter.peek()[0], np.zeros((2, 1)))  # not used up
    assert [b[1][0] for b in quiet_epoch(adapter)] == [0, 10, 20]
    assert [b[1][0] for b in quiet_epoch(adapter)] == [30, 40, 50]
    with pytest.warns(UserWarning, match="after 1 batches.*no more data"):
        assert [b[1][0] for b in epoch(adapter)] == [60]
    assert adapter.exhausted

    whole = da.get_data_adapter(batch_generator(4))  # no steps: one epoch uses it all
    assert whole.num_batches is None
    assert len(quiet_epoch(whole)) == 4 and not whole.exhausted
    with pytest.warns(UserWarning, match="after 0 batches"):
        assert epoch(whole) == []
    assert whole.exhausted
    # breaking out of an epoch early leaves the generator usable
    early = da.get_data_adapter(batch_generator(4))
    for _ in early.get_numpy_iterator():
        break
    assert [b[1][0] for b in epoch(early)] == [10, 20, 30]


# --- PyDataset -----------------------------------------------------------------------------
class IndexDataset(uk.utils.PyDataset):
    """Batch i: x = [[i], [i]], y = [id of the thread and process that loaded it]. Later
    batches load faster, so parallel loads finish out of order."""

    def __init__(self, count=6, delay=0.0, **kwargs):
        super().__init__(**kwargs)
        self.count, self.delay = count, delay
        self.epochs_begun = self.epochs_ended = 0

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if index >= self.count:
            raise IndexError(index)
        time.sleep(self.delay * (self.count - index))
        return (np.full((2, 1), index, dtype="float32"),
                np.array([os.getpid(), threading.get_ident()]))

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


# Forked loaders only run NumPy code, so JAX's threads in the parent do not matter to them.
fork_with_jax_is_fine = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")


@fork_with_jax_is_fine
def test_py_dataset_threads_and_processes_give_ordered_batches():
    serial = IndexDataset()
    adapter = da.get_data_adapter(serial, batch_size=99)  # batch_size is ignored
    assert adapter.num_batches == 6 and adapter.batch_size is None
    batches = epoch(adapter)
    assert first_values(batches) == [[i, i] for i in range(6)]
    assert {tuple(b[1]) for b in batches} == {(os.getpid(), threading.get_ident())}
    epoch(adapter)
    assert serial.epochs_begun == serial.epochs_ended == 2

    for kwargs in ({"workers": 2}, {"workers": 2, "use_multiprocessing": True}):
        dataset = IndexDataset(delay=0.01, max_queue_size=4, **kwargs)
        adapter = da.get_data_adapter(dataset)
        for _ in range(2):
            batches = epoch(adapter)
            assert first_values(batches) == [[i, i] for i in range(6)], kwargs
            loaders = {tuple(b[1]) for b in batches}
            if kwargs.get("use_multiprocessing"):
                assert os.getpid() not in {pid for pid, _ in loaders}
            else:
                assert {pid for pid, _ in loaders} == {os.getpid()}
                assert len({tid for _, tid in loaders}) == 2  # both threads loaded batches
                assert threading.get_ident() not in {tid for _, tid in loaders}
        assert dataset.epochs_begun == dataset.epochs_ended == 2

    # shuffle permutes the batch order per pass, reproducibly with a seed
    def order(seed):
        adapter = da.get_data_adapter(IndexDataset(workers=2), shuffle=True, seed=seed)
        return [[b[0][0, 0] for b in epoch(adapter)] for _ in range(2)]
    assert sorted(order(1)[0]) == list(range(6)) and order(1) == order(1) != order(2)


class FailingDataset(IndexDataset):
    def __getitem__(self, index):
        if index == 3:
            raise KeyError("batch 3 is broken")
        return super().__getitem__(index)


class InfiniteDataset(uk.utils.PyDataset):
    def __init__(self):
        super().__init__(workers=2)

    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return np.full((1, 1), index), np.full((1,), index % 2)


class NoSuperDataset(uk.utils.PyDataset):
    def __init__(self):
        self.n = 2

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return {"in": np.full((1, 1), index)}


class NoLengthDataset(uk.utils.PyDataset):
    def __getitem__(self, index):
        return np.zeros((1, 1))


@fork_with_jax_is_fine
def test_py_dataset_edge_cases():
    for kwargs in ({}, {"workers": 2}, {"workers": 2, "use_multiprocessing": True}):
        with pytest.raises(KeyError, match="batch 3 is broken"):
            epoch(da.get_data_adapter(FailingDataset(**kwargs)))
    with pytest.warns(UserWarning, match="ignored for an infinite PyDataset"):
        infinite = da.get_data_adapter(InfiniteDataset(), steps_per_epoch=np.int64(3),
                                       shuffle=True, class_weight={1: 4.0})
    assert infinite.num_batches == 3
    assert [b[0][0, 0] for b in quiet_epoch(infinite)] == [0, 1, 2]
    batches = quiet_epoch(infinite)
    assert [b[0][0, 0] for b in batches] == [3, 4, 5]
    assert [b[2][0] for b in batches] == [4.0, 1.0, 4.0]
    with pytest.warns(UserWarning, match="super"):
        adapter = da.get_data_adapter(NoSuperDataset())
        batches = epoch(adapter)
    assert [b[0]["in"][0, 0] for b in batches] == [0, 1] and batches[0][1] is None
    with pytest.raises(ValueError, match="NoLengthDataset must define __len__"):
        da.get_data_adapter(NoLengthDataset())
    # the steps continue across epochs also for a PyDataset
    steps = da.get_data_adapter(IndexDataset(count=4), steps_per_epoch=3)
    assert first_values(quiet_epoch(steps)) == [[0, 0], [1, 1], [2, 2]]
    with pytest.warns(UserWarning, match="after 1 batches"):
        assert first_values(epoch(steps)) == [[3, 3]]
    assert first_values(quiet_epoch(steps)) == [[0, 0], [1, 1], [2, 2]]


# --- tf.data and torch DataLoader ----------------------------------------------------------
def test_tf_dataset():
    import tensorflow as tf
    x, y = indexed(10)
    sw = np.linspace(0, 1, 10).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y, sw)).batch(4)
    adapter = da.get_data_adapter(dataset)
    assert adapter.num_batches == 3 and adapter.batch_size is None  # last batch is partial
    for _ in range(2):
        batches = quiet_epoch(adapter)
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
        np.testing.assert_array_equal(np.concatenate([b[2] for b in batches]), sw)
        assert all(isinstance(a, np.ndarray) for b in batches for a in b)
    dict_ds = tf.data.Dataset.from_tensor_slices(({"a": x}, y)).batch(5, drop_remainder=True)
    adapter = da.get_data_adapter(dict_ds, class_weight={1: 3.0})
    assert adapter.batch_size == 5
    (bx, by, bsw), _ = epoch(adapter)
    np.testing.assert_array_equal(bx["a"], x[:5])
    np.testing.assert_array_equal(bsw, np.where(y[:5] == 1, 3.0, 1.0))
    forever = da.get_data_adapter(tf.data.Dataset.from_tensor_slices(x).batch(3).repeat(),
                                  steps_per_epoch=3)
    assert forever.num_batches == 3 and forever._pass_batches is None
    assert first_values(quiet_epoch(forever)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert first_values(quiet_epoch(forever)) == [[9], [0, 1, 2], [3, 4, 5]]  # continues
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # fit's default shuffle=True is silently not applied
        da.get_data_adapter(dataset, shuffle=True)
    with pytest.raises(ValueError, match="tf.data.Dataset, `y` must not be given"):
        da.get_data_adapter(dataset, y)
    with pytest.raises(ValueError, match="validation_split` is only supported.*DatasetV2|Batch"):
        da.train_validation_split((dataset,), 0.2)


def test_torch_data_loader():
    import torch
    from torch.utils.data import DataLoader, IterableDataset, TensorDataset
    x, y = indexed(10)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=4)
    adapter = da.get_data_adapter(loader, batch_size=64)  # batch_size is ignored
    assert (adapter.num_batches, adapter.batch_size) == (3, 4)
    assert adapter.has_partial_batch and adapter.partial_batch_size == 2
    for _ in range(2):
        batches = quiet_epoch(adapter)
        assert [len(b[0]) for b in batches] == [4, 4, 2] and all(b[2] is None for b in batches)
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    dropped = da.get_data_adapter(DataLoader(TensorDataset(torch.from_numpy(x)), batch_size=4,
                                             drop_last=True))
    assert dropped.num_batches == 2 and dropped.partial_batch_size == 0
    assert [b[0].shape for b in epoch(dropped)] == [(4, 2), (4, 2)]

    class Stream(IterableDataset):
        def __iter__(self):
            return iter([torch.ones(3, 1, requires_grad=True)] * 2)
    stream = da.get_data_adapter(DataLoader(Stream(), batch_size=None), steps_per_epoch=3)
    assert stream._pass_batches is None
    with pytest.warns(UserWarning, match="after 2 batches"):
        assert [b[0].shape for b in epoch(stream)] == [(3, 1), (3, 1)]
    assert not stream.exhausted  # a loader restarts
    with pytest.raises(ValueError, match="torch Dataset .*TensorDataset.*DataLoader"):
        da.get_data_adapter(TensorDataset(torch.from_numpy(x)))
    with pytest.raises(ValueError, match="class_weight` is not supported .*torch DataLoader"):
        da.get_data_adapter(loader, class_weight={0: 1.0})
    with pytest.raises(ValueError, match="torch DataLoader, `sample_weight` must not"):
        da.get_data_adapter(loader, sample_weight=y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # fit's default shuffle=True: silently not applied
        da.get_data_adapter(loader, shuffle=True)


# --- errors and splitting ------------------------------------------------------------------
def test_errors_name_the_problem():
    x, y = indexed(10)
    with pytest.raises(ValueError, match="x sizes: 10; y sizes: 9"):
        da.get_data_adapter(x, y[:9])
    with pytest.raises(ValueError, match="x sizes: 10, 8; y sizes: 10; sample_weight sizes: 10"):
        da.get_data_adapter([x, x[:8]], y, sample_weight=y)
    with pytest.raises(ValueError, match="No data"):
        da.get_data_adapter(None)
    with pytest.raises(ValueError, match="Unrecognized data type for `x`: builtins.str"):
        da.get_data_adapter("data.csv")
    with pytest.raises(ValueError, match="generator, `y` must not be given"):
        da.get_data_adapter(batch_generator(2), y)
    with pytest.raises(ValueError, match="class_weight` is not supported .*generator"):
        da.get_data_adapter(batch_generator(2), class_weight={0: 2.0})
    with pytest.raises(ValueError, match="PyDataset, `sample_weight` must not"):
        da.get_data_adapter(IndexDataset(), sample_weight=y)
    with pytest.raises(ValueError, match='shuffle` must be True, False or "batch"'):
        da.get_data_adapter(x, shuffle="yes")
    for steps in (0, -1, 2.5):
        with pytest.raises(ValueError, match="steps_per_epoch` must be a positive integer"):
            da.get_data_adapter(x, steps_per_epoch=steps)
    with pytest.raises(ValueError, match="batch_size` must be a positive integer"):
        da.get_data_adapter(x, batch_size=0)
    with pytest.raises(ValueError, match="one `sample_weight` array per output"):
        da.get_data_adapter(x, (y, y), sample_weight=[y])
    with pytest.raises(ValueError, match=r"one weight per sample.*\(10, 2\)"):
        da.get_data_adapter(x, (y, y), sample_weight=x)
    with pytest.raises(ValueError, match="first \\(sample\\) dimension"):
        da.get_data_adapter(np.float32(1.0))
    for source in (batch_generator(2), IndexDataset()):
        with pytest.raises(ValueError, match="validation_split` is only supported.*"
                                             "validation_data"):
            da.train_validation_split((source, None, None), 0.2)


def test_train_validation_split_and_packing():
    x, y = indexed(10)
    (tx, ty, tsw), (vx, vy, vsw) = da.train_validation_split(({"a": x}, y), 0.25)
    np.testing.assert_array_equal(tx["a"], x[:7])   # floor(10 * 0.75) = 7
    np.testing.assert_array_equal(vy, y[7:])
    assert tsw is None and vsw is None
    for split in (0, 1, 1.5):
        with pytest.raises(ValueError, match="must be in \\(0, 1\\)"):
            da.train_validation_split((x, y), split)
    with pytest.raises(ValueError, match="empty training or validation set out of 10"):
        da.train_validation_split((x, y), 0.95)
    assert da.unpack_x_y_sample_weight([x, y])[1] is y
    assert da.unpack_x_y_sample_weight(x)[0] is x
    assert uk.utils.unpack_x_y_sample_weight((x,)) == (x, None, None)
    assert uk.utils.pack_x_y_sample_weight((x, x)) == ((x, x),)
    assert uk.utils.pack_x_y_sample_weight(x, y) == (x, y)
    assert uk.utils.Sequence is uk.utils.PyDataset


# --- Keras 3 oracle --------------------------------------------------------------------------
KERAS_CODE = r'''
from keras.src.trainers.data_adapters import get_data_adapter
from keras.src.trainers.data_adapters.array_slicing import train_validation_split
x, y = arrays["x"], arrays["y"]
def run(name, *args, **kwargs):
    a = get_data_adapter(*args, **kwargs)
    batches = list(a.get_numpy_iterator())
    result[name + "_meta"] = [a.num_batches, a.batch_size, a.partial_batch_size]
    for i, b in enumerate(batches):
        b = b if isinstance(b, tuple) else (b,)
        for j, part in enumerate(b):
            if part is not None:
                result[f"{name}_{i}_{j}"] = part
run("plain", x, y, batch_size=4)
run("steps", x, steps_per_epoch=3)
run("sparse", x, y, batch_size=4, class_weight={0: 2.0, 2: 0.5})
run("column", x, arrays["y_col"], batch_size=4, class_weight={0: 2.0, 2: 0.5})
run("onehot", x, arrays["y_hot"], batch_size=4, class_weight={0: 2.0, 2: 0.5})
train, val = train_validation_split((x, y), validation_split=0.3)
result["split"] = [len(train[0]), len(val[0])]
'''


@pytest.fixture(scope="module")
def keras_results():
    x, y = indexed(10)
    return keras_oracle.run_keras_code(KERAS_CODE, {
        "x": x, "y": y, "y_col": y[:, None].astype("float32"),
        "y_hot": np.eye(3, dtype="float32")[y]})


def test_array_adapter_matches_keras(keras_results):
    x, y = indexed(10)
    cases = {"plain": ((x, y), {"batch_size": 4}), "steps": ((x,), {"steps_per_epoch": 3})}
    for target_name, target in (("sparse", y), ("column", y[:, None].astype("float32")),
                                ("onehot", np.eye(3, dtype="float32")[y])):
        cases[target_name] = ((x, target), {"batch_size": 4, "class_weight": {0: 2.0, 2: 0.5}})
    for name, (args, kwargs) in cases.items():
        adapter = da.get_data_adapter(*args, **kwargs)
        assert keras_results[name + "_meta"] == [adapter.num_batches, adapter.batch_size,
                                                 adapter.partial_batch_size], name
        for i, batch in enumerate(epoch(adapter)):
            for j, part in enumerate(batch):
                key = f"{name}_{i}_{j}"
                if part is None:
                    assert key not in keras_results, key
                else:
                    np.testing.assert_allclose(part, keras_results[key], rtol=1e-6, err_msg=key)
    train, val = da.train_validation_split((x, y), 0.3)
    assert keras_results["split"] == [len(train[0]), len(val[0])]
