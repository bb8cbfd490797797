"""The ternary LUT core (µ = 1..5) against its baselines at equal throughput, int8 and fp16.

    .venv/bin/python bench/ternary.py [--activation int8|fp16] [--timeout SECONDS]

Within a table every design does the same ternary MACs per cycle (one beat per cycle): 12,
the smallest throughput µ = 1..4 (int8) and µ = 1..3 (fp16) all divide. Equal throughput
with µ = 5 as well needs 60 MACs/cycle, where the fp16 designs are 50k–200k GE each (a µ = 5
fp16 table alone is 116 fp16 adders) and Yosys' ABC9 mapping for iCE40/ECP5 takes about 25
CPU seconds per fp16 adder: too slow to run here, so a last table gives the cost model's
prediction (not synthesized) at 60 MACs/cycle, µ = 1..5, for both activation types.

For each design the cost model (hwgen.cost.ternary) picks the shape, L tables (L·µ
activations a beat) and K lanes with µ·L·K = throughput, that it predicts smallest in GE;
Yosys then measures that shape. The LUT core reads its native weight format (``key``), the
baselines theirs (``code2``), so no design pays for format conversion; none has pipeline
registers beyond the output. Areas are Yosys results from one run with the same tools
(cached by hwgen.flow.measure): generic CMOS gate equivalents, iCE40 (synth_ice40 -dsp) and
ECP5 (synth_ecp5). A design whose synthesis exceeds the timeout is listed as not finished,
with its model prediction, and left out of the ranking.
"""
import argparse

from hwgen.cost import ternary as cost
from hwgen.flow import tools
from hwgen.flow.measure import measure

ACTIVATIONS = {"int8": {"act_type": "int", "act_bits": 8}, "fp16": {"act_type": "fp16"}}
# activation → (MACs per cycle, the µ of the LUT cores) of the synthesized comparison
COMPARED = {"int8": (12, (1, 2, 3, 4)), "fp16": (12, (1, 2, 3))}
MODELLED = {"int8": (60, (1, 2, 3, 4, 5)), "fp16": (60, (1, 2, 3, 4, 5))}
LIMIT = 64  # the largest n_tables and lanes the parameters allow


