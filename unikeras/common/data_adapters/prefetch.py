"""Ordered parallel loading: `fetch(index)` for a stream of indices in threads or processes,
results in index order, at most `ahead` loads queued or running."""
import collections
import itertools

_worker_fetch = None  # the `fetch` callable of this worker process


def _init_worker(fetch):
    global _worker_fetch
    _worker_fetch = fetch


def _fetch_in_worker(index):
    return _worker_fetch(index)


def ordered_prefetch(fetch, indices, workers, use_processes, ahead):
    """A generator of `fetch(i)` for `i` in `indices` (possibly infinite), computed by
    `workers` threads or processes. A worker's exception is raised here, at its batch.
    Closing the generator cancels what is queued and stops the workers; processes get
    `fetch` (and the dataset it holds) when the generator starts, so they see its state
    of that moment."""
    from concurrent import futures
    if use_processes:
        import multiprocessing
        pool = futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(),
                                           initializer=_init_worker, initargs=(fetch,))
        call = _fetch_in_worker
    else:
        pool = futures.ThreadPoolExecutor(workers, thread_name_prefix="unikeras_prefetch")
        call = fetch
    indices = iter(indices)
    pending = collections.deque()
    try:
        for index in itertools.islice(indices, max(ahead, workers, 1)):
            pending.append(pool.submit(call, index))
        while pending:
            result = pending.popleft().result()
            for index in itertools.islice(indices, 1):
                pending.append(pool.submit(call, index))
            yield result
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
