"""Ternary cores at 1,024 MACs/cycle (a 32×32 tile): LUT cores against add/sub and multipliers.

    nice -n 10 .venv/bin/python bench/ternary.py [--activation fp16|bf16|int8]
        [--targets generic,ice40,ecp5] [--timeout SECONDS]

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
"""
import argparse

from hwgen.flow import tools
from hwgen.flow.measure import composed, measure

THROUGHPUT = 1024
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
          "MACs/cyc/kLUT"]


def params_of(activation, kind, mu, tables, lanes, weight_format):
    numbers, pipeline = ACTIVATIONS[activation]
    if kind != "lut":
        pipeline = {key: value for key, value in pipeline.items() if key != "table"}
    return {"mu": mu, "n_tables": tables, "lanes": lanes, "weight_format": weight_format,
            "max_len": 4096, **numbers, "pipeline": pipeline}


def measured(activation, targets, timeout, more, full):
    """``(label, kind, params, area or None)`` per row, as each is synthesized."""
    rows = ROWS[activation] + (MORE_ROWS.get(activation, []) if more else [])
    for label, kind, *shape in rows:
        params = params_of(activation, kind, *shape)
        try:
            area = (measure(f"ternary_{kind}", params, targets=targets, timeout=timeout)
                    if full else composed(f"ternary_{kind}", params, params["lanes"],
                                          targets=targets, timeout=timeout))
        except tools.ToolTimeout:
            area = None
        yield label, kind, params, area


def efficiencies(macs, area):
    """MACs/cycle per kGE std, per 1k iCE40 LUT4+carry, per 1k ECP5 LUT4+CCU2C (None where
    the target was not synthesized)."""
    views = [area.get("generic", {}).get("ge_std")]
    for target, carry in (("ice40", "carry"), ("ecp5", "ccu2c")):
        cells = area.get(target)
        views.append(cells["lut4"] + cells[carry] if cells else None)
    return [macs / value * 1000 if value else None for value in views]


def fmt(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}"


def print_table(activation, rows, timeout):
    print(f"\n**{activation}, {THROUGHPUT:,} MACs/cycle**\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER), flush=True)
    results = []
    for label, kind, params, area in rows:
        macs = params["mu"] * params["n_tables"] * params["lanes"]
        assert abs(macs - THROUGHPUT) <= THROUGHPUT // 100, (label, macs)
        shape = [label, str(params["mu"]), str(params["n_tables"]), str(params["lanes"]),
                 f"{macs:,}"]
        if area is None:
            print("| " + " | ".join(shape + [f"not finished in {timeout} s"]
                                    + ["–"] * (len(HEADER) - 6)) + " |", flush=True)
            continue
        generic, ice40, ecp5 = (area.get(target, {}) for target in ("generic", "ice40", "ecp5"))
        views = efficiencies(macs, area)
        results.append((label, kind, params, views))
        print("| " + " | ".join(shape + [
            fmt(generic.get("ge")), fmt(generic.get("flops")), fmt(generic.get("ge_std")),
            fmt(views[0], 3),
            fmt(ice40["lut4"] + ice40["carry"]) if ice40 else "–", fmt(ice40.get("dsp")),
            fmt(views[1], 2),
            fmt(ecp5["lut4"] + ecp5["ccu2c"]) if ecp5 else "–", fmt(ecp5.get("mult18")),
            fmt(views[2], 2)]) + " |", flush=True)
    print_ratios(activation, results)


def print_ratios(activation, results):
    """Best LUT core against each baseline, in every view that was measured."""
    names = ("MACs/cycle per kGE std", "MACs/cycle per iCE40 LUT4+carry",
             "MACs/cycle per ECP5 LUT4+CCU2C")
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
    parser.add_argument("--timeout", type=int, default=3600,
                        help="seconds one Yosys run may take (default: %(default)s)")
    args = parser.parse_args(argv)
    targets = tuple(args.targets.split(","))
    versions = tools.versions()
    how = ("each core synthesized whole" if args.full else
           "each core composed from its 2- and 4-lane slices")
    print(f"Ternary cores at {THROUGHPUT:,} MACs/cycle — Yosys {versions['yosys']}; {how}, "
          f"every repeated unit synthesized once (hierarchical synthesis); GE std: flops at "
          f"5.7 GE.")
    for activation in args.activation or ACTIVATIONS:
        print_table(activation, measured(activation, targets, args.timeout, args.more,
                                         args.full), args.timeout)


if __name__ == "__main__":
    main()
