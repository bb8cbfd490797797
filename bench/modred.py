"""Modular reduction at 128 to 1,024 bits: every method measured, hybrid against lut, `auto`.

For the secp128r1 order (128 bits), BN254 p (254), Curve25519's 2^255 − 19 (255, where
``special`` applies), BLS12-381 p (381) and the RFC 2409 MODP prime (1,024), with x < 2^2n:

* ``lut``, ``hybrid`` with its split swept (``lut_groups`` from all-chain to all-but-one
  table), ``barrett``, ``montgomery``, ``special`` where the modulus has the form and
  ``iterative`` (for reference; one result per ``G`` cycles) with logic tables (k = 4);
* the FPGA variants with block-RAM tables (k = 8): ``lut-bram`` (every table a ROM) and
  ``hybrid-bram`` (the chain's tables too, its split swept);
* each configuration synthesized for the generic CMOS estimate (GE; not for the block-RAM
  variants, which have no GE view) and for ECP5 (LUT4, CCU2C, EBR, MULT18); then, once
  every area is in, each placed and routed out of context on an LFE5U-85F (median Fmax of
  the seeds), smallest first.

Printed: every figure; the efficiencies — results/cycle per kGE and Mresults/s per ECP5
kLUT (LUT4 + 2 × CCU2C: a carry cell is two LUT4s) — and their hybrid/lut ratios against
ALLMod's 1.65× (128 bits) and 3× (8,192 bits); whether ``auto`` picks the measured best
per GE and per ECP5 LUT × Fmax. Nothing is modelled: a configuration not measured in the
time limit shows why ("over N s", "does not fit", "skipped (model: N GE)" for those the cost
model puts above ``HWGEN_BENCH_MAX_GE``).

Synthesis and place-and-route results are cached (``$HWGEN_CACHE``), so a rerun only redoes
what changed, and a rerun with ``HWGEN_BENCH_TIMEOUT=1`` prints the tables from the caches.
``HWGEN_BENCH_MODULI`` narrows the moduli, ``HWGEN_BENCH_ONLY`` the configurations
(comma-separated labels such as ``lut,lut-bram,hybrid-bram 0``), ``HWGEN_BENCH_SEEDS`` the
placement seeds
(default 1), ``HWGEN_BENCH_PNR_MAX_LUTS`` the largest design placed (LUT4 + 2 × CCU2C,
default 40000).

    nice -n 10 .venv/bin/python bench/modred.py
"""
import json
import os
import pathlib
import resource
import sys
import time

from hwgen.config import from_mapping
from hwgen.cost import modred as cost
from hwgen.flow import pnr, tools, verilog
from hwgen.flow.files import write_atomic
from hwgen.golden import modred as golden
from hwgen.golden.moduli import MODULI

from modred_cost import full_params, measure_with_retries, print_held_out, samples

WORK = pathlib.Path("build/bench_modred")
TIMEOUT = float(os.environ.get("HWGEN_BENCH_TIMEOUT", "1800"))
MAX_PREDICTED_GE = float(os.environ.get("HWGEN_BENCH_MAX_GE", "400000"))
PNR_MAX_LUTS = float(os.environ.get("HWGEN_BENCH_PNR_MAX_LUTS", "40000"))
SEEDS = int(os.environ.get("HWGEN_BENCH_SEEDS", "1"))
# Targets synthesized ("generic ecp5" by default; "generic" alone for the GE view).
TARGETS = os.environ.get("HWGEN_BENCH_TARGETS", "generic ecp5").split()
# Labels of the configurations to measure (e.g. "lut lut-bram hybrid-bram 0"); default all.
ONLY = [label.strip() for label in os.environ.get("HWGEN_BENCH_ONLY", "").split(",")
        if label.strip()]
MODULI_LIST = os.environ.get(
    "HWGEN_BENCH_MODULI", "secp128r1_n bn254_p curve25519_p bls12_381_p modp1024").split()
