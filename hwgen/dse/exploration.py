"""A whole sweep: expand the points, evaluate them on an executor, write the outputs."""
import collections
import dataclasses
import pathlib
import sys
import time

from hwgen.dse import outputs
from hwgen.dse.evaluate import evaluate
from hwgen.dse.runner import Interrupted, run_points, tasks_for
from hwgen.flow.measure import DEFAULT_CACHE

__all__ = ["Exploration", "explore"]


@dataclasses.dataclass
class Exploration:
    """What a sweep produced: its records, the run's counts and the files written."""
    rows: list
    run: dict
    paths: list
    problems: list

    def summary(self):
        run = self.run
        return (f"{run['points']} points: {run['ok']} ok, {run['failed']} failed, "
                f"{run['invalid']} invalid, {run['excluded']} excluded by constraints; "
                f"{run['cached']} from the cache, {run['computed']} computed in "
                f"{run['seconds']:.0f} s with the {run['executor']} executor")


def explore(sweep, *, executor="local", workers=None, scheduler=None, cache_dir=DEFAULT_CACHE,
            out_dir=None, retry_failed=False, progress=True, function=evaluate, log=sys.stderr):
    """Run ``sweep`` and write its outputs into ``out_dir`` (default: the sweep's ``output``).

    Objectives and plot axes are checked on a stand-in point first: one that cannot be
    evaluated raises :class:`~hwgen.config.ConfigError` before anything runs or is written.
    Invalid points are reported on ``log`` with their validation message and skipped.
    On Ctrl-C the outputs are written with the unfinished points ``pending`` and
    :class:`~hwgen.dse.runner.Interrupted` is raised; finished points stay cached.
    """
    from tqdm import tqdm
    started = time.monotonic()
    out_dir = pathlib.Path(out_dir or sweep.output)
    points, excluded = sweep.points()
    outputs.check_expressions(sweep, points)
    for point in points:
        if point.design is None and log:
            print(f"skipping invalid point {point.index} ({outputs.describe_value(point.axes)}):"
                  f" {point.error}", file=log)
    tasks = tasks_for(sweep, points, cache_dir=cache_dir, work_dir=out_dir / "work",
                      retry_failed=retry_failed)
    counts = collections.Counter()
    bar = tqdm(total=len(tasks), unit="point", desc=sweep.name, disable=not progress,
               file=log, dynamic_ncols=True)

    def finished(result):
        counts["cached" if result["cached"] else "computed"] += 1
        counts[result["status"]] += 1
        bar.set_postfix(cached=counts["cached"], failed=counts["failed"], refresh=False)
        bar.update(1)

    interrupted = None
    try:
        results = run_points(tasks, executor=executor, workers=workers, scheduler=scheduler,
                             function=function, progress=finished)
    except Interrupted as error:
        interrupted, results = error, error.results
    finally:
        bar.close()
    run = {"points": len(points), "ok": counts["ok"], "failed": counts["failed"],
           "invalid": len(points) - len(tasks), "excluded": excluded,
           "pending": len(tasks) - len(results), "cached": counts["cached"],
           "computed": counts["computed"], "executor": executor,
           "seconds": round(time.monotonic() - started, 1)}
    rows, problems = outputs.records(sweep, points, results)
    paths = outputs.write(sweep, rows, run, out_dir)
    if interrupted:
        interrupted.out_dir = out_dir
        raise interrupted
    return Exploration(rows, run, paths, problems)
