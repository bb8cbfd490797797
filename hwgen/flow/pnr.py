"""Place and route with nextpnr: Fmax and utilization for a core on a real device.

* ECP5 cores are placed out of context (``--out-of-context``): ports stay internal nets, so a
  core with more port bits than the package has pins can still be measured.
* nextpnr-ice40 has no out-of-context mode, so an iCE40 core is wrapped in a harness: every
  input port is fed from a shift register on one pin and every output port is captured into
  a shift register read out on another. All core paths are then register to register and
  the harness flops are reported separately (``harness_ff``) from the core's own.

Fmax is measured over ``seeds`` placement seeds: the report gives their median (the figure
to quote), the best and every seed's. The critical path of the median seed is named by the
registers it starts and ends at (``critical_path``: ``from``, ``to``, delay, logic levels),
read back through the synthesized netlist from the cells nextpnr reports.

A design that does not fit the device is an error that names the resource and by how much it
overflows. A design too large for every device of the family (judged from its synthesized
LUT4 and flop counts) is not placed at all: its largest repeated unit that fits is placed out
of context instead, in the harness (so that a combinational unit has clocked paths too), and
the report says so (``scope: "unit"``, the unit's name, its instance count and why).
``unit=True`` asks for that placement whatever the design's size: a bench that measures a core
too large to emit whole by a slice of it (fewer identical lanes) places the slice's lane, not
the slice.
"""
import json
import pathlib
import re
import statistics

from hwgen.flow import hierarchy, measure, synth, tools
from hwgen.flow.files import write_atomic

__all__ = ["DEVICES", "DEFAULT_DEVICE", "DEFAULT_SEEDS", "FitError", "place_and_route",
           "harness_verilog", "fit_error", "read_utilization", "utilization_summary",
           "critical_path", "logic_cells", "module_ports", "cache_key", "place_and_route_cached"]

# nextpnr arguments, the number of DSP blocks and of logic cells (LUT4 with its flop) of each
# device.
DEVICES = {
    "ice40": {
        "up5k": {"args": ["--up5k", "--package", "sg48"], "dsp": ("SB_MAC16", 8),
                 "cells": 5280},
        "hx8k": {"args": ["--hx8k", "--package", "ct256"], "dsp": ("SB_MAC16", 0),
                 "cells": 7680},
    },
    "ecp5": {
        "25k": {"args": ["--25k", "--package", "CABGA256"], "dsp": ("MULT18X18D", 28),
                "cells": 24288},
        "45k": {"args": ["--45k", "--package", "CABGA256"], "dsp": ("MULT18X18D", 72),
                "cells": 43848},
        "85k": {"args": ["--85k", "--package", "CABGA381"], "dsp": ("MULT18X18D", 156),
                "cells": 83640},
    },
}
DEFAULT_SEEDS = 3
DEFAULT_DEVICE = {"ice40": "up5k", "ecp5": "25k"}
HARNESS_TOP = "hwgen_pnr_harness"


class FitError(tools.ToolError):
    """The design needs more of a resource than the device has."""


def harness_verilog(manifest):
    """A wrapper that drives every core input from flops and captures every output in flops."""
    inputs = [(port, info["width"]) for port, info in manifest["ports"].items()
              if info["dir"] == "in" and port != "clk"]
    outputs = [(port, info["width"]) for port, info in manifest["ports"].items()
               if info["dir"] == "out"]
    in_bits = sum(width for _, width in inputs)
    out_bits = sum(width for _, width in outputs)
    connections, offset = [".clk(clk)"] if "clk" in manifest["ports"] else [], 0
    for port, width in inputs:
        connections.append(f".{port} (in_shift[{offset + width - 1}:{offset}])")
        offset += width
    offset = 0
    for port, width in outputs:
        connections.append(f".{port} (out_bus[{offset + width - 1}:{offset}])")
        offset += width
    shift_in = f"{{in_shift[{in_bits - 2}:0], din}}" if in_bits > 1 else "din"
    shift_out = f"{{1'b0, out_shift[{out_bits - 1}:1]}}" if out_bits > 1 else "1'b0"
    return "\n".join([
        f"module {HARNESS_TOP}(input clk, input din, input load, output dout);",
        f"  reg [{in_bits - 1}:0] in_shift = 0;",
        f"  reg [{out_bits - 1}:0] out_shift = 0;",
        f"  wire [{out_bits - 1}:0] out_bus;",
        f"  always @(posedge clk) in_shift <= {shift_in};",
        f"  always @(posedge clk) out_shift <= load ? out_bus : {shift_out};",
        "  assign dout = out_shift[0];",
        f"  {manifest['top']} core(" + ", ".join(connections) + ");",
        "endmodule",
        "",
    ]), in_bits + out_bits


