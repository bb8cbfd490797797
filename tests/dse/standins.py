"""Stand-ins for the point evaluator that misbehave on purpose (run inside worker processes)."""
import json
import os
import pathlib
import signal

from hwgen.dse.evaluate import evaluate
from hwgen.flow import tools


def kill_worker_once(task, *, marker_dir, victim):
    """Kill this worker process the first time it is given point ``victim``; log every point
    that was actually computed (not taken from the cache)."""
    marker_dir = pathlib.Path(marker_dir)
    marker = marker_dir / f"killed-{victim}"
    if task.index == victim and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    result = evaluate(task)
    if not result["cached"]:
        with open(marker_dir / "computed.log", "a") as log:
            log.write(json.dumps(task.index) + "\n")
    return result


def crash_tool(task, *, victim):
    """Make every tool run of point ``victim`` fail as a crashing Yosys would."""
    if task.index != victim:
        return evaluate(task)

    def crash(tool, args, **kwargs):
        raise tools.ToolError(tool, "ERROR: injected crash for the test")

    real, tools.run = tools.run, crash
    try:
        return evaluate(task)
    finally:
        tools.run = real
