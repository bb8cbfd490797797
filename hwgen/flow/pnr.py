"""Place and route with nextpnr: Fmax and utilization for a core on a real device.

* ECP5 cores are placed out of context (``--out-of-context``): ports stay internal nets, so a
  core with more port bits than the package has pins can still be measured.
* nextpnr-ice40 has no out-of-context mode, so an iCE40 core is wrapped in a harness: every
  input port is fed from a shift register on one pin and every output port is captured into
  a shift register read out on another. All core paths are then register to register and
  the harness flops are reported separately (``harness_ff``) from the core's own.

Fmax is the median over ``seeds`` placement seeds. A design that does not fit is an error
that names the resource and by how much it overflows.
"""
import json
import re
import statistics

from hwgen.flow import synth, tools
from hwgen.flow.files import write_atomic

__all__ = ["DEVICES", "DEFAULT_DEVICE", "FitError", "place_and_route", "harness_verilog",
           "fit_error", "read_utilization", "utilization_summary"]

# nextpnr arguments and the number of DSP blocks of each device.
DEVICES = {
    "ice40": {
        "up5k": {"args": ["--up5k", "--package", "sg48"], "dsp": ("SB_MAC16", 8)},
        "hx8k": {"args": ["--hx8k", "--package", "ct256"], "dsp": ("SB_MAC16", 0)},
    },
    "ecp5": {
        "25k": {"args": ["--25k", "--package", "CABGA256"], "dsp": ("MULT18X18D", 28)},
        "45k": {"args": ["--45k", "--package", "CABGA256"], "dsp": ("MULT18X18D", 72)},
        "85k": {"args": ["--85k", "--package", "CABGA381"], "dsp": ("MULT18X18D", 156)},
    },
}
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
    connections, offset = [".clk(clk)"], 0
    for port, width in inputs:
        connections.append(f".{port}(in_shift[{offset + width - 1}:{offset}])")
        offset += width
    offset = 0
    for port, width in outputs:
        connections.append(f".{port}(out_bus[{offset + width - 1}:{offset}])")
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


def place_and_route(design, emitted, target, *, device=None, seeds=1, freq_mhz=100.0,
                    reports_dir="reports", timeout=synth.DEFAULT_TIMEOUT):
    """Place and route ``design`` on ``device``; add a ``pnr`` section to its target report."""
    if target not in DEVICES:
        raise ValueError(f"target must be one of {', '.join(DEVICES)}, not {target!r}")
    device = device or DEFAULT_DEVICE[target]
    if device not in DEVICES[target]:
        raise ValueError(f"device for {target} must be one of {', '.join(DEVICES[target])}, "
                         f"not {device!r}")
    spec = DEVICES[target][device]
    report = synth.synthesize(design, emitted, target, reports_dir=reports_dir, timeout=timeout)

    job_dir = emitted.dir / "pnr" / f"{target}-{device}"
    job_dir.mkdir(parents=True, exist_ok=True)
    extra = {}
    if target == "ice40":
        harness, extra["harness_ff"] = harness_verilog(json.loads(emitted.manifest.read_text()))
        harness_path = job_dir / "harness.v"
        harness_path.write_text(harness)
        sources, top, place_args = [emitted.verilog, harness_path], HARNESS_TOP, [
            "--pcf-allow-unconstrained"]
    else:
        extra["out_of_context"] = True
        sources, top, place_args = [emitted.verilog], design.name, ["--out-of-context"]
    dsp_cell, dsp_available = spec["dsp"]
    # Yosys maps every multiplier to a DSP block whatever the device holds; on a device with
    # too few, the multipliers are built from logic instead.
    dsp_needed = report["cells"].get(dsp_cell, 0)
    fits_dsp = dsp_needed <= dsp_available
    if not fits_dsp:
        extra["multipliers_in_logic"] = (f"{dsp_needed} {dsp_cell} needed, {device} has "
                                         f"{dsp_available}")
    synth.run_yosys(job_dir, sources, top, synth.script(target, top, dsp=fits_dsp),
                    timeout=timeout, what=f"{target} (place-and-route netlist)")

    fmax_by_seed, utilization = [], None
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
        utilization = read_utilization(seed_report)

    measured = [fmax for fmax in fmax_by_seed if fmax is not None]
    fmax = statistics.median(measured) if measured else None
    report["pnr"] = {
        "device": f"{target}-{device}",
        "tools": {"nextpnr": tools.versions()[f"nextpnr-{target}"]},
        "target_mhz": freq_mhz,
        "fmax_mhz": fmax,
        "fmax_by_seed": fmax_by_seed,
        "meets_target": fmax is not None and fmax >= freq_mhz,
        "utilization": utilization,
        "summary": utilization_summary(utilization),
        **extra,
    }
    write_atomic(synth.report_path(reports_dir, design.name, target),
                 json.dumps(report, indent=2) + "\n")
    return report
