"""Ternary cores at 1,024 MACs/cycle (a 32×32 tile): LUT cores against add/sub and multipliers.

    nice -n 10 .venv/bin/python bench/ternary.py [--activation fp16|bf16|int8]
        [--targets generic,ice40,ecp5] [--timeout SECONDS] [--pnr [LABEL ...] [--seeds N]]

Every row does (about) 1,024 ternary MACs per cycle, one beat per cycle: the shape of the
published 32×32 tile (32 activations a beat, 32 output lanes) for the baselines, and for the
LUT cores the shapes where their tables are shared by many lanes (L tables of µ activations,
K lanes, L·µ·K within 1 % of 1,024; the exact count is printed and every ratio is per MAC).

Designs, all with the same weights-per-cycle and the same pipelining within an activation
type (floats: a register after every adder level of the reduction tree and of the table
build; int8: after every 4 levels, the table build sharing the first stage):

* ``lut µ=…``: ``ternary_lut`` with ``key`` weights;
* ``addsub``: ``ternary_addsub`` (every weight selects +a, −a or 0) with ``code2`` weights;
* ``mac ±1``: ``ternary_mac`` with ``code2`` weights: a multiplier whose weight operand is
  0/±1, which synthesis folds to a sign flip;
* ``mac full``: ``ternary_mac`` with weights as values of the activation type (a dequantized
  weight meets a full fp16×fp16, bf16×bf16 or int8×int8 multiplier; IEEE rounding for
  floats) — the multiplier baseline of the published comparisons.

Areas are Yosys results from one run with the same tools (cached by hwgen.flow.measure),
each repeated unit (a lane, a table, an adder) synthesized once and counted per instance.
By default a row is **composed from two slices** of its tile, the same design with 2 and 4
lanes: a lane does not depend on K (every lane, table and adder is the identical module the
K-lane core holds), and the rest of the core (the weight validity checks, the keys' delay
line, the result wiring) is the same logic per lane, so the K-lane figure is
``slice(2) + (slice(4) − slice(2)) · (K − 2) / 2``. ``--full`` synthesizes the K-lane core
itself instead (the same units; its emission takes a few CPU minutes per core, too long for
this shared machine in one session). Figures:
generic CMOS gate equivalents, plain (``GE``: a flop is 4 GE) and with flops at a standard
cell's 5.7 GE (``GE std``, the figure the efficiency uses); iCE40 (synth_ice40 -dsp) and ECP5
(synth_ecp5) LUT4 and carry cells, DSP blocks apart. Efficiency: MACs/cycle per kGE std and
per 1,000 LUT4+carry cells.

Fmax (``--pnr``; only the rows whose labels contain a LABEL when labels are given): no core
fits an FPGA whole, so each row is timed by its largest repeated unit (a lane or a table),
taken from the core's 2-lane slice and placed and routed out of context on an ECP5 LFE5U-85F
by :mod:`hwgen.flow.pnr` (its ports registered in a harness), median and every seed of
``--seeds``. MACs/s per kLUT is MACs/cycle × that Fmax per 1,000 ECP5 LUT4+CCU2C of the whole
core (DSP blocks not counted: see the MULT18 column).
"""
import argparse

from hwgen.config import from_mapping
from hwgen.flow import pnr, tools, verilog
from hwgen.flow.measure import composed, measure

THROUGHPUT = 1024
DEVICE = "85k"
# activation → (parameters, pipeline): floats register every adder level (one IEEE adder a
# stage), int8 every fourth (the table build's one or two narrow adders share the first stage,
# so an int8 table is not registered on its own).
ACTIVATIONS = {
    "fp16": ({"act_type": "fp16"}, {"tree_every": 1, "table": True}),
    "bf16": ({"act_type": "bf16"}, {"tree_every": 1, "table": True}),
    "int8": ({"act_type": "int", "act_bits": 8}, {"tree_every": 4, "table": False}),
}
# activation → rows (label, kind, µ, L, K, weight format): the comparison every run makes.
ROWS = {
    "fp16": [("lut µ=3", "lut", 3, 6, 57, "key"), ("addsub", "addsub", 1, 32, 32, "code2"),
             ("mac full", "mac", 1, 32, 32, "fp16")],
    "bf16": [("lut µ=3", "lut", 3, 6, 57, "key"), ("addsub", "addsub", 1, 32, 32, "code2"),
             ("mac full", "mac", 1, 32, 32, "bf16")],
    "int8": [("lut µ=1", "lut", 1, 32, 32, "key"), ("lut µ=2", "lut", 2, 16, 32, "key"),
             ("lut µ=3", "lut", 3, 6, 57, "key"), ("addsub", "addsub", 1, 32, 32, "code2"),
             ("mac ±1", "mac", 1, 32, 32, "code2"), ("mac full", "mac", 1, 32, 32, "int")],
}
# More shapes around the best ones (``--more``): other µ and table/lane splits.
MORE_ROWS = {
    "fp16": [("lut µ=2", "lut", 2, 16, 32, "key"), ("lut µ=3", "lut", 3, 3, 114, "key"),
             ("lut µ=3", "lut", 3, 11, 31, "key"), ("lut µ=4", "lut", 4, 4, 64, "key"),
             ("mac ±1", "mac", 1, 32, 32, "code2")],
    "bf16": [("lut µ=2", "lut", 2, 16, 32, "key")],
    "int8": [("lut µ=2", "lut", 2, 8, 64, "key"), ("addsub", "addsub", 1, 128, 8, "code2")],
}
HEADER = ["design", "µ", "L", "K", "MACs/cyc", "GE", "flops", "GE std", "MACs/cyc/kGE std",
          "iCE40 LUT4+carry", "DSP", "MACs/cyc/kLUT", "ECP5 LUT4+CCU2C", "MULT18",
          "MACs/cyc/kLUT", "ECP5 Fmax MHz (unit, out of context)", "by seed", "MACs/s per kLUT"]


