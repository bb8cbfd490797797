"""Replaying a counterexample of ``hwgen prove`` in cocotb on the emitted Verilog.

``run(emitted, replay_file)`` builds the design with Verilator (as :mod:`hwgen.flow.sim`
does) and runs :mod:`hwgen.testbenches.replay_tb`; it raises :class:`~hwgen.flow.sim.SimulationError`
when the design breaks a property on the replayed inputs, which is what a counterexample
that carries over from the proof to simulation does.
"""
import os
import pathlib
import subprocess

from hwgen.flow import tools
from hwgen.flow.sim import VERILATOR_ARGS, SimulationError, _failure_excerpt, testbench_module

__all__ = ["run"]


def run(emitted, replay_file):
    """Replay ``replay_file`` on the design ``emitted`` (a :class:`hwgen.flow.verilog.Emitted`)."""
    from cocotb_tools.runner import get_results, get_runner

    replay_file = pathlib.Path(replay_file).resolve()
    build_dir = (replay_file.parent / "replay").resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(tools.verilator_env())
    runner = get_runner("verilator")
    name = emitted.verilog.stem
    build_log = build_dir / "build.log"
    try:
        runner.build(sources=[emitted.verilog.resolve()], hdl_toplevel=name, build_dir=build_dir,
                     build_args=VERILATOR_ARGS, log_file=build_log, always=True)
    except (subprocess.CalledProcessError, RuntimeError, SystemExit):
        raise tools.ToolError("verilator", build_log.read_text()[-4000:]) from None
    test_log, results = build_dir / "test.log", build_dir / "results.xml"
    results.unlink(missing_ok=True)
    try:
        runner.test(hdl_toplevel=name, test_module=testbench_module("replay_tb"), build_dir=build_dir,
                    log_file=test_log, results_xml=str(results),
                    extra_env={"HWGEN_MANIFEST": str(emitted.manifest.resolve()),
                               "HWGEN_REPLAY": str(replay_file)})
    except SystemExit:
        pass
    total, failed = get_results(results) if results.exists() else (0, 0)
    if total == 0 or failed:
        raise SimulationError(f"{name}: the counterexample fails in simulation too "
                              f"(log: {test_log})\n{_failure_excerpt(test_log.read_text())}")
