"""Running a sweep's points on a :class:`concurrent.futures.Executor`.

The points go to a local process pool (the default) or to Dask distributed through
``Client.get_executor()``: a cluster at a scheduler address, or a ``LocalCluster`` started
for the run. Both are plain ``Executor``\\ s here; there is no scheduling of our own.

Resuming needs no bookkeeping of its own: every finished stage of every point is in the
result cache (see :mod:`hwgen.dse.evaluate`), so a rerun of an interrupted sweep finds the
finished points there and computes only the rest. Within one run, a local worker that dies
(``BrokenProcessPool``) costs only the points that were running: a new pool takes the
unfinished points, up to ``restarts`` times.
"""
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import pathlib
import signal
from concurrent.futures.process import BrokenProcessPool

from hwgen.dse.evaluate import Task, evaluate

__all__ = ["EXECUTORS", "Interrupted", "SchedulerError", "open_executor", "run_points"]

EXECUTORS = ("local", "dask")
SCHEDULER_TIMEOUT = 20


class SchedulerError(Exception):
    """The Dask scheduler given by address cannot be reached."""


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C); ``results`` holds the points that had finished, of
    ``total``."""

    def __init__(self, results, total):
        self.results, self.total = results, total
        self.out_dir = None  # where the outputs went, once written
        super().__init__(f"interrupted after {len(results)} of {total} points finished; their "
                         f"results are in the cache, so running the sweep again resumes from "
                         f"there")


def _ignore_interrupts():
    # Ctrl-C goes to the whole process group. Workers (and the tools they start, which
    # inherit an ignored signal) finish their point so that its result reaches the cache;
    # the main process stops handing out new points.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def open_executor(kind="local", *, workers=None, scheduler=None):
    """An ``Executor`` for ``kind`` (``"local"`` or ``"dask"``), shut down on exit."""
    if kind == "local":
        if scheduler:
            raise ValueError("a scheduler address is only used with the dask executor")
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_ignore_interrupts) as pool:
            yield pool
        return
    if kind != "dask":
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {kind!r}")
    from distributed import Client, LocalCluster
    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(Client(scheduler, timeout=SCHEDULER_TIMEOUT))
            except (OSError, TimeoutError) as error:
                raise SchedulerError(f"--scheduler: cannot reach the Dask scheduler at "
                                     f"{scheduler} within {SCHEDULER_TIMEOUT} s "
                                     f"({type(error).__name__})") from None
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        yield client.get_executor()


def run_points(tasks, *, executor="local", workers=None, scheduler=None, function=evaluate,
               restarts=3, progress=None):
    """Evaluate every :class:`~hwgen.dse.evaluate.Task`; return their results by index.

    ``function`` is what runs each task (:func:`~hwgen.dse.evaluate.evaluate`; tests pass
    stand-ins). ``progress(result)`` is called in the main process as each point finishes.
    A point whose worker raised gets a ``failed`` result with the exception's text.
    """
    results = {}
    pending = list(tasks)
    for _ in range(restarts + 1):
        broken = interrupted = False

        def collect(future, task, report=True):
            nonlocal broken
            try:
                result = future.result()
            except BrokenProcessPool:
                broken = True
                return
            except Exception as error:  # noqa: BLE001 - a worker's error is the point's
                result = {"index": task.index, "status": "failed", "cached": False,
                          "figures": {}, "error": f"{type(error).__name__}: {error}"}
            results[task.index] = result
            if progress and report:
                progress(result)

        with open_executor(executor, workers=workers, scheduler=scheduler) as pool:
            futures = {pool.submit(function, task): task for task in pending}
            try:
                for future in concurrent.futures.as_completed(futures):
                    collect(future, futures[future])
            except KeyboardInterrupt:
                # Points not yet started are dropped; running ones finish into the cache
                # while the executor shuts down (leaving this block waits for them).
                interrupted = True
                for future in futures:
                    future.cancel()
        if interrupted:
            for future, task in futures.items():
                if task.index not in results and future.done() and not future.cancelled():
                    collect(future, task, report=False)
            raise Interrupted(results, len(tasks))
        pending = [task for task in pending if task.index not in results]
        if not broken or not pending:
            break
    for task in pending:
        results[task.index] = {
            "index": task.index, "status": "failed", "cached": False, "figures": {},
            "error": f"a worker process died while this point was pending, {restarts + 1} "
                     f"times (BrokenProcessPool); rerun the sweep to retry it"}
        if progress:
            progress(results[task.index])
    return results


def tasks_for(sweep, points, *, cache_dir, work_dir, retry_failed=False):
    """The :class:`~hwgen.dse.evaluate.Task` of every valid point of ``sweep``."""
    cache_dir, work_dir = pathlib.Path(cache_dir).resolve(), pathlib.Path(work_dir).resolve()
    return [Task(index=point.index, config=point.config, targets=sweep.targets,
                 cache_dir=str(cache_dir), work_dir=str(work_dir), timeout=sweep.timeout,
                 model_only=sweep.model_only, retry_failed=retry_failed)
            for point in points if point.design is not None]
