"""The bit-plane LUT core against multiplier engines and the ternary LUT core, at equal MACs/cycle.

    nice -n 10 .venv/bin/python bench/bitplane.py [--activation fp16|int8] [--bits 2,4]
        [--rows "bitplane parallel,mac full"] [--targets generic,ecp5] [--timeout SECONDS]

Every row does the same number of multiply-accumulates per cycle (``MACS``, 256 by default) at
full precision of its weight width ``w``; a row's ``MACs/cyc`` column says how, and every
ratio is per MAC. Rows per activation type and weight width:

* ``bitplane serial``: ``lut_bitplane_dot`` walking the ``w`` planes one per cycle (K·L·µ = MACS·w);
* ``bitplane parallel``: ``lut_bitplane_dot`` fetching all planes at once (K·L·µ = MACS);
* ``bitparallel array`` / ``booth`` (int8 only): ``bitparallel_dot``, one exact ``8 × w``
  multiplier per activation (the narrowest ``*``, or radix-4 Booth rows), MACS/64 engines of 64
  lanes;
* ``bitserial``: ``bitserial_dot``, one weight bit per cycle, 64 lanes, MACS·w/64 engines;
  both kinds start at 2-bit weights, so at ``w = 1`` their rows are the 2-bit engines
  (labelled ``w=2 engine``);
* ``ternary lut`` (``w ≤ 2``): ``ternary_lut`` — ternary weights, 3 of the 4 codes of 2 bits,
  a superset of the 1-bit codes;
* ``mac full`` (fp16 only): ``ternary_mac`` with fp16 weight values, a full fp16 × fp16 IEEE
  multiplier per weight — the dequantize-then-multiply engine; hwgen has no fp16 × narrow-int
  multiplier engine, so this is the only multiplier baseline for fp16 activations.

All use per-group scales except the ternary kinds (which have none). Pipelining: floats
register every adder level of the reduction tree and of the table build; int8 every fourth
level of the tables' trees, the bit-serial family halfway through its tree.

``--rows`` keeps only the named rows (comma-separated labels), for a run that must fit the
machine's time. Areas are Yosys results from one run with the same tools (cached by
hwgen.flow.measure), each repeated unit synthesized once and counted per instance. Multi-lane
table cores are composed from 2- and 4-lane slices (``hwgen.flow.measure.composed``, as
bench/ternary.py does; a lane does not depend on K); engines with one output are counted per
engine. GE std: flops at 5.7 GE. Efficiency: MACs/cycle per kGE std (and per 1,000 ECP5 LUT4 +
CCU2C cells with ``--targets generic,ecp5``; DSPs apart).
"""
import argparse

from hwgen.flow import tools
from hwgen.flow.measure import composed, measure

MACS = 256
MU, TABLES = 4, 8  # the table shape of the bit-plane and ternary LUT rows: 32 activations a beat
ENGINE_LANES = 64  # activations per beat of a bit-serial family engine (the kind's maximum)
ACTIVATIONS = {
    "fp16": ({"act_type": "fp16"}, {"tree_every": 1, "table": True}),
    "int8": ({"act_type": "int", "act_bits": 8}, {"tree_every": 4, "table": False}),
}
HEADER = ["design", "w", "shape", "MACs/cyc", "GE", "flops", "GE std", "MACs/cyc/kGE std",
          "ECP5 LUT4+CCU2C", "MULT18", "MACs/cyc/kLUT"]


