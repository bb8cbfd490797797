"""The ternary LUT core (µ = 1..5) against its baselines at equal throughput, int8 and fp16.

    .venv/bin/python bench/ternary.py

Every design does 60 ternary MACs per cycle (one beat per cycle): 12 activations a beat for
5 lanes, except the µ = 5 LUT core, which takes 10 activations for 6 lanes (12 is not a
multiple of 5). The LUT core reads its native weight format (``key``), the baselines theirs
(``code2``), so no design pays for format conversion; none has pipeline registers beyond
the output. Areas are Yosys results from one run with the same tools (cached by
hwgen.flow.measure): generic CMOS gate equivalents, iCE40 (synth_ice40 -dsp) and ECP5
(synth_ecp5). The model column is hwgen.cost.ternary's prediction with its stored weights.
"""
from hwgen.cost import ternary as cost
from hwgen.flow.measure import measure

THROUGHPUT = 60
ACTIVATIONS = {"int8": {"act_type": "int", "act_bits": 8}, "fp16": {"act_type": "fp16"}}


def designs(activation):
    """``(label, kind, params)`` of every design compared for ``activation``."""
    rows = []
    for mu in range(1, 6):
        reduction = 12 if 12 % mu == 0 else 10
        rows.append((f"lut µ={mu}", "ternary_lut",
                     {"mu": mu, "n_tables": reduction // mu, "lanes": THROUGHPUT // reduction,
                      "weight_format": "key", **ACTIVATIONS[activation]}))
    for kind in ("addsub", "mac"):
        rows.append((kind, f"ternary_{kind}", {"mu": 1, "n_tables": 12, "lanes": 5,
                                               "weight_format": "code2",
                                               **ACTIVATIONS[activation]}))
    return rows


def extrapolate(scales=(1, 4, 10)):
    """MACs/cycle per kGE that the cost model predicts with more lanes (not synthesized)."""
    print(f"\nCost-model extrapolation (hwgen.cost.ternary, calibrated on cores of at most 16 "
          f"lanes; not synthesized): MACs/cycle per kGE with every design's lanes scaled "
          f"×{', ×'.join(map(str, scales))} (equal throughput within a row)\n")
    header = ["activation", "MACs/cyc"] + [label for label, _, _ in designs("int8")]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for activation in ACTIVATIONS:
        for scale in scales:
            cells = [activation, str(THROUGHPUT * scale)]
            for _, kind, params in designs(activation):
                predicted = cost.predict(kind, dict(params, lanes=params["lanes"] * scale))
                cells.append(f"{predicted['macs_per_cycle'] / predicted['generic.ge'] * 1000:.2f}")
            print("| " + " | ".join(cells) + " |")


def main():
    print(f"Ternary cores at equal throughput ({THROUGHPUT} MACs/cycle). GE: generic CMOS "
          f"estimate; iCE40 and ECP5: LUT4 / carry cells / flip-flops (DSP and multiplier "
          f"blocks where used); efficiency: MACs/cycle per kGE and per 1k iCE40 LUT4+carry.")
    for activation in ACTIVATIONS:
        rows = []
        for label, kind, params in designs(activation):
            area = measure(kind, params)
            rows.append((label, params, area, cost.predict(kind, params)))
        print(f"\n**{activation}**\n")
        header = ["design", "L", "K", "MACs/cyc", "GE", "model GE", "MACs/cyc/kGE",
                  "iCE40 LUT4", "carry", "FF", "DSP", "MACs/cyc/kLUT", "ECP5 LUT4", "CCU2C",
                  "FF", "MULT18"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        efficiency = {}
        for label, params, area, model in rows:
            macs = params["mu"] * params["n_tables"] * params["lanes"]
            assert macs == THROUGHPUT
            ice40 = area["ice40"]["lut4"] + area["ice40"]["carry"]
            efficiency[label] = (macs / area["generic"]["ge"] * 1000, macs / ice40 * 1000,
                                 macs / (area["ecp5"]["lut4"] + area["ecp5"]["ccu2c"]) * 1000)
            print("| " + " | ".join([
                label, str(params["n_tables"]), str(params["lanes"]), str(macs),
                f"{area['generic']['ge']:,.0f}", f"{model['generic.ge']:,.0f}",
                f"{efficiency[label][0]:.2f}",
                f"{area['ice40']['lut4']:,}", f"{area['ice40']['carry']:,}",
                f"{area['ice40']['ff']:,}", f"{area['ice40']['dsp']}",
                f"{efficiency[label][1]:.1f}",
                f"{area['ecp5']['lut4']:,}{' †' if 'workaround' in area['ecp5'] else ''}",
                f"{area['ecp5']['ccu2c']:,}", f"{area['ecp5']['ff']:,}",
                f"{area['ecp5']['mult18']}"]) + " |")
        notes = {area["ecp5"]["workaround"] for _, _, area, _ in rows
                 if "workaround" in area["ecp5"]}
        for note in sorted(notes):
            print(f"\n† {note}.")
        for index, view in enumerate(("GE", "iCE40 LUT4+carry", "ECP5 LUT4+CCU2C")):
            best = max(efficiency, key=lambda label: efficiency[label][index])
            lut = max((label for label in efficiency if label.startswith("lut")),
                      key=lambda label: efficiency[label][index])
            baseline = max((label for label in efficiency if not label.startswith("lut")),
                           key=lambda label: efficiency[label][index])
            ratio = efficiency[lut][index] / efficiency[baseline][index]
            print(f"\n{activation}, by {view}: best design **{best}**; best LUT core ({lut}) "
                  f"vs best baseline ({baseline}): {ratio:.2f}× the MACs/cycle per area")
    extrapolate()


if __name__ == "__main__":
    main()