K, K_BRAM = 4, 8
ALLMOD = {128: 1.65, 8192: 3.0}


def log(message):
    print(message, file=sys.stderr, flush=True)


def splits(q, k):
    """``lut_groups`` to sweep: all-chain, a quarter, half, three quarters, all but one."""
    groups = golden.hybrid_groups(q, 2 * q.bit_length(), k)
    return sorted({0, groups // 4, groups // 2, 3 * groups // 4, groups - 1})


def configurations(modulus):
    """``(label, params)`` of every configuration measured for ``modulus``."""
    q = MODULI[modulus].value
    # The ALLMod comparison first, so that a run cut short still has it.
    rows = [("lut", {"method": "lut", "k": K}),
            ("lut-bram", {"method": "lut", "k": K_BRAM, "table_storage": "bram"})]
    rows += [(f"hybrid-bram {split}", {"method": "hybrid", "k": K_BRAM, "lut_groups": split,
                                       "table_storage": "bram"})
             for split in splits(q, K_BRAM)[:3]]
    rows += [(f"hybrid {split}", {"method": "hybrid", "k": K, "lut_groups": split})
             for split in splits(q, K)]
    rows += [("barrett", {"method": "barrett"}), ("montgomery", {"method": "montgomery"})]
    if golden.special_folds(q, 2 * q.bit_length()) is not None:
        rows.append(("special", {"method": "special"}))
    rows.append(("iterative", {"method": "iterative", "k": K}))
    return [(label, {"modulus": modulus, **params}) for label, params in rows]


def cpu_seconds():
    """CPU time of this process and its finished children (Yosys runs as a child)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def synthesized(params, target):
    """One target's area (``{"error": ...}`` when the tool fails or runs out of time), with
    the CPU seconds it took (``cpu_s``: emission and synthesis; near 0 from the cache)."""
    started = cpu_seconds()
    try:
        area = measure_with_retries("modred", params, targets=(target,), name="modred_bench",
                                    work_dir=WORK / "measure", timeout=TIMEOUT)[target]
    except tools.ToolError as error:
        log(f"  {target}: {error.tool} failed: {error.detail.strip().splitlines()[-1:]}")
        area = {"error": f"over {TIMEOUT:.0f} s" if isinstance(error, tools.ToolTimeout)
                else "failed"}
    area = {**area, "cpu_s": round(cpu_seconds() - started, 1)}
    log(f"  {target}: {area.get('ge', area.get('lut4', area.get('error')))} "
        f"in {area['cpu_s']:.0f} CPU-s")
    return area


def placed(params):
    """ECP5-85F place and route out of context: the ``pnr`` section (cached with every other
    place-and-route result, see hwgen.flow.pnr)."""
    design = from_mapping({"name": "modred_bench", "kind": "modred", "params": dict(params)})
    emitted = verilog.emit(design, WORK / "pnr" / design.digest)
    try:
        report, _ = pnr.place_and_route_cached(design, emitted, "ecp5", device="85k",
                                               seeds=SEEDS, reports_dir=emitted.dir / "reports",
                                               timeout=TIMEOUT)
    except pnr.FitError as error:
        return {"error": "does not fit: " + error.detail.strip().splitlines()[-1]}
    except tools.ToolError as error:
        return {"error": f"over {TIMEOUT:.0f} s" if isinstance(error, tools.ToolTimeout)
                else "failed"}
    return {"fmax_mhz": report["pnr"]["fmax_mhz"], "seeds": SEEDS}


def ecp5_luts(area):
    return area["lut4"] + 2 * area["ccu2c"]


def evaluate(label, params):
    """Areas of one configuration (place and route comes later: :func:`place`)."""
    full = full_params("modred", params)
    predicted = cost.predict("modred", full)
    row = {"label": label, "params": params, "predicted_ge": predicted["generic.ge"],
           "results_per_cycle": 1 / predicted["cycles_per_beat"]}
    if predicted["generic.ge"] > MAX_PREDICTED_GE:
        row["skipped"] = f"skipped (model: {predicted['generic.ge']:,.0f} GE)"
        return row
    if params.get("table_storage") != "bram" and "generic" in TARGETS:
        row["generic"] = synthesized(params, "generic")
    if "ecp5" in TARGETS:
        row["ecp5"] = synthesized(params, "ecp5")
    return row


def place(row):
    """Add the ECP5 place-and-route figures to a row whose ECP5 area was measured."""
    if "lut4" not in row.get("ecp5", {}):
        return
    if ecp5_luts(row["ecp5"]) <= PNR_MAX_LUTS:
        row["pnr"] = placed(row["params"])
    else:
        row["pnr"] = {"error": f"not placed (over {PNR_MAX_LUTS:,.0f} LUTs)"}


def per_kge(row):
    ge = row.get("generic", {}).get("ge")
    return row["results_per_cycle"] / (ge / 1000) if ge else None


def per_klut(row, fmax=True):
    area, placed_row = row.get("ecp5", {}), row.get("pnr", {})
    if "lut4" not in area or (fmax and not placed_row.get("fmax_mhz")):
        return None
    rate = row["results_per_cycle"] * (placed_row["fmax_mhz"] if fmax else 1)
    return rate / (ecp5_luts(area) / 1000)


def fmt(value, digits=0):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def print_rows(modulus, rows):
    q = MODULI[modulus].value
    print(f"\n**{modulus}** ({q.bit_length()} bits, x < 2^{2 * q.bit_length()}; "
          f"{golden.hybrid_groups(q, 2 * q.bit_length(), K)} groups of {K} bits above n)\n")
    print("| method | GE | GE (model) | ECP5 LUT4 | CCU2C | EBR | MULT18 | Fmax MHz | "
          "results/cycle | results/cycle per kGE | results/cycle per ECP5 kLUT | "
          "Mresults/s per ECP5 kLUT |")
    print("|---|" + "---|" * 11)
    for row in rows:
        if "skipped" in row:
            print(f"| {row['label']} | {row['skipped']} |" + " |" * 10)
            continue
        generic, area, placed_row = row.get("generic", {}), row.get("ecp5", {}), row.get("pnr", {})
        print(f"| {row['label']} | {fmt(generic.get('ge', generic.get('error', 'no GE view')))} "
              f"| {fmt(row['predicted_ge'])} | {fmt(area.get('lut4', area.get('error')))} | "
              f"{fmt(area.get('ccu2c'))} | {fmt(area.get('ebr'))} | {fmt(area.get('mult18'))} | "
              f"{fmt(placed_row.get('fmax_mhz', placed_row.get('error')), 1)} | "
              f"{row['results_per_cycle']:.3g} | {fmt(per_kge(row), 4)} | "
              f"{fmt(per_klut(row, fmax=False), 4)} | {fmt(per_klut(row), 2)} |")


def best(rows, metric, prefix):
    scored = [(metric(row), row) for row in rows
              if row["label"].startswith(prefix) and metric(row) is not None]
    return max(scored, key=lambda pair: pair[0]) if scored else (None, None)


def print_ratios(results):
    print("\n**hybrid / lut**, area efficiency at one result per cycle (ALLMod: 1.65× at 128 "
          "bits, 3× at 8,192 bits, FPGA)\n")
    print("| modulus | bits | view | best hybrid | hybrid | lut | hybrid/lut | "
          "best hybrid-bram | hybrid-bram/lut | lut-bram | hybrid-bram/lut-bram |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    views = [("results/cycle per kGE", per_kge),
             ("results/cycle per ECP5 kLUT", lambda row: per_klut(row, fmax=False)),
             ("Mresults/s per ECP5 kLUT", per_klut)]
    for modulus, rows in results.items():
        lut = next((row for row in rows if row["label"] == "lut"), None)
        lut_bram = next((row for row in rows if row["label"] == "lut-bram"), None)
        if lut is None:
            continue
        for view, metric in views:
            hybrid, hybrid_row = best(rows, metric, "hybrid ")
            bram, bram_row = best(rows, metric, "hybrid-bram")
            base = metric(lut)
            base_bram = metric(lut_bram) if lut_bram else None

            def ratio(a, b):
                return f"{a / b:.2f}×" if a and b else "—"
            print(f"| {modulus} | {MODULI[modulus].bits} | {view} | "
                  f"{hybrid_row['label'] if hybrid_row else '—'} | {fmt(hybrid, 4)} | "
                  f"{fmt(base, 4)} | {ratio(hybrid, base)} | "
                  f"{bram_row['label'] if bram_row else '—'} | {ratio(bram, base)} | "
                  f"{fmt(base_bram, 4)} | {ratio(bram, base_bram)} |")


def print_auto(results):
    print("\n**auto** — the method it builds against the measured best (logic tables, "
          "Montgomery excluded; `iterative` counts at its throughput)\n")
    print("| modulus | auto picks | best per GE | best per ECP5 LUT × Fmax | agrees |")
    print("|---|---|---|---|---|")
    for modulus, rows in results.items():
        q = MODULI[modulus].value
        picked = cost.choose_method("modred", q, 2 * q.bit_length(), K, "logic", 8)
        # Montgomery's output is x·R⁻¹ mod q, a different function: auto never builds it.
        logic = [row for row in rows if row["params"].get("table_storage") != "bram"
                 and row["params"]["method"] != "montgomery"]
        _, by_ge = best(logic, per_kge, "")
        _, by_lut = best(logic, per_klut, "")
        names = [row["label"] if row else "not measured" for row in (by_ge, by_lut)]
        agrees = ["not measured" if row is None
                  else "yes" if row["params"]["method"] == picked else "no"
                  for row in (by_ge, by_lut)]
        print(f"| {modulus} | {picked} | {names[0]} | {names[1]} | GE: {agrees[0]}, "
              f"ECP5: {agrees[1]} |")


def merged(results):
    """``results`` added to those of earlier runs kept in ``results.json`` (a row measured
    again replaces the earlier one), so that runs narrowed by modulus or label add up."""
    path = WORK / "results.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    for modulus, rows in results.items():
        fresh = {json.dumps(row["params"], sort_keys=True) for row in rows}
        kept[modulus] = [row for row in kept.get(modulus, [])
                         if json.dumps(row["params"], sort_keys=True) not in fresh] + rows
    return kept


def main():
    started = time.time()
    versions = tools.versions()
    print(f"Modular reduction bench — Yosys {versions['yosys']}, nextpnr-ecp5 "
          f"{versions['nextpnr-ecp5']}, amaranth {versions['amaranth']}; per-tool limit "
          f"{TIMEOUT:.0f} s, {SEEDS} placement seed(s)")
    # Every area first, then place and route (the slowest step), smallest designs first, so
    # that a run cut short has as many figures as possible.
    results = {}
    for modulus in MODULI_LIST:
        results[modulus] = []
        for label, params in configurations(modulus):
            if ONLY and label not in ONLY:
                continue
            log(f"{modulus} {label}")
            results[modulus].append(evaluate(label, params))
    measured = [row for rows in results.values() for row in rows if "lut4" in row.get("ecp5", {})]
    for row in sorted(measured, key=lambda row: ecp5_luts(row["ecp5"])):
        log(f"placing {row['params']['modulus']} {row['label']}")
        place(row)
    for modulus, rows in results.items():
        print_rows(modulus, rows)
    write_atomic(WORK / "results.json", json.dumps(merged(results), indent=1, default=str))
    print_ratios(results)
    print_auto(results)
    # The cost model against every measured size (the small calibration configurations from
    # the cache, synthesized when missing, plus every row measured so far).
    print_held_out(samples(tuple(TARGETS)),
                   [metric for metric in cost.METRICS if metric.split(".")[0] in TARGETS])
    print(f"\n({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