def rows(activation, bits):
    """``(label, kind, params, copies, lanes to compose or None)`` for one weight width."""
    numbers, pipeline = ACTIVATIONS[activation]
    table = {"mu": MU, "n_tables": TABLES, "max_len": 4096, **numbers, "pipeline": pipeline}
    per_beat = MU * TABLES
    plane = {**table, "weight_bits": bits, "group_size": 128}
    result = [
        ("bitplane serial", "lut_bitplane_dot", {**plane, "planes": "serial"}, 1,
         MACS * bits // per_beat),
        ("bitplane parallel", "lut_bitplane_dot", {**plane, "planes": "parallel"}, 1,
         MACS // per_beat),
    ]
    if bits <= 2:
        result.append(("ternary lut", "ternary_lut", {**table, "weight_format": "key"}, 1,
                       MACS // per_beat))
    if activation == "fp16":
        result.append(("mac full", "ternary_mac",
                       {**table, "mu": 1, "n_tables": per_beat, "weight_format": "fp16",
                        "pipeline": {"tree_every": 1}}, 1, MACS // per_beat))
    else:
        engine_bits = max(bits, 2)   # the bit-serial family's narrowest weights
        engine = {"lanes": ENGINE_LANES, "act_bits": 8, "weight_bits": engine_bits,
                  "weight_format": "int", "group_size": 128, "pipeline_tree": True}
        note = "" if engine_bits == bits else f" (w={engine_bits} engine)"
        for multiplier in ("array", "booth"):
            result.append((f"bitparallel {multiplier}{note}", "bitparallel_dot",
                           {**engine, "multiplier": multiplier}, MACS // ENGINE_LANES, None))
        result.append((f"bitserial{note}", "bitserial_dot", {**engine, "digit": "bit"},
                       MACS * engine_bits // ENGINE_LANES, None))
    return result


def area_of(kind, params, copies, lanes, targets, timeout):
    """Figures of ``copies`` engines, or of a ``lanes``-lane core composed from slices."""
    if lanes is not None:
        return composed(kind, params, lanes, targets=targets, timeout=timeout)
    one = measure(kind, params, targets=targets, timeout=timeout)
    return {target: {column: value * copies for column, value in one[target].items()
                     if isinstance(value, (int, float))} for target in targets}


def fmt(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}"


def table(activation, bits, targets, timeout, only):
    print(f"\n**{activation} activations, {bits}-bit weights, {MACS} MACs/cycle**\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER), flush=True)
    results = []
    for label, kind, params, copies, lanes in rows(activation, bits):
        if only and label.split(" (")[0] not in only:
            continue
        shape = (f"µ={params['mu']} L={params['n_tables']} K={lanes}" if lanes
                 else f"{copies} × {params['lanes']} lanes")
        try:
            area = area_of(kind, params, copies, lanes, targets, timeout)
        except tools.ToolTimeout:
            print(f"| {label} | {bits} | {shape} | {MACS} | not finished in {timeout} s |",
                  flush=True)
            continue
        generic, ecp5 = area.get("generic", {}), area.get("ecp5")
        per_kge = MACS / generic["ge_std"] * 1000 if generic else None
        cells = ecp5["lut4"] + ecp5["ccu2c"] if ecp5 else None
        per_klut = MACS / cells * 1000 if cells else None
        results.append((label, per_kge, per_klut))
        print("| " + " | ".join([label, str(bits), shape, str(MACS), fmt(generic.get("ge")),
                                 fmt(generic.get("flops")), fmt(generic.get("ge_std")),
                                 fmt(per_kge, 3), fmt(cells), fmt(ecp5 and ecp5.get("mult18")),
                                 fmt(per_klut, 2)]) + " |", flush=True)
    for index, view in ((1, "MACs/cycle per kGE std"), (2, "MACs/cycle per ECP5 kLUT")):
        measured = [(row[0], row[index]) for row in results if row[index] is not None]
        planes = [row for row in measured if row[0].startswith("bitplane")]
        others = [row for row in measured if not row[0].startswith("bitplane")]
        if planes and others:
            best = max(planes, key=lambda row: row[1])
            print(f"* {activation}, w={bits}, {view}: best {best[0]} is " + ", ".join(
                f"{best[1] / value:.2f}× {label}" for label, value in others), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=list(ACTIVATIONS), action="append",
                        help="activation types to compare (default: fp16, then int8)")
    parser.add_argument("--bits", default="2,4,1,3",
                        help="comma-separated weight widths, in order (default: %(default)s)")
    parser.add_argument("--rows", default="",
                        help="comma-separated row labels to measure (default: every row)")
    parser.add_argument("--targets", default="generic",
                        help="comma-separated synthesis targets (default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=3600,
                        help="seconds one Yosys run may take (default: %(default)s)")
    args = parser.parse_args(argv)
    targets = tuple(args.targets.split(","))
    only = {label.strip() for label in args.rows.split(",") if label.strip()}
    labels = {row[0].split(" (")[0] for activation in ACTIVATIONS for bits in range(1, 5)
              for row in rows(activation, bits)}
    if only - labels:
        parser.error(f"--rows must name rows among {sorted(labels)}, not "
                     f"{sorted(only - labels)!r}")
    print(f"Bit-plane LUT core against multiplier engines at {MACS} MACs/cycle — Yosys "
          f"{tools.versions()['yosys']}; repeated units synthesized once; GE std: flops at "
          f"5.7 GE.")
    for activation in args.activation or ACTIVATIONS:
        for bits in (int(value) for value in args.bits.split(",")):
            table(activation, bits, targets, args.timeout, only)


if __name__ == "__main__":
    main()
