"""Digit-serial MAC engines at real sizes against bit-parallel baselines, measured in one run.

    .venv/bin/python bench/bitserial.py [--lanes 32 64] [--act-bits 8] [--engines LABEL ...]
                                        [--seeds 3] [--no-pnr | --pnr-only LABEL ...]
                                        [--timeout S]

Every engine at a lane count has the same lanes, activations (int8 unless --act-bits says
otherwise), int weight codes read at the precision each beat names, groups of 128 weights
with 8-bit scales, a (2·act_bits + 16)-bit accumulator and its adder tree registered halfway
(`pipeline_tree`). Each takes its beat into an input
register, so the register that feeds an engine at its rate (a digit-serial engine holds its
beat for several cycles) is in every area figure. The engines:

* bit-parallel, 8-bit weights: the engine a user needs for 8-bit layers, one beat per cycle
  at any precision; `array` (the narrowest exact multiplier, 8×8, mapped by ABC, and mapped
  by Yosys' Booth pass, `synth -booth`: generic gates only, flat) and `booth` (radix-4 Booth
  rows) multipliers;
* bit-parallel, fixed 4-bit weights (8×4 multipliers), the same three: cannot run 8-bit
  layers;
* digit-serial, 8-bit weights: radix-4 Booth digits, 1 or 2 per lane per cycle, and plain
  bits, 4 per cycle, fed whole codes (held for the beat); and Booth digits fed as digit
  planes (`weight_stream: planes`: the engine holds the activations and one plane per lane,
  5 bits for two Booth digits). A beat at precision p takes ⌈digits(p) / digits per cycle⌉
  cycles.

Columns: GE is the generic CMOS estimate (`stat -tech cmos`, a flop at 4 GE); "GE std" prices
each flop at 5.7 GE (a standard-cell DFF, Nangate45) and is what the efficiency columns use.
iCE40 / ECP5: LUT4 plus carry cells, DSP blocks apart (Yosys maps each bit-parallel
multiplier to a DSP where the device has them). Fmax: nextpnr-ecp5 on an LFE5U-85F out of
context, median over the seeds (`--pnr-only` places only the engines whose labels contain
one of the given strings; the others show "–"; `--engines` measures only such engines). MACs/s per kLUT uses ECP5 LUT4 + CCU2C at
that Fmax (DSPs not counted: see the MULT18 column).

The efficiency table runs every engine at runtime precisions 2, 3, 4 and 8 bits and at a
mixed workload (MIX: share of MACs by weight precision, after the BitMoD evaluation's 3- and
4-bit layers with some 8-bit ones); ratios are against the stronger (array or Booth)
bit-parallel engine of each kind, "n/a" where the fixed 4-bit engine cannot run the layer.
"""
import argparse
import json

from hwgen.config import from_mapping
from hwgen.flow import measure as measuring, pnr, synth, tools, verilog
from hwgen.flow.synth import DEFAULT_TIMEOUT

WORK = "build/bench_bitserial"
PRECISIONS = (2, 3, 4, 8)
# Share of MACs at each weight precision in the mixed workload.
MIX = {3: 0.4, 4: 0.4, 8: 0.2}
DEVICE = "85k"

BASE = {"weight_format": "int", "scale_bits": 8, "pipeline_tree": True}
# (label, family, kind, extra parameters[, Yosys synth flags]); family groups the baselines.
# Engines with synth flags are measured in generic gates only (flat), their `*` mapped by
# Yosys' Booth pass.
ENGINES = (
    ("bit-parallel 8b, array", "parallel8", "bitparallel_dot",
     {"weight_bits": 8, "multiplier": "array"}),
    ("bit-parallel 8b, array, synth -booth", "parallel8", "bitparallel_dot",
     {"weight_bits": 8, "multiplier": "array"}, "-booth"),
    ("bit-parallel 8b, Booth", "parallel8", "bitparallel_dot",
     {"weight_bits": 8, "multiplier": "booth"}),
    ("bit-parallel 4b, array", "parallel4", "bitparallel_dot",
     {"weight_bits": 4, "multiplier": "array"}),
    ("bit-parallel 4b, array, synth -booth", "parallel4", "bitparallel_dot",
     {"weight_bits": 4, "multiplier": "array"}, "-booth"),
    ("bit-parallel 4b, Booth", "parallel4", "bitparallel_dot",
     {"weight_bits": 4, "multiplier": "booth"}),
    ("serial 8b, Booth ×1", "serial", "bitserial_dot",
     {"weight_bits": 8, "digit": "booth4", "digits_per_cycle": 1}),
    ("serial 8b, Booth ×2", "serial", "bitserial_dot",
     {"weight_bits": 8, "digit": "booth4", "digits_per_cycle": 2}),
    ("serial 8b, bit ×4", "serial", "bitserial_dot",
     {"weight_bits": 8, "digit": "bit", "digits_per_cycle": 4}),
    ("serial 8b planes, Booth ×1", "serial", "bitserial_dot",
     {"weight_bits": 8, "digit": "booth4", "digits_per_cycle": 1, "weight_stream": "planes"}),
    ("serial 8b planes, Booth ×2", "serial", "bitserial_dot",
     {"weight_bits": 8, "digit": "booth4", "digits_per_cycle": 2, "weight_stream": "planes"}),
)


