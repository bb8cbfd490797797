"""Modular reduction at real moduli: every method's area, Fmax, throughput and efficiency.

For moduli of 64, 128, 254, 381 and 1024 bits (Goldilocks, secp128r1's order, BN254 p,
BLS12-381 p, the RFC 2409 1024-bit MODP prime), with x < 2^2n:

1. the sweep that picks the hybrid (ALLMod) split: lut_groups × merge_level, Yosys GE at 64
   and 128 bits; at the larger widths the split is picked from the same grid by the cost
   model (hwgen.cost.modred, fitted to Yosys by bench/modred_cost.py);
2. every method: generic GE (Yosys, cmos2), iCE40 (synth_ice40 -dsp: LUT4, carry, BRAM, DSP),
   ECP5 (synth_ecp5 + nextpnr-ecp5 on an LFE5U-85F out of context: LUT4, CCU2C, MULT18, EBR
   and Fmax), results per cycle, and area efficiency — results/cycle per kGE, and
   results/cycle × Fmax per ECP5 kLUT (LUT4 + 2 × CCU2C, the two LUTs a carry cell takes);
3. hybrid/lut efficiency ratios (the ALLMod paper reports 1.65x at 128 bits).

Everything is measured in this run with the same tools; synthesis results are cached by
hwgen.flow.measure and place-and-route results in build/bench_modred, so a rerun only redoes
what changed. A job that exceeds the per-tool time limit (HWGEN_BENCH_TIMEOUT seconds,
default 1200) is reported as "over N s" (so a rerun with a tiny limit prints the tables from
the caches, marking what is not measured yet), and configurations whose predicted size is
beyond what this machine synthesizes in that time are listed as skipped with their
predicted GE (HWGEN_BENCH_MAX_GE, default 300000; place and route: HWGEN_BENCH_PNR_MAX_GE,
default 60000). HWGEN_BENCH_MODULI narrows the list of moduli, HWGEN_BENCH_SWEEP the moduli whose
hybrid split sweep is synthesized (default: the 64- and 128-bit ones).

    .venv/bin/python bench/modred.py
"""
import hashlib
import json
import os
import pathlib
import sys
import time

from hwgen.config import from_mapping
from hwgen.cost import modred as cost
from hwgen.flow import pnr, tools, verilog
from hwgen.flow.files import write_atomic
from hwgen.golden import modred as golden
from hwgen.golden.moduli import MODULI

from modred_cost import ATTEMPTS, full_params, measure_with_retries

WORK = pathlib.Path("build/bench_modred")
TIMEOUT = float(os.environ.get("HWGEN_BENCH_TIMEOUT", "1200"))
# Budgets for a 2-core machine: configurations predicted larger than MAX_GE are not
# synthesized, those measured larger than PNR_MAX_GE are not placed and routed.
MAX_PREDICTED_GE = float(os.environ.get("HWGEN_BENCH_MAX_GE", "300000"))
PNR_MAX_GE = float(os.environ.get("HWGEN_BENCH_PNR_MAX_GE", "60000"))
MODULI_BY_WIDTH = os.environ.get(
    "HWGEN_BENCH_MODULI", "goldilocks secp128r1_n bn254_p bls12_381_p modp1024").split()
# Moduli whose hybrid split sweep is synthesized; the others' split is picked by the model.
SWEPT = [modulus for modulus in os.environ.get("HWGEN_BENCH_SWEEP",
                                               "goldilocks secp128r1_n").split()
         if modulus in MODULI_BY_WIDTH]
METHODS = ["lut", "lut-bram", "iterative", "hybrid", "barrett", "montgomery", "special"]
K = 4


def log(message):
    print(message, file=sys.stderr, flush=True)


