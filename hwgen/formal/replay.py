"""Replaying a counterexample of ``hwgen prove`` in cocotb on the emitted Verilog.

``run(emitted, replay_file)`` builds the design with Verilator and runs
:mod:`hwgen.testbenches.replay_tb` (through :func:`hwgen.flow.sim.run_testbench`); it raises
:class:`~hwgen.flow.sim.SimulationError` when the design breaks a property on the replayed
inputs, which is what a counterexample that carries over from the proof to simulation does.
"""
import pathlib

from hwgen.flow.sim import run_testbench, testbench_module

__all__ = ["run"]


def run(emitted, replay_file):
    """Replay ``replay_file`` on the design ``emitted`` (a :class:`hwgen.flow.verilog.Emitted`)."""
    replay_file = pathlib.Path(replay_file).resolve()
    build_dir = (replay_file.parent / "replay").resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    run_testbench(emitted.verilog, top=emitted.verilog.stem, build_dir=build_dir,
                  test_module=testbench_module("replay_tb"), rebuild=True,
                  failure="the counterexample fails in simulation too",
                  env={"HWGEN_MANIFEST": str(emitted.manifest.resolve()),
                       "HWGEN_REPLAY": str(replay_file)})