def params_for(lanes, act_bits, extra):
    return {**BASE, "lanes": lanes, "act_bits": act_bits, "acc_bits": 2 * act_bits + 16,
            "group_size": max(128, lanes), **extra}


def performance(kind, params):
    """The performance figures the component declares in its manifest."""
    design = from_mapping({"name": "bench", "kind": kind, "params": params})
    emitted = verilog.emit(design, f"{WORK}/perf/{design.digest}")
    return json.loads(emitted.manifest.read_text())


def cycles_at(figures, weight_bits, precision):
    """Cycles per beat at ``precision``, or None when the engine cannot run it."""
    if precision > weight_bits:
        return None
    return figures["cycles_per_beat_by_prec"][str(precision)]


def mixed_cycles(figures, weight_bits):
    """Average cycles per beat over MIX, or None when a precision of MIX is out of reach."""
    cycles = [cycles_at(figures, weight_bits, precision) for precision in MIX]
    if None in cycles:
        return None
    return sum(share * count for share, count in zip(MIX.values(), cycles))


def area(kind, params, timeout, flags=""):
    """Area on every target, or with synth ``flags`` in generic gates only (flat)."""
    try:
        if not flags:
            return measuring.measure(kind, params, work_dir=f"{WORK}/measure", timeout=timeout)
        design = from_mapping({"name": "bench_dot", "kind": kind, "params": params})
        emitted = verilog.emit(design, f"{WORK}/flags/{design.digest}")
        key = measuring.cache_key(emitted.verilog.read_text(), "generic", design.name,
                                  f"synth {flags}")
        report = measuring.cached(
            measuring.DEFAULT_CACHE / "synth" / f"{key}.json",
            lambda: synth.run_synthesis(design, emitted, "generic", timeout=timeout,
                                        hierarchy=False, flags=flags))[0]
        return {"generic": synth.area_of("generic", report["cells"],
                                         report["area"]["transistors"])}
    except tools.ToolTimeout:
        return None


def fmax(kind, params, seeds, timeout):
    """Median ECP5 Fmax (MHz) out of context, cached by the Verilog, tools and seeds."""
    design = from_mapping({"name": "bench_dot", "kind": kind, "params": params})
    emitted = verilog.emit(design, f"{WORK}/pnr/{design.digest}")
    key = measuring.cache_key(emitted.verilog.read_text(), "ecp5", design.name, "pnr",
                              DEVICE, f"seeds {seeds}", tools.versions()["nextpnr-ecp5"])

    def place():
        report = pnr.place_and_route(design, emitted, "ecp5", device=DEVICE, seeds=seeds,
                                     reports_dir=emitted.dir / "reports", timeout=timeout)
        return {"fmax_mhz": report["pnr"]["fmax_mhz"],
                "fmax_by_seed": report["pnr"]["fmax_by_seed"]}

    try:
        return measuring.cached(measuring.DEFAULT_CACHE / "pnr" / f"{key}.json", place)[0]
    except tools.ToolTimeout:
        return None


def print_table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |", flush=True)


def measure_lanes(lanes, args):
    rows = []
    for label, family, kind, extra, *flags in ENGINES:
        if args.engines and not any(part in label for part in args.engines):
            continue
        params = params_for(lanes, args.act_bits, extra)
        figures = performance(kind, params)
        measured = area(kind, params, args.timeout, *flags)
        placed = not args.no_pnr and not flags and (
            args.pnr_only is None or any(part in label for part in args.pnr_only))
        timing = fmax(kind, params, args.seeds, args.timeout) if placed else None
        rows.append({"label": label, "family": family, "params": params, "figures": figures,
                     "area": measured, "fmax": timing})
    return rows