def fit_error(log_text, device):
    """A FitError naming every resource nextpnr's utilisation table shows overflowing."""
    over = [(resource, int(used), int(available)) for resource, used, available in
            re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", log_text, re.M)
            if int(used) > int(available)]
    if not over:
        match = re.search(r"no BELs remaining to implement cell type '([\w$]+)'", log_text)
        if not match:
            return None
        return FitError("nextpnr", f"does not fit {device}: not enough {match[1]}")
    detail = "; ".join(f"{resource}: needs {used}, {device} has {available} "
                       f"({used - available} too many, {100 * used / available:.0f}%)"
                       for resource, used, available in over)
    return FitError("nextpnr", f"does not fit {device}: {detail}")


def read_utilization(report):
    return {resource: counts for resource, counts in sorted(report["utilization"].items())
            if counts["used"]}


def utilization_summary(utilization):
    parts = []
    for resource, counts in utilization.items():
        if resource.endswith(("_LC", "_COMB", "_FF", "_RAM", "_DSP", "DP16KD", "MULT18X18D")):
            share = 100 * counts["used"] / counts["available"]
            parts.append(f"{resource} {counts['used']}/{counts['available']} ({share:.0f}%)")
    return ", ".join(parts)


def logic_cells(report, harness_ff=0):
    """The logic cells (LUT4 with its flop) a synthesized ``ice40`` or ``ecp5`` report needs
    at least: a CCU2C carry cell takes the place of two LUT4s."""
    area = report["area"]
    if report["target"] == "ice40":
        return max(area["lut4"], area["ff"] + harness_ff)
    return max(area["lut4"] + 2 * area["ccu2c"], area["ff"])


def module_ports(verilog_text, module):
    """``{port: {"dir", "width"}}`` of ``module`` as declared in ``verilog_text``."""
    tokens = hierarchy.split_modules(verilog_text)[module]
    statements = "".join(token for _, token in tokens).split(";")
    ports = {}
    for statement in statements[1:]:
        match = re.match(r"\s*(input|output|inout)\s*(?:\[(\d+):(\d+)\])?\s*(\S+)\s*$", statement)
        if match:
            direction, high, low, name = match.groups()
            ports[name] = {"dir": direction.removesuffix("put"),
                           "width": int(high) - int(low) + 1 if high else 1}
    return ports


def critical_path(seed_report, netlist):
    """The worst path of a nextpnr ``--report``: the registers it starts and ends at, its
    delay and how many logic cells it passes through (None when nothing is timed).

    A register is named by the net its output drives (``lane3.acc[7]``); nextpnr names the
    cells (a packed iCE40 logic cell takes the name of its LUT), so the end register is found
    through the synthesized ``netlist``: the flop whose cell, or whose data input's driver,
    has the reported cell's name.
    """
    paths = [path for path in seed_report.get("critical_paths", [])
             if path["path"] and not path["from"].startswith("posedge $PACKER")]
    if not paths:
        return None
    names = _NetNames(netlist)
    worst = max(paths, key=lambda path: sum(step["delay"] for step in path["path"]))
    steps = worst["path"]
    routes = [step for step in steps if step["type"] == "routing"]
    start = routes[0]["net"] if routes else steps[0]["from"]["cell"]
    end_cell = steps[-1]["to"]["cell"]
    return {"from": start, "to": names.register(end_cell) or f"{end_cell} (cell)",
            "delay_ns": round(sum(step["delay"] for step in steps), 3),
            "logic_levels": sum(step["type"] == "logic" for step in steps),
            "clock": worst["from"].removeprefix("posedge ")}