def split_grid(q, in_bits, merge_levels=True):
    """Splits to try: a spread of lut_groups, each merged early (0) and late (the whole
    table tree first) or only late."""
    groups = golden.hybrid_groups(q, in_bits, K)
    splits = sorted({0, groups // 8, groups // 4, groups // 2, 3 * groups // 4, groups - 1})
    grid = []
    for lut_groups in splits:
        depth = (lut_groups - 1).bit_length() if lut_groups else 0
        for merge_level in sorted({0, depth} if merge_levels else {depth}):
            grid.append({"lut_groups": lut_groups, "merge_level": merge_level})
    return grid


def safe_measure(kind, params, targets, name):
    """Area per target; a target whose tool fails is reported as such, the others still count."""
    results = {}
    for target in targets:
        try:
            results.update(measure_with_retries(kind, params, targets=(target,), name=name,
                                                work_dir=WORK / "measure", timeout=TIMEOUT))
        except tools.ToolError as error:
            log(f"  {name} {target}: {error.tool} failed: {error.detail.splitlines()[-1]}")
            failure = f"over {TIMEOUT:.0f} s" if isinstance(error, tools.ToolTimeout) else "failed"
            results[target] = {"error": failure}
    return results


def ecp5_pnr(kind, params, name):
    """ECP5 area and Fmax from hwgen.flow.pnr, cached by the Verilog's hash."""
    design = from_mapping({"name": name, "kind": kind, "params": dict(params)})
    emitted = verilog.emit(design, WORK / "pnr" / design.digest)
    text = emitted.verilog.read_text()
    key = hashlib.sha256((text + json.dumps(tools.versions(), sort_keys=True)).encode())
    cached = WORK / "pnr_cache" / f"{key.hexdigest()}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    for attempt in range(1, ATTEMPTS + 1):
        try:
            report = pnr.place_and_route(design, emitted, "ecp5", device="85k",
                                         reports_dir=emitted.dir / "reports", timeout=TIMEOUT)
            result = {"area": report["area"], "fmax_mhz": report["pnr"]["fmax_mhz"],
                      "nextpnr": report["pnr"]["tools"]["nextpnr"]}
            break
        except pnr.FitError as error:
            result = {"error": str(error).splitlines()[-1]}
            break
        except tools.ToolError as error:
            # Tool failures are not cached: a rerun (with a longer limit) tries again.
            if isinstance(error, tools.ToolTimeout):
                return {"error": f"over {TIMEOUT:.0f} s"}
            log(f"  {name}: {error.tool} failed (attempt {attempt} of {ATTEMPTS})")
            if attempt == ATTEMPTS:
                return {"error": "failed"}
    write_atomic(cached, json.dumps(result))
    return result


def params_for(modulus, method, split=None):
    params = {"modulus": modulus, "method": method, "k": K}
    if method == "lut-bram":
        params.update(method="lut", k=8, table_storage="bram")
    if method == "hybrid":
        params.update(split)
    return params


def applicable(modulus, method):
    q = MODULI[modulus].value
    if method == "special":
        return golden.special_folds(q, 2 * q.bit_length()) is not None
    if method == "lut-bram":
        return MODULI[modulus].bits <= 128
    return True


def fmt(value, digits=0):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def sweep(modulus):
    q = MODULI[modulus].value
    in_bits = 2 * q.bit_length()
    lut = safe_measure("modred", params_for(modulus, "lut"), ("generic",), "modred_bench")
    rows = []
    for split in split_grid(q, in_bits, merge_levels=q.bit_length() <= 64):
        params = params_for(modulus, "hybrid", split)
        area = safe_measure("modred", params, ("generic",), "modred_bench")["generic"]
        predicted = cost.predict("modred", full_params("modred", params))["generic.ge"]
        rows.append((split, area.get("ge"), predicted))
        log(f"  sweep {modulus} {split}: {area}")
    measured = [row for row in rows if row[1] is not None]
    best = min(measured, key=lambda row: row[1])[0]
    print(f"\n**Hybrid split sweep, {modulus} ({q.bit_length()} bits, x < 2^{in_bits}, "
          f"k = {K}, {golden.hybrid_groups(q, in_bits, K)} groups above n)** — lut: "
          f"{fmt(lut['generic'].get('ge'))} GE\n")
    print("| lut_groups | merge_level | GE (Yosys) | GE (model) | hybrid/lut GE |")
    print("|---|---|---|---|---|")
    for split, ge, predicted in rows:
        ratio = ge / lut["generic"]["ge"] if ge and lut["generic"].get("ge") else None
        mark = " **(picked)**" if split == best else ""
        print(f"| {split['lut_groups']}{mark} | {split['merge_level']} | {fmt(ge)} | "
              f"{fmt(predicted)} | {fmt(ratio, 2)} |")
    return best


def model_split(modulus):
    q = MODULI[modulus].value
    grid = split_grid(q, 2 * q.bit_length())
    scores = [(cost.predict("modred", full_params("modred", params_for(modulus, "hybrid",
                                                                       split)))["generic.ge"],
               index) for index, split in enumerate(grid)]
    return grid[min(scores)[1]]


def evaluate(modulus, method, split):
    kind, params = "modred", params_for(modulus, method, split)
    predicted = cost.predict(kind, full_params(kind, params))
    row = {"modulus": modulus, "method": method, "params": params,
           "predicted_ge": predicted["generic.ge"],
           "results_per_cycle": 1 / predicted["cycles_per_beat"]}
    if method != "lut-bram" and predicted["generic.ge"] > MAX_PREDICTED_GE:
        row["skipped"] = f"skipped (model: {predicted['generic.ge']:,.0f} GE)"
        return row
    targets = ("ice40",) if method == "lut-bram" else ("generic", "ice40")
    row.update(safe_measure(kind, params, targets, "modred_bench"))
    if "error" in row.get("generic", {}):
        return row
    if row.get("generic", {}).get("ge", predicted["generic.ge"]) > PNR_MAX_GE:
        row["ecp5"] = {"error": "not placed (budget)"}
    else:
        row["ecp5"] = ecp5_pnr(kind, params, "modred_bench")
    return row


def efficiencies(row):
    generic, ecp5 = row.get("generic", {}), row.get("ecp5", {})
    per_ge = (row["results_per_cycle"] / (generic["ge"] / 1000)) if generic.get("ge") else None
    per_lut = None
    if ecp5.get("fmax_mhz") and "area" in ecp5:
        luts = ecp5["area"]["lut4"] + 2 * ecp5["area"]["ccu2c"]
        per_lut = row["results_per_cycle"] * ecp5["fmax_mhz"] / (luts / 1000)
    return per_ge, per_lut


def print_table(rows):
    print("\n**Every method** (k = 4 logic tables unless noted; lut-bram: k = 8 in block RAM; "
          "ECP5: LFE5U-85F out of context)\n")
    print("| modulus | bits | method | GE | iCE40 LUT4 | carry | BRAM | DSP | ECP5 LUT4 | CCU2C | "
          "EBR | MULT18 | Fmax MHz | results/cycle | results/cycle per kGE | "
          "Mresults/s per ECP5 kLUT |")
    print("|---|---|---|" + "---|" * 13)
    for row in rows:
        modulus, method = row["modulus"], row["method"]
        bits = MODULI[modulus].bits
        label = method
        if method == "hybrid":
            label = f"hybrid ({row['params']['lut_groups']}/{row['params']['merge_level']})"
        if "skipped" in row:
            print(f"| {modulus} | {bits} | {label} | {row['skipped']} |" + " |" * 12)
            continue
        generic, ice40 = row.get("generic", {}), row.get("ice40", {})
        ecp5 = row.get("ecp5", {})
        area = ecp5.get("area", {})
        per_ge, per_lut = efficiencies(row)
        print(f"| {modulus} | {bits} | {label} | {fmt(generic.get('ge', generic.get('error')))} | "
              f"{fmt(ice40.get('lut4', ice40.get('error')))} | {fmt(ice40.get('carry'))} | "
              f"{fmt(ice40.get('ram'))} | {fmt(ice40.get('dsp'))} | {fmt(area.get('lut4'))} | "
              f"{fmt(area.get('ccu2c'))} | {fmt(area.get('ebr'))} | {fmt(area.get('mult18'))} | "
              f"{fmt(ecp5.get('fmax_mhz', ecp5.get('error')), 1)} | "
              f"{row['results_per_cycle']:.3g} | {fmt(per_ge, 3)} | {fmt(per_lut, 1)} |")


def print_ratios(rows):
    print("\n**hybrid / lut** (area efficiency at equal throughput, one result per cycle; the "
          "ALLMod paper reports 1.65x at 128 bits)\n")
    print("| modulus | bits | hybrid split | per GE | per ECP5 LUT × Fmax |")
    print("|---|---|---|---|---|")
    for modulus in MODULI_BY_WIDTH:
        pair = {row["method"]: row for row in rows if row["modulus"] == modulus}
        if "hybrid" not in pair or "lut" not in pair:
            continue
        (hybrid_ge, hybrid_lut), (lut_ge, lut_lut) = efficiencies(pair["hybrid"]), \
            efficiencies(pair["lut"])
        if hybrid_ge and lut_ge:
            per_ge = fmt(hybrid_ge / lut_ge, 2)
        else:
            # Both run at one result per cycle, so the efficiency ratio is the GE ratio.
            predicted = pair["lut"]["predicted_ge"] / pair["hybrid"]["predicted_ge"]
            per_ge = f"{predicted:.2f} (model, not synthesized)"
        split = pair["hybrid"]["params"]
        print(f"| {modulus} | {MODULI[modulus].bits} | {split['lut_groups']}/"
              f"{split['merge_level']} | {per_ge} | "
              f"{fmt(hybrid_lut / lut_lut if hybrid_lut and lut_lut else None, 2)} |")


def main():
    started = time.time()
    versions = tools.versions()
    print(f"Modular reduction bench — Yosys {versions['yosys']}, nextpnr-ecp5 "
          f"{versions['nextpnr-ecp5']}, amaranth {versions['amaranth']}; per-tool limit "
          f"{TIMEOUT:.0f} s")
    splits = {}
    for modulus in SWEPT:
        log(f"sweep {modulus}")
        splits[modulus] = sweep(modulus)
    for modulus in MODULI_BY_WIDTH:
        if modulus not in splits:
            splits[modulus] = model_split(modulus)
            print(f"\nHybrid split for {modulus} picked by the cost model from the same grid: "
                  f"lut_groups {splits[modulus]['lut_groups']}, merge_level "
                  f"{splits[modulus]['merge_level']}")
    rows = []
    for modulus in MODULI_BY_WIDTH:
        for method in METHODS:
            if applicable(modulus, method):
                log(f"{modulus} {method}")
                rows.append(evaluate(modulus, method, splits[modulus]))
    write_atomic(WORK / "results.json", json.dumps(rows, indent=1, default=str))
    print_table(rows)
    print_ratios(rows)
    print(f"\n({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