def area_table(lanes, act_bits, rows):
    print(f"\n**{lanes} lanes, int{act_bits} activations: area and Fmax**\n")
    table = []
    for row in rows:
        measured, timing = row["area"], row["fmax"]
        if measured is None:
            table.append([row["label"]] + ["over time limit"] * 9)
            continue
        generic = measured["generic"]
        fpga = ["–"] * 4
        if "ecp5" in measured:
            ice40, ecp5 = measured["ice40"], measured["ecp5"]
            fpga = [f"{ice40['lut4'] + ice40['carry']:,}", str(ice40["dsp"]),
                    f"{ecp5['lut4'] + ecp5['ccu2c']:,}", str(ecp5["mult18"])]
        table.append([
            row["label"], f"{generic['ge']:,.0f}", f"{generic['flops']:,}",
            f"{generic['ge_std']:,.0f}", *fpga,
            "–" if not timing else f"{timing['fmax_mhz']:.1f}",
            "–" if not timing else ", ".join(f"{value:.1f}" for value in timing["fmax_by_seed"]),
        ])
    print_table(["engine", "GE", "flops", "GE std", "iCE40 LUT4+carry", "DSP",
                 "ECP5 LUT4+CCU2C", "MULT18", "ECP5 Fmax MHz", "by seed"], table)


def efficiency(row, cycles):
    """``(MACs/cycle, MACs/cycle per kGE std, MACs/s per kLUT or None)``."""
    macs = row["params"]["lanes"] / cycles
    per_kge = macs / row["area"]["generic"]["ge_std"] * 1000
    per_klut = None
    if row["fmax"] and row["fmax"]["fmax_mhz"]:
        ecp5 = row["area"]["ecp5"]
        luts = ecp5["lut4"] + ecp5["ccu2c"]
        per_klut = macs * row["fmax"]["fmax_mhz"] * 1e6 / (luts / 1000)
    return macs, per_kge, per_klut


def efficiency_table(lanes, act_bits, rows):
    print(f"\n**{lanes} lanes, int{act_bits} activations: efficiency by runtime weight "
          f"precision**\n")
    workloads = [(f"{precision} bits", precision) for precision in PRECISIONS]
    mix = " + ".join(f"{share:.0%} {precision}b" for precision, share in MIX.items())
    workloads.append((f"mix ({mix})", None))
    table = []
    for name, precision in workloads:
        results = {}
        for row in rows:
            if row["area"] is None:
                continue
            weight_bits = row["params"]["weight_bits"]
            cycles = (mixed_cycles(row["figures"], weight_bits) if precision is None
                      else cycles_at(row["figures"], weight_bits, precision))
            results[row["label"]] = None if cycles is None else (cycles, *efficiency(row,
                                                                                      cycles))
        best = {}
        for row in rows:
            result = results.get(row["label"])
            if result and row["family"] != "serial":
                best[row["family"]] = max(best.get(row["family"], 0), result[2])
        for row in rows:
            result = results.get(row["label"])
            if result is None:
                table.append([name, row["label"]] + ["n/a"] * 6)
                continue
            cycles, macs, per_kge, per_klut = result

            def ratio(family):
                return f"{per_kge / best[family]:.2f}×" if family in best else "n/a"

            table.append([name, row["label"], f"{cycles:g}", f"{macs:.3g}", f"{per_kge:.3f}",
                          ratio("parallel8"), ratio("parallel4"),
                          "–" if per_klut is None else f"{per_klut / 1e6:,.1f} M"])
    print_table(["weights", "engine", "cycles/beat", "MACs/cycle", "MACs/cycle/kGE std",
                 "vs bit-parallel 8b", "vs bit-parallel 4b", "MACs/s per kLUT (ECP5)"], table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--act-bits", type=int, default=8, help="activation width")
    parser.add_argument("--engines", nargs="+", metavar="LABEL",
                        help="measure only engines whose label contains LABEL")
    parser.add_argument("--seeds", type=int, default=3, help="nextpnr seeds per design")
    placing = parser.add_mutually_exclusive_group()
    placing.add_argument("--no-pnr", action="store_true", help="skip place and route")
    placing.add_argument("--pnr-only", nargs="+", metavar="LABEL",
                         help="place and route only engines whose label contains LABEL")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds per tool run (default: %(default)s)")
    args = parser.parse_args()
    print(__doc__.split("\n\n", 2)[2].strip())
    versions = tools.versions()
    print(f"\nYosys {versions['yosys']}, nextpnr-ecp5 {versions['nextpnr-ecp5']}, "
          f"amaranth {versions['amaranth']}")
    for lanes in args.lanes:
        rows = measure_lanes(lanes, args)
        area_table(lanes, args.act_bits, rows)
        efficiency_table(lanes, args.act_bits, rows)


if __name__ == "__main__":
    main()