class _NetNames:
    """Register names of the flops in a Yosys JSON netlist (its top module)."""

    _FLOPS = re.compile(r"SB_DFF|TRELLIS_FF")

    def __init__(self, netlist):
        module = next((module for module in netlist["modules"].values()
                       if module.get("attributes", {}).get("top")),
                      next(iter(netlist["modules"].values())))
        self.bit_names = {}
        for name, net in sorted(module["netnames"].items(),
                                key=lambda item: (item[1].get("hide_varname", 0), item[0])):
            for index, bit in enumerate(net["bits"]):
                self.bit_names.setdefault(bit, name if len(net["bits"]) == 1
                                          else f"{name}[{index}]")
        self.cells = module["cells"]
        self.driver = {}
        for name, cell in self.cells.items():
            for port, bits in cell["connections"].items():
                if cell.get("port_directions", {}).get(port) == "output":
                    for bit in bits:
                        self.driver[bit] = name

    def register(self, cell_name):
        """The register a placed cell holds: the flop of that name, or the flop its LUT
        feeds."""
        # nextpnr-ice40 packs a flop alone as NAME_DFFLC and a LUT (with its flop) as NAME_LC.
        for candidate in (cell_name, cell_name.removesuffix("_DFFLC"),
                          cell_name.removesuffix("_LC")):
            cell = self.cells.get(candidate)
            if cell is None:
                continue
            if self._FLOPS.match(cell["type"]):
                return self.bit_names.get(cell["connections"]["Q"][0])
            for other in self.cells.values():
                data = other["connections"].get("D") or other["connections"].get("DI")
                if (self._FLOPS.match(other["type"]) and data
                        and self.driver.get(data[0]) == candidate):
                    return self.bit_names.get(other["connections"]["Q"][0])
        return None


def place_and_route(design, emitted, target, *, device=None, seeds=DEFAULT_SEEDS,
                    freq_mhz=100.0, reports_dir="reports", cache_dir=measure.DEFAULT_CACHE,
                    timeout=synth.DEFAULT_TIMEOUT, unit=False):
    """Place and route ``design`` on ``device``; add a ``pnr`` section to its target report.

    The area report comes through the synthesis cache (:mod:`hwgen.flow.measure`). A design
    larger than every device of ``target``, or any design with ``unit``, is measured by its
    largest repeated unit placed out of context (see the module documentation).
    """
    if target not in DEVICES:
        raise ValueError(f"target must be one of {', '.join(DEVICES)}, not {target!r}")
    device = device or DEFAULT_DEVICE[target]
    if device not in DEVICES[target]:
        raise ValueError(f"device for {target} must be one of {', '.join(DEVICES[target])}, "
                         f"not {device!r}")
    report = measure.synthesize(design, emitted, target, reports_dir=reports_dir,
                                cache_dir=cache_dir, timeout=timeout)
    manifest = json.loads(emitted.manifest.read_text())
    job_dir = emitted.dir / "pnr" / f"{target}-{device}"
    harness_ff = sum(port["width"] for name, port in manifest["ports"].items()
                     if name != "clk") if target == "ice40" else 0
    largest = max(DEVICES[target], key=lambda name: DEVICES[target][name]["cells"])
    needed = logic_cells(report, harness_ff)
    capacity = DEVICES[target][largest]["cells"]
    too_large = needed > capacity
    if unit or too_large:
        found = _largest_unit(report, target, capacity)
        if found is None:
            why = (f"does not fit any {target} device: needs at least {needed} logic cells, "
                   f"{target}-{largest} has {capacity}" if too_large
                   else f"{design.name}: a unit was asked for")
            raise FitError("nextpnr", f"{why}, and the design has no repeated unit small "
                                      f"enough to place alone")
        placed = _place_unit(emitted, target, device, found, job_dir / "unit", seeds=seeds,
                             freq_mhz=freq_mhz, timeout=timeout)
        reason = (f"the design needs at least {needed} logic cells; the largest {target} "
                  f"device ({target}-{largest}) has {capacity}" if too_large
                  else "a unit was asked for")
        placed.update(scope="unit", unit=found["unit"], instances=found["instances"],
                      reason=reason)
    else:
        placed = _place_design(design, emitted, manifest, report, target, device, job_dir,
                               seeds=seeds, freq_mhz=freq_mhz, timeout=timeout)
        placed["scope"] = "design"
    report["pnr"] = placed
    write_atomic(synth.report_path(reports_dir, design.name, target),
                 json.dumps(report, indent=2) + "\n")
    return report