def params_of(activation, kind, mu, tables, lanes, weight_format):
    numbers, pipeline = ACTIVATIONS[activation]
    if kind != "lut":
        pipeline = {key: value for key, value in pipeline.items() if key != "table"}
    return {"mu": mu, "n_tables": tables, "lanes": lanes, "weight_format": weight_format,
            "max_len": 4096, **numbers, "pipeline": pipeline}


def measured(activation, targets, timeout, more, full, placing, seeds):
    """``(label, kind, params, area or None, placement or None)`` per row, as each is
    synthesized; rows whose label ``placing(label)`` accepts are placed and routed."""
    rows = ROWS[activation] + (MORE_ROWS.get(activation, []) if more else [])
    for label, kind, *shape in rows:
        params = params_of(activation, kind, *shape)
        try:
            area = (measure(f"ternary_{kind}", params, targets=targets, timeout=timeout)
                    if full else composed(f"ternary_{kind}", params, params["lanes"],
                                          targets=targets, timeout=timeout))
        except tools.ToolTimeout:
            area = None
        placed = placed_unit(kind, params, seeds, timeout) if area and placing(label) else None
        yield label, kind, params, area, placed


def placed_unit(kind, params, seeds, timeout):
    """The ``pnr`` section of the largest repeated unit of the core's 2-lane slice (its lanes
    and tables are the core's), placed out of context on ECP5 (cached with every other
    place-and-route result); ``{"error": why}`` when a tool run takes longer than ``timeout``
    or the slice has no repeated unit to place."""
    design = from_mapping({"name": f"ternary_{kind}", "kind": f"ternary_{kind}",
                           "params": {**params, "lanes": 2}})
    emitted = verilog.emit(design, f"build/bench_ternary/{design.digest}")
    try:
        report, _ = pnr.place_and_route_cached(design, emitted, "ecp5", device=DEVICE,
                                               seeds=seeds, reports_dir=emitted.dir / "reports",
                                               timeout=timeout, unit=True)
    except tools.ToolTimeout:
        return {"error": f"not finished in {timeout} s"}
    except pnr.FitError as error:
        return {"error": error.detail}
    return report["pnr"]


def efficiencies(macs, area, fmax_mhz):
    """MACs/cycle per kGE std, per 1k iCE40 LUT4+carry, per 1k ECP5 LUT4+CCU2C, and MACs/s
    per 1k ECP5 LUT4+CCU2C at ``fmax_mhz`` (None where the target was not synthesized or
    nothing was placed)."""
    views = [area.get("generic", {}).get("ge_std")]
    for target, carry in (("ice40", "carry"), ("ecp5", "ccu2c")):
        cells = area.get(target)
        views.append(cells["lut4"] + cells[carry] if cells else None)
    efficiency = [macs / value * 1000 if value else None for value in views]
    return efficiency + [efficiency[2] * fmax_mhz * 1e6 if efficiency[2] and fmax_mhz else None]


def fmt(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}"