def cheapest_shape(kind, mu, activation, weight_format, throughput):
    """Parameters of ``kind`` at µ = ``mu`` with µ·L·K = ``throughput`` that the cost model
    predicts smallest in GE."""
    per_mu = throughput // mu
    candidates = [{"mu": mu, "n_tables": tables, "lanes": per_mu // tables,
                   "weight_format": weight_format, **ACTIVATIONS[activation]}
                  for tables in range(1, LIMIT + 1)
                  if per_mu % tables == 0 and per_mu // tables <= LIMIT]
    return min(candidates, key=lambda params: cost.predict(kind, params)["generic.ge"])


def designs(activation, throughput, mus):
    """``(label, kind, params)`` of every design compared for ``activation``."""
    rows = [(f"lut µ={mu}", "ternary_lut",
             cheapest_shape("ternary_lut", mu, activation, "key", throughput)) for mu in mus]
    rows += [(kind, f"ternary_{kind}",
              cheapest_shape(f"ternary_{kind}", 1, activation, "code2", throughput))
             for kind in ("addsub", "mac")]
    return rows


def measured_rows(activation, timeout):
    """``(label, params, area or None, model)`` per design, as each is synthesized; ``None``
    where Yosys timed out."""
    for label, kind, params in designs(activation, *COMPARED[activation]):
        try:
            area = measure(kind, params, timeout=timeout)
        except tools.ToolError as error:
            if not isinstance(error, tools.ToolTimeout):
                raise
            area = None
        yield label, params, area, cost.predict(kind, params)


def print_table(activation, rows, timeout):
    throughput = COMPARED[activation][0]
    print(f"\n**{activation}, {throughput} MACs/cycle**\n")
    header = ["design", "L", "K", "MACs/cyc", "GE", "model GE", "MACs/cyc/kGE",
              "iCE40 LUT4", "carry", "FF", "DSP", "MACs/cyc/kLUT", "ECP5 LUT4", "CCU2C",
              "FF", "MULT18"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    efficiency, notes = {}, set()
    for label, params, area, model in rows:
        macs = params["mu"] * params["n_tables"] * params["lanes"]
        assert macs == throughput
        shape = [label, str(params["n_tables"]), str(params["lanes"]), str(macs)]
        if area is None:
            print("| " + " | ".join(shape + [f"not finished in {timeout} s",
                                             f"{model['generic.ge']:,.0f}"]
                                    + ["–"] * (len(header) - 6)) + " |", flush=True)
            continue
        ice40 = area["ice40"]["lut4"] + area["ice40"]["carry"]
        efficiency[label] = (macs / area["generic"]["ge"] * 1000, macs / ice40 * 1000,
                             macs / (area["ecp5"]["lut4"] + area["ecp5"]["ccu2c"]) * 1000)
        print("| " + " | ".join(shape + [
            f"{area['generic']['ge']:,.0f}", f"{model['generic.ge']:,.0f}",
            f"{efficiency[label][0]:.2f}",
            f"{area['ice40']['lut4']:,}", f"{area['ice40']['carry']:,}",
            f"{area['ice40']['ff']:,}", f"{area['ice40']['dsp']}",
            f"{efficiency[label][1]:.1f}",
            f"{area['ecp5']['lut4']:,}{' †' if 'workaround' in area['ecp5'] else ''}",
            f"{area['ecp5']['ccu2c']:,}", f"{area['ecp5']['ff']:,}",
            f"{area['ecp5']['mult18']}"]) + " |", flush=True)
        if "workaround" in area["ecp5"]:
            notes.add(area["ecp5"]["workaround"])
    for note in sorted(notes):
        print(f"\n† {note}.")
    luts = [label for label in efficiency if label.startswith("lut")]
    baselines = [label for label in efficiency if not label.startswith("lut")]
    for index, view in enumerate(("GE", "iCE40 LUT4+carry", "ECP5 LUT4+CCU2C")):
        def by_view(label):
            return efficiency[label][index]
        best, lut, baseline = (max(labels, key=by_view)
                               for labels in (list(efficiency), luts, baselines))
        print(f"\n{activation}, by {view}: best design **{best}**; best LUT core ({lut}) "
              f"vs best baseline ({baseline}): {by_view(lut) / by_view(baseline):.2f}× the "
              f"MACs/cycle per area")


def print_model_table():
    for activation, (throughput, mus) in MODELLED.items():
        print(f"\nCost model only (hwgen.cost.ternary, not synthesized): {activation} at "
              f"{throughput} MACs/cycle\n")
        print("| design | L | K | model GE | model MACs/cyc/kGE |")
        print("|---|---|---|---|---|")
        for label, kind, params in designs(activation, throughput, mus):
            ge = cost.predict(kind, params)["generic.ge"]
            print(f"| {label} | {params['n_tables']} | {params['lanes']} | {ge:,.0f} | "
                  f"{throughput / ge * 1000:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=list(COMPARED), action="append",
                        help="compare only these activation types (default: all)")
    parser.add_argument("--timeout", type=int, default=3600,
                        help="seconds one Yosys run may take (default: %(default)s)")
    args = parser.parse_args(argv)
    print("Ternary cores at equal throughput (per table), each at the shape (L tables, K "
          "lanes) the cost model predicts smallest. GE: generic CMOS estimate; "
          "iCE40 and ECP5: LUT4 / carry cells / flip-flops (DSP and multiplier blocks where "
          "used); efficiency: MACs/cycle per kGE and per 1k iCE40 LUT4+carry.")
    for activation in args.activation or COMPARED:
        print_table(activation, measured_rows(activation, args.timeout), args.timeout)
    print_model_table()


if __name__ == "__main__":
    main()