def cache_key(verilog_text, top, target, device, seeds, freq_mhz, unit=False):
    """Hash of everything a place-and-route result depends on."""
    return measure.cache_key(verilog_text, target, top, tools.versions()[f"nextpnr-{target}"]
                             or "", device or DEFAULT_DEVICE[target], str(seeds),
                             str(freq_mhz), *(["unit"] if unit else []), hierarchy=True)


def place_and_route_cached(design, emitted, target, *, device=None, seeds=DEFAULT_SEEDS,
                           freq_mhz=100.0, reports_dir="reports",
                           cache_dir=measure.DEFAULT_CACHE, timeout=synth.DEFAULT_TIMEOUT,
                           unit=False):
    """``(report, hit)``: :func:`place_and_route` through the result cache (``CACHE/pnr``)."""
    key = cache_key(emitted.verilog.read_text(), design.name, target, device, seeds, freq_mhz,
                    unit)
    return measure.cached(
        pathlib.Path(cache_dir) / "pnr" / f"{key}.json",
        lambda: place_and_route(design, emitted, target, device=device, seeds=seeds,
                                freq_mhz=freq_mhz, reports_dir=reports_dir,
                                cache_dir=cache_dir, timeout=timeout, unit=unit))


def _largest_unit(report, target, cells):
    """The unit row (see :func:`hwgen.flow.synth.run_synthesis`) with the most logic cells
    below ``cells``, the top excluded; None when there is none."""
    rows = [{**row, "target": target} for row in report.get("units", [])[1:]]
    fitting = [row for row in rows if logic_cells(row) < cells]
    return max(fitting, key=logic_cells, default=None)


def _place_design(design, emitted, manifest, report, target, device, job_dir, **options):
    extra = {}
    if target == "ice40":
        harness, extra["harness_ff"] = harness_verilog(manifest)
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "harness.v").write_text(harness)
        sources, top = [emitted.verilog, job_dir / "harness.v"], HARNESS_TOP
    else:
        extra["out_of_context"] = True
        sources, top = [emitted.verilog], design.name
    dsp_cell, dsp_available = DEVICES[target][device]["dsp"]
    # Yosys maps every multiplier to a DSP block whatever the device holds; on a device with
    # too few, the multipliers are built from logic instead.
    dsp_needed = report["cells"].get(dsp_cell, 0)
    if dsp_needed > dsp_available:
        extra["multipliers_in_logic"] = (f"{dsp_needed} {dsp_cell} needed, {device} has "
                                         f"{dsp_available}")
    placed = _place(job_dir, sources, top, target, device, dsp=dsp_needed <= dsp_available,
                    **options)
    return {**placed, **extra}