def print_table(activation, rows, timeout):
    print(f"\n**{activation}, {THROUGHPUT:,} MACs/cycle**\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER), flush=True)
    results = []
    for label, kind, params, area, placed in rows:
        macs = params["mu"] * params["n_tables"] * params["lanes"]
        assert abs(macs - THROUGHPUT) <= THROUGHPUT // 100, (label, macs)
        shape = [label, str(params["mu"]), str(params["n_tables"]), str(params["lanes"]),
                 f"{macs:,}"]
        if area is None:
            print("| " + " | ".join(shape + [f"not finished in {timeout} s"]
                                    + ["–"] * (len(HEADER) - 6)) + " |", flush=True)
            continue
        generic, ice40, ecp5 = (area.get(target, {}) for target in ("generic", "ice40", "ecp5"))
        placed = placed or {}
        views = efficiencies(macs, area, placed.get("fmax_mhz"))
        results.append((label, kind, params, views))
        if "error" in placed:
            timing = [placed["error"], "–"]
        elif placed:
            timing = [f"{fmt(placed['fmax_mhz'], 1)} ({placed['unit']})",
                      ", ".join(fmt(fmax, 1) for fmax in placed["fmax_by_seed"])]
        else:
            timing = ["–", "–"]
        print("| " + " | ".join(shape + [
            fmt(generic.get("ge")), fmt(generic.get("flops")), fmt(generic.get("ge_std")),
            fmt(views[0], 3),
            fmt(ice40["lut4"] + ice40["carry"]) if ice40 else "–", fmt(ice40.get("dsp")),
            fmt(views[1], 2),
            fmt(ecp5["lut4"] + ecp5["ccu2c"]) if ecp5 else "–", fmt(ecp5.get("mult18")),
            fmt(views[2], 2), *timing,
            "–" if views[3] is None else f"{views[3] / 1e6:,.1f} M"]) + " |", flush=True)
    print_ratios(activation, results)


def print_ratios(activation, results):
    """Best LUT core against each baseline, in every view that was measured."""
    names = ("MACs/cycle per kGE std", "MACs/cycle per iCE40 LUT4+carry",
             "MACs/cycle per ECP5 LUT4+CCU2C", "MACs/s per ECP5 LUT4+CCU2C at the unit's Fmax")
    print()
    for index, name in enumerate(names):
        rows = [(label, kind, params, views[index]) for label, kind, params, views in results
                if views[index] is not None]
        luts = [row for row in rows if row[1] == "lut"]
        if not luts:
            continue
        best = max(luts, key=lambda row: row[3])
        shape = f"{best[0]} (L={best[2]['n_tables']}, K={best[2]['lanes']})"
        against = [f"{best[3] / value:.2f}× {label}" for label, kind, _, value in rows
                   if kind != "lut"]
        print(f"* {activation}, {name}: best LUT core {shape} is " + ", ".join(against))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=list(ACTIVATIONS), action="append",
                        help="compare only these activation types (default: all)")
    parser.add_argument("--targets", default="generic,ice40,ecp5",
                        help="comma-separated synthesis targets (default: %(default)s)")
    parser.add_argument("--full", action="store_true",
                        help="synthesize every K-lane core whole instead of composing it from "
                             "its 2- and 4-lane slices")
    parser.add_argument("--more", action="store_true",
                        help="also measure the shapes of MORE_ROWS (other µ and L/K splits)")
    parser.add_argument("--pnr", nargs="*", metavar="LABEL",
                        help="place and route each row's largest repeated unit out of context "
                             "on ECP5 (only rows whose label contains a LABEL, when given; "
                             "adds ecp5 to the targets)")
    parser.add_argument("--seeds", type=int, default=pnr.DEFAULT_SEEDS,
                        help="nextpnr seeds per unit (default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=3600,
                        help="seconds one Yosys or nextpnr run may take (default: %(default)s)")
    args = parser.parse_args(argv)
    targets = tuple(args.targets.split(","))
    if args.pnr is not None and "ecp5" not in targets:
        targets += ("ecp5",)

    def placing(label):
        return args.pnr is not None and (not args.pnr or any(part in label
                                                               for part in args.pnr))

    versions = tools.versions()
    how = ("each core synthesized whole" if args.full else
           "each core composed from its 2- and 4-lane slices")
    print(f"Ternary cores at {THROUGHPUT:,} MACs/cycle — Yosys {versions['yosys']}; {how}, "
          f"every repeated unit synthesized once (hierarchical synthesis); GE std: flops at "
          f"5.7 GE." + (f" Fmax: nextpnr-ecp5 {versions['nextpnr-ecp5']} on LFE5U-{DEVICE[:-1]}F, "
                        f"{args.seeds} seed{'s' * (args.seeds > 1)}." if args.pnr is not None
                        else ""))
    for activation in args.activation or ACTIVATIONS:
        print_table(activation, measured(activation, targets, args.timeout, args.more,
                                         args.full, placing, args.seeds), args.timeout)


if __name__ == "__main__":
    main()
