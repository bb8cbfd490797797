"""Bit-serial MACs (BitMoD-style) against the bit-parallel baseline, at equal throughput.

    .venv/bin/python bench/bitserial.py [--timeout SECONDS]

Two comparisons, every design with int8 activations and int weights, synthesized in this run
with the same tools (results cached by hwgen.flow.measure):

1. fixed precision p = 2, 3, 4, 8: a bit-parallel engine with 8 lanes of p-bit weights
   against bit-serial engines (one weight bit per cycle, and one radix-4 Booth digit per
   cycle) with enough lanes for the same 8 MACs/cycle;
2. one engine for mixed precision: built for 8-bit weights, run at precision p chosen per
   beat. The bit-parallel engine takes one cycle whatever p is; the bit-serial engines take
   p (bit) or ⌈p/2⌉ (Booth) cycles, so their MACs/cycle rise as precision falls.

Area columns: generic CMOS gate equivalents (GE), iCE40 LUT4 + carry cells (SB_MAC16 DSPs
listed apart), ECP5 LUT4 + CCU2C (MULT18X18D apart). Efficiency is MACs/cycle per kGE; the
ratio column is against the bit-parallel engine of the same row. A design whose synthesis
exceeds ``--timeout`` (per Yosys run) is shown as "not finished"; a rerun picks it up again.
"""
import argparse
import json

from hwgen.config import from_mapping
from hwgen.flow import tools, verilog
from hwgen.flow.measure import measure
from hwgen.flow.synth import DEFAULT_TIMEOUT

PRECISIONS = (2, 3, 4, 8)
MACS_PER_CYCLE = 8
ENGINES = (("bit-parallel", "bitparallel_dot", {}),
           ("bit-serial", "bitserial_dot", {"digit": "bit"}),
           ("Booth radix-4", "bitserial_dot", {"digit": "booth4"}))


def performance(kind, params):
    """The performance figures the component declares in its manifest."""
    design = from_mapping({"name": "bench", "kind": kind, "params": params})
    emitted = verilog.emit(design, f"build/bench_bitserial/{design.digest}")
    return json.loads(emitted.manifest.read_text())


def base_params(lanes, weight_bits):
    return {"lanes": lanes, "act_bits": 8, "weight_bits": weight_bits, "weight_format": "int",
            "group_size": lanes * 16}


def lanes_for(kind, extra, weight_bits):
    """Lanes that give MACS_PER_CYCLE at full precision."""
    if kind == "bitparallel_dot":
        return MACS_PER_CYCLE
    cycles = performance(kind, {**base_params(1, weight_bits), **extra})["cycles_per_beat"]
    return MACS_PER_CYCLE * cycles


def measured(kind, params, timeout):
    """``measure`` of the design, or None when Yosys does not finish within ``timeout``."""
    try:
        return measure(kind, params, timeout=timeout)
    except tools.ToolError as error:
        if not isinstance(error, tools.ToolTimeout):
            raise
        return None


def area_cells(area):
    ice40 = area["ice40"]["lut4"] + area["ice40"]["carry"]
    ecp5 = area["ecp5"]["lut4"] + area["ecp5"]["ccu2c"]
    # † marks an ECP5 result synthesized with hwgen.flow.synth's workaround for a Yosys crash.
    marker = " †" if "workaround" in area["ecp5"] else ""
    return [f"{area['generic']['ge']:,.0f}", f"{ice40:,}", str(area["ice40"]["dsp"]),
            f"{ecp5:,}{marker}", str(area["ecp5"]["mult18"])]


def ratio(efficiency, baseline):
    return f"{efficiency / baseline:.2f}×" if baseline else "no baseline"


def print_header(header):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))


def print_row(row):
    # Rows appear as they are measured: a cold run synthesizes for a long while.
    print("| " + " | ".join(row) + " |", flush=True)


def fixed_precision(timeout):
    print(f"\n**1. Fixed precision, {MACS_PER_CYCLE} MACs/cycle**\n")
    print_header(["weight bits", "engine", "lanes", "MACs/cycle", "GE", "iCE40 LUT4+carry",
                  "DSP", "ECP5 LUT4+CCU2C", "MULT18", "MACs/cycle/kGE", "vs bit-parallel"])
    worked_around = False
    for weight_bits in PRECISIONS:
        baseline = None
        for label, kind, extra in ENGINES:
            params = {**base_params(lanes_for(kind, extra, weight_bits), weight_bits), **extra}
            macs = performance(kind, params)["macs_per_cycle"]
            area = measured(kind, params, timeout)
            cells = [str(weight_bits), label, str(params["lanes"]), f"{macs:g}"]
            if area is None:
                print_row(cells + ["not finished"] * 7)
                continue
            efficiency = macs / area["generic"]["ge"] * 1000
            if kind == "bitparallel_dot":
                baseline = efficiency
            worked_around |= "workaround" in area["ecp5"]
            print_row(cells + [*area_cells(area), f"{efficiency:.3f}",
                               ratio(efficiency, baseline)])
    if worked_around:
        print("\n† synth_ecp5 -dff: Yosys aborts in abc_ops_reintegrate on this netlist with the "
              "default script (see hwgen/flow/synth.py).")


def mixed_precision(timeout):
    print(f"\n**2. One engine for 8-bit weights, run at lower precision** "
          f"({MACS_PER_CYCLE} MACs/cycle at 8 bits)\n")
    measured_engines = []
    for label, kind, extra in ENGINES:
        params = {**base_params(lanes_for(kind, extra, 8), 8), **extra}
        figures = performance(kind, params)
        measured_engines.append((label, params, figures, measured(kind, params, timeout)))
    print_header(["run at bits", "engine", "lanes", "cycles/beat", "MACs/cycle", "GE",
                  "MACs/cycle/kGE", "vs bit-parallel"])
    for precision in PRECISIONS:
        baseline = None
        for label, params, figures, area in measured_engines:
            cycles = figures.get("cycles_per_beat_by_prec", {}).get(str(precision),
                                                                     figures["cycles_per_beat"])
            macs = params["lanes"] / cycles
            cells = [str(precision), label, str(params["lanes"]), str(cycles), f"{macs:g}"]
            if area is None:
                print_row(cells + ["not finished"] * 3)
                continue
            efficiency = macs / area["generic"]["ge"] * 1000
            if label == "bit-parallel":
                baseline = efficiency
            print_row(cells + [f"{area['generic']['ge']:,.0f}", f"{efficiency:.3f}",
                               ratio(efficiency, baseline)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds per Yosys run (default: %(default)s)")
    args = parser.parse_args()
    print(__doc__.split("\n\n", 2)[2].strip())
    fixed_precision(args.timeout)
    mixed_precision(args.timeout)


if __name__ == "__main__":
    main()