def _place_unit(emitted, target, device, unit, job_dir, **options):
    """Place the repeated ``unit`` (a row of the synthesis report) alone in the harness: its
    module and the modules below it, taken from the emitted Verilog under their own names."""
    text = emitted.verilog.read_text()
    modules = hierarchy.split_modules(text)
    name = unit["unit"] if unit["unit"] in modules else f"\\{unit['unit']}"
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "unit.v").write_text(hierarchy.subtree_verilog(text, name))
    # The unit's ports are registered in the harness, so that a combinational unit has a
    # clocked path too.
    harness, harness_ff = harness_verilog({"top": name + " ", "ports": module_ports(text, name)})
    (job_dir / "harness.v").write_text(harness)
    _, dsp_available = DEVICES[target][device]["dsp"]
    placed = _place(job_dir, [job_dir / "unit.v", job_dir / "harness.v"], HARNESS_TOP, target,
                    device, dsp=unit["area"].get(_DSP_COLUMN[target], 0) <= dsp_available,
                    **options)
    return {**placed, "out_of_context": True, "harness_ff": harness_ff}


_DSP_COLUMN = {"ice40": "dsp", "ecp5": "mult18"}


def _place(job_dir, sources, top, target, device, *, dsp, seeds, freq_mhz, timeout):
    """Synthesize ``top`` from ``sources`` for placement and place and route it with each
    seed: the ``pnr`` section of a report."""
    spec = DEVICES[target][device]
    place_args = {"ecp5": ["--out-of-context"], "ice40": ["--pcf-allow-unconstrained"]}[target]
    # The same way around a known Yosys crash as the area synthesis takes (hwgen.flow.synth).
    _, workaround = synth.run_with_workaround(target, lambda flags: synth.run_yosys(
        job_dir, sources, top, synth.script(target, top, dsp=dsp, extra=flags),
        timeout=timeout, what=f"{target} (place-and-route netlist)"))
    netlist = json.loads((job_dir / "netlist.json").read_text())
    fmax_by_seed, paths, utilization = [], [], None
    for seed in range(1, seeds + 1):
        report_name = f"report_seed{seed}.json"
        log_name = f"nextpnr_seed{seed}.log"
        try:
            tools.run(f"yowasp-nextpnr-{target}",
                      [*spec["args"], *place_args, "--json", "netlist.json",
                       "--report", report_name, "--freq", str(freq_mhz), "--seed", str(seed),
                       "--timing-allow-fail", "-q", "-l", log_name],
                      cwd=job_dir, log=log_name, timeout=timeout, what=f"{target}-{device}")
        except tools.ToolTimeout:
            raise
        except tools.ToolError as error:
            log_path = job_dir / log_name
            text = (log_path.read_text() if log_path.exists() else "") + error.detail
            raise fit_error(text, device) or error from None
        seed_report = json.loads((job_dir / report_name).read_text())
        # Hard blocks used combinationally (an SB_MAC16 without registers) appear as a clock
        # driven by the packer's constant net; only the design's own clock counts.
        clocks = {net: clock for net, clock in seed_report.get("fmax", {}).items()
                  if not net.startswith("$PACKER")}
        fmax_by_seed.append(min(clock["achieved"] for clock in clocks.values()) if clocks else None)
        paths.append(critical_path(seed_report, netlist))
        utilization = read_utilization(seed_report)

    measured = sorted((fmax, seed) for seed, fmax in enumerate(fmax_by_seed) if fmax is not None)
    fmax = statistics.median(fmax for fmax, _ in measured) if measured else None
    return {
        "device": f"{target}-{device}",
        "tools": {"nextpnr": tools.versions()[f"nextpnr-{target}"]},
        "target_mhz": freq_mhz,
        "seeds": seeds,
        "fmax_mhz": fmax,
        "fmax_best_mhz": measured[-1][0] if measured else None,
        "fmax_by_seed": fmax_by_seed,
        "meets_target": fmax is not None and fmax >= freq_mhz,
        # The path of the seed at (or just below) the median.
        "critical_path": paths[measured[(len(measured) - 1) // 2][1]] if measured else None,
        "utilization": utilization,
        "summary": utilization_summary(utilization),
        **({"workaround": workaround} if workaround else {}),
    }
