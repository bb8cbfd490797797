"""One sweep point, evaluated in a worker process: emit, synthesize, place and route.

:func:`evaluate` is what the executor runs. It takes a picklable :class:`Task` and returns
a plain dictionary, so it runs the same in a local process pool and on a Dask worker.

Results come from the one result cache that ``hwgen synth``, ``hwgen pnr`` and the benches use
(:mod:`hwgen.flow.measure`: ``CACHE/synth``, ``CACHE/units``; :mod:`hwgen.flow.pnr`:
``CACHE/pnr``), keyed by a hash of the emitted Verilog, the tool versions, the flow script
and the target. A finished point's figures are also kept under ``CACHE/points`` by its config,
its targets and a hash of the generator's own files and tool versions, so that a rerun finds
them without emitting the Verilog again. A tool that fails (an error, a design that does not fit, or the
point's time running out) leaves a failure record under ``CACHE/failed`` with the tool's
error text, so a rerun reports it again instead of repeating it; a timed-out point is
retried when the sweep allows it more time, and any failure when the caller asks for it.
"""
import dataclasses
import functools
import hashlib
import json
import pathlib
import time

import hwgen
from hwgen.config import from_mapping
from hwgen.dse import models
from hwgen.flow import measure, pnr, tools, verilog
from hwgen.flow.files import write_atomic

__all__ = ["Task", "evaluate", "performance", "report_figures"]

# Manifest entries that describe the design's structure rather than its performance.
_STRUCTURE = ("name", "kind", "top", "hwgen_version", "tools", "params", "ports", "streams")


@dataclasses.dataclass(frozen=True)
class Task:
    """Everything a worker needs for one point (paths absolute, so any worker can run it)."""
    index: int
    config: dict
    targets: tuple
    cache_dir: str
    work_dir: str
    timeout: float = None
    model_only: bool = False
    retry_failed: bool = False


class _OutOfTime(tools.ToolTimeout):
    """A point used up the sweep's per-point timeout between its tool runs."""


def performance(figures):
    """The scalar performance figures of a manifest or a component's ``performance``."""
    return {name: value for name, value in figures.items()
            if name not in _STRUCTURE and isinstance(value, (int, float, str, bool))}


def evaluate(task):
    """``{"index", "status": "ok" | "failed", "cached", "figures", "error"}`` for one point."""
    started = time.monotonic()
    design = from_mapping(task.config)
    if task.model_only:
        figures = {**performance(design.build().performance),
                   **models.predict(design.kind.name, design.params.to_dict())}
        return {"index": task.index, "status": "ok", "cached": False, "figures": figures,
                "error": None}
    point_path = pathlib.Path(task.cache_dir) / "points" / f"{_point_key(task)}.json"
    if point_path.exists():
        return {"index": task.index, "status": "ok", "cached": True,
                "figures": json.loads(point_path.read_text()), "error": None}
    emitted = verilog.emit(design, pathlib.Path(task.work_dir) / design.digest)
    text = emitted.verilog.read_text()
    figures = performance(json.loads(emitted.manifest.read_text()))
    reports_dir = emitted.dir / "reports"
    all_cached = True

    def remaining():
        if task.timeout is None:
            return None
        left = task.timeout - (time.monotonic() - started)
        if left <= 0:
            raise _OutOfTime("hwgen", task.timeout, "this point (the sweep's per-point timeout)")
        return left

    for target in task.targets:
        stages = [("synth", measure.cache_key(text, target.name, design.name, hierarchy=True),
                   lambda: measure.synthesize_cached(design, emitted, target.name,
                                                     cache_dir=task.cache_dir,
                                                     timeout=remaining()))]
        if target.pnr:
            stages.append(("pnr", pnr.cache_key(text, design.name, target.name, target.device,
                                                target.seeds, target.freq_mhz),
                           lambda: pnr.place_and_route_cached(
                               design, emitted, target.name, device=target.device,
                               seeds=target.seeds, freq_mhz=target.freq_mhz,
                               reports_dir=reports_dir, cache_dir=task.cache_dir,
                               timeout=remaining())))
        for stage, key, compute in stages:
            failure_path = pathlib.Path(task.cache_dir) / "failed" / f"{key}.json"
            failure = _recorded_failure(failure_path, task)
            if failure is not None:
                return _failed(task, figures, failure["error"], cached=True)
            try:
                report, hit = compute()
            except tools.ToolError as error:
                timed_out = isinstance(error, tools.ToolTimeout)
                message = f"{target.name} {stage}: {error}"
                write_atomic(failure_path, json.dumps({
                    "error": message, "timed_out": timed_out, "timeout": task.timeout}, indent=2))
                return _failed(task, figures, message, cached=False)
            all_cached &= hit
            figures.update(report_figures(target.name, report))
    write_atomic(point_path, json.dumps(figures, indent=2))
    return {"index": task.index, "status": "ok", "cached": all_cached, "figures": figures,
            "error": None}


@functools.cache
def _generator_digest():
    """Hash of everything besides a config that its Verilog and figures depend on: hwgen's
    own files (generators, flow scripts) and the tool versions."""
    digest = hashlib.sha256(json.dumps(tools.versions(), sort_keys=True).encode())
    root = pathlib.Path(hwgen.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _point_key(task):
    """The key of a point's figures in ``CACHE/points``: its config and targets under this
    generator (:func:`_generator_digest`). A finished point is found there without emitting
    its Verilog again."""
    text = json.dumps([task.config, [dataclasses.asdict(target) for target in task.targets],
                       _generator_digest()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _recorded_failure(path, task):
    """The failure recorded for this stage, unless the sweep should try it again."""
    if task.retry_failed or not path.exists():
        return None
    failure = json.loads(path.read_text())
    if failure["timed_out"]:
        before = failure["timeout"]
        if task.timeout is None or (before is not None and task.timeout > before):
            return None
    return failure


def _failed(task, figures, message, *, cached):
    return {"index": task.index, "status": "failed", "cached": cached, "figures": figures,
            "error": message}


def report_figures(target, report):
    """The figures of one target's synthesis (and place-and-route) report, as objectives
    name them: ``generic.ge``, ``ice40.fmax_mhz``."""
    figures = {f"{target}.{column}": value for column, value in report["area"].items()}
    if "workaround" in report:
        figures[f"{target}.workaround"] = report["workaround"]
    placed = report.get("pnr")
    if placed:
        figures[f"{target}.fmax_mhz"] = placed["fmax_mhz"]
        figures[f"{target}.meets_target"] = placed["meets_target"]
        if "multipliers_in_logic" in placed:
            figures[f"{target}.multipliers_in_logic"] = placed["multipliers_in_logic"]
    return figures
