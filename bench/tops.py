"""Accelerator tops on the three boards: utilization, Fmax and useful throughput.

For every shipped top — the ``llm_tile`` configs (``designs/default.yaml``,
``designs/llm_tile_*.yaml``) and the ``ntt_tile`` configs (``designs/ntt_*.yaml``) — and for the
LLM tile of ``designs/default.yaml`` built with each engine (``ternary_lut``,
``ternary_addsub`` with the same parameters; ``bitserial`` and ``bitparallel`` from
``designs/llm_tile_bitserial.yaml``), this builds the bitstream for each board with
:mod:`hwgen.flow.bitstream` (the top behind the UART host bridge; Yosys → nextpnr →
icepack/ecppack, constrained to the board clock) and prints:

* utilization on the board (logic cells, block RAM, DSP) — or which resource does not fit
  and by how much;
* Fmax (nextpnr, one fixed seed) against the board clock;
* useful operations per second at that Fmax, from the manifest's declared performance:
  MACs/s = ``macs_per_cycle`` × Fmax and KV values/s = ``kv_values_per_cycle`` × Fmax for
  ``llm_tile``; NTTs/s = ``transforms_per_cycle`` × Fmax for ``ntt_tile``;
* for the engine comparison, each engine's MACs/s and MACs/s per logic cell as a ratio to the
  ``ternary_lut`` tile on the same board, measured in the same run with the same tools.

Then the NTT tiles alone (``designs/ntt_*.yaml``), placed out of context on an ECP5-85F and
in nextpnr's flop harness on an iCE40 UP5K (:func:`hwgen.flow.pnr.place_and_route`, median
Fmax of three seeds): LUT4, carry cells, block RAM and DSPs, butterfly utilization, NTT/s at
the median Fmax, and NTTs per cycle per kLUT against the public anchor, a Kyber NTT-256 in
777 LUT + 1 DSP at 1,414 cycles per transform on an Artix-7 (1/1,414 per 0.777 kLUT ≈
9.1·10⁻⁴). ECP5 LUTs are counted two ways: LUT4 alone, and LUT4 + 2 × CCU2C (a carry cell
holds two LUT4s; an Artix-7 adder bit is one LUT6 beside its CARRY4, so the second is the
conservative count).

Builds are cached by a hash of their inputs (``build/bench_tops/NAME/bitstream/BOARD``), so
a rerun only builds what changed. ``HWGEN_BENCH_BOARDS`` narrows the boards (default:
``icebreaker ulx3s orangecrab``), ``HWGEN_BENCH_DESIGNS`` the designs (names, default: all;
the engine comparison needs the default config's name); ``HWGEN_BENCH_TIMEOUT`` limits each build in
seconds (default 3600); ``HWGEN_BENCH_SECTIONS`` picks ``boards`` and/or ``ntt`` (default
both), ``HWGEN_BENCH_NTT_TARGETS`` the targets of the NTT tiles (default
``ecp5-85k ice40-up5k``).

    nice -n 10 .venv/bin/python bench/tops.py
"""
import copy
import os
import pathlib
import sys
import warnings

import yaml
from amaranth.hdl import UnusedElaboratable

from hwgen.board.boards import BOARDS
from hwgen.config import from_mapping, load
from hwgen.flow import bitstream, pnr, tools, verilog

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORK = pathlib.Path("build/bench_tops")
BOARD_LIST = os.environ.get("HWGEN_BENCH_BOARDS", " ".join(BOARDS)).split()
# Names of the designs to build (tops and engine variants); default: all.
DESIGN_FILTER = os.environ.get("HWGEN_BENCH_DESIGNS", "").split()
TIMEOUT = float(os.environ.get("HWGEN_BENCH_TIMEOUT", "3600"))
SECTIONS = os.environ.get("HWGEN_BENCH_SECTIONS", "boards ntt").split()
# Targets the NTT tiles are placed on alone, as target-device.
NTT_TARGETS = [tuple(name.split("-", 1)) for name in
               os.environ.get("HWGEN_BENCH_NTT_TARGETS", "ecp5-85k ice40-up5k").split()]
# Kyber NTT-256 on an Artix-7: 777 LUT + 1 DSP, 1,414 cycles per transform.
ANCHOR_NTT_PER_CYCLE_PER_KLUT = 1 / 1414 / 0.777
# Logic cells per board family, as nextpnr names them.
LOGIC = ("ICESTORM_LC", "TRELLIS_COMB")
RAM = ("ICESTORM_RAM", "ICESTORM_SPRAM", "DP16KD")
DSP = ("ICESTORM_DSP", "MULT18X18D")


def log(message):
    print(message, file=sys.stderr, flush=True)


def shipped_tops():
    configs = sorted(ROOT.glob("designs/*.yaml"))
    designs = [load(path) for path in configs]
    return [design for design in designs if design.kind.name in ("llm_tile", "ntt_tile")]


def engine_variants():
    """The default LLM tile (same rows, columns and KV unit) with each engine; the bit-serial
    engines take their parameters from designs/llm_tile_bitserial.yaml."""
    base = yaml.safe_load((ROOT / "designs/default.yaml").read_text())
    bitserial = yaml.safe_load((ROOT / "designs/llm_tile_bitserial.yaml").read_text())
    lut_params = base["params"]["engine_params"]
    # The add/sub engine has no half tables, so no `pipeline.table` register.
    addsub_params = dict(lut_params, pipeline={key: value for key, value
                                               in lut_params.get("pipeline", {}).items()
                                               if key != "table"})
    engine_params = {"ternary_lut": lut_params,
                     "ternary_addsub": addsub_params,
                     "bitserial": dict(bitserial["params"]["engine_params"],
                                       max_len=base["params"]["cols"])}
    engine_params["bitparallel"] = {key: value for key, value in engine_params["bitserial"].items()
                                    if key != "digit"}
    variants = []
    for engine, params in engine_params.items():
        config = copy.deepcopy(base)
        if engine != base["params"]["engine"]:  # the baseline is the shipped config itself
            config["name"] = f"llm_tile_engine_{engine}"
        config["params"].update(engine=engine, engine_params=params)
        variants.append(from_mapping(config))
    return variants


def measure(design, board):
    """The bitstream report, or ``{"error": text}``."""
    try:
        return bitstream.build(design, board, out_dir=WORK, reports_dir=WORK / "reports",
                               timeout=TIMEOUT)
    except pnr.FitError as error:
        return {"error": error.detail}
    except tools.ToolError as error:
        last = (error.detail.strip().splitlines() or ["(no message)"])[-1]
        return {"error": f"{error.tool} failed: {last}"}


def _share(report, names):
    rows = [counts for name, counts in report["utilization"].items() if name in names]
    return " + ".join(f"{counts['used']}/{counts['available']}" for counts in rows) or "0"


def _used(report, names):
    return sum(counts["used"] for name, counts in report["utilization"].items() if name in names)


def _rate(value):
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}"
    return f"{value:.3g} "


def throughput(manifest_perf, fmax_mhz):
    hz = fmax_mhz * 1e6
    if "macs_per_cycle" in manifest_perf:
        return (f"{_rate(manifest_perf['macs_per_cycle'] * hz)}MAC/s, "
                f"{_rate(manifest_perf['kv_values_per_cycle'] * hz)}KV values/s")
    return f"{_rate(manifest_perf['transforms_per_cycle'] * hz)}NTT/s"


_PERFORMANCE = {}


def performance(design):
    """The performance figures the design's component declares (as the manifest has them)."""
    if design.name not in _PERFORMANCE:
        with warnings.catch_warnings():
            # Only the declared figures are read; the component is not elaborated.
            warnings.simplefilter("ignore", UnusedElaboratable)
            _PERFORMANCE[design.name] = design.build().performance
    return _PERFORMANCE[design.name]


def table(designs, results, extra=None):
    header = ["design", "board", "logic cells", "BRAM", "DSP", "Fmax MHz (clock)", "throughput at Fmax"]
    if extra:
        header += extra[0]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for design in designs:
        perf = performance(design)
        for board in BOARD_LIST:
            report = results[design.name, board]
            if "error" in report:
                cells = [design.name, board, report["error"].replace("\n", " "), "", "", "", ""]
                cells += [""] * len(extra[0]) if extra else []
            else:
                cells = [design.name, board, _share(report, LOGIC), _share(report, RAM),
                         _share(report, DSP),
                         f"{report['fmax_mhz']:.1f} ({report['clock_mhz']:g})"
                         + ("" if report["timing_met"] else " MISSED"),
                         throughput(perf, report["fmax_mhz"])]
                if extra:
                    cells += extra[1](design, board, report, perf)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ntt_core(design, target, device):
    """The NTT tile alone placed and routed (report with ``pnr``), or ``{"error": text}``."""
    emitted = verilog.emit(design, WORK / "cores" / design.digest)
    try:
        return pnr.place_and_route(design, emitted, target, device=device,
                                   reports_dir=emitted.dir / "reports", timeout=TIMEOUT)
    except tools.ToolError as error:
        last = (error.detail.strip().splitlines() or ["(no message)"])[-1]
        return {"error": f"{error.tool} failed: {last}"}


def ntt_table(designs):
    """NTT tiles out of context: area, utilization, NTT/s and NTTs per cycle per kLUT."""
    header = ["design", "target", "LUT4", "carry", "BRAM/EBR", "DSP", "Fmax MHz (median, best)",
              "butterfly utilization", "cycles/NTT", "NTT/s at median Fmax",
              "NTT/cycle per kLUT (LUT4)", "per kLUT (LUT4 + 2 carry)", "vs Artix-7 anchor"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for design in designs:
        perf = performance(design)
        for target, device in NTT_TARGETS:
            log(f"placing {design.name} alone on {target}-{device}")
            report = ntt_core(design, target, device)
            if "error" in report:
                lines.append(f"| {design.name} | {target} | {report['error']} |" + " |" * 10)
                continue
            area, placed = report["area"], report["pnr"]
            carry = area.get("ccu2c", area.get("carry", 0))
            ram = area.get("ebr", area.get("ram", 0))
            dsp = area.get("mult18", area.get("dsp", 0))
            per_cycle = perf["transforms_per_cycle"]
            luts = area["lut4"] / 1000
            with_carry = (area["lut4"] + 2 * carry) / 1000 if target == "ecp5" else luts
            conservative = per_cycle / with_carry
            lines.append(
                f"| {design.name} | {target}-{device} | {area['lut4']:,} | {carry:,} | {ram} | "
                f"{dsp} | {placed['fmax_mhz']:.1f} ({placed['fmax_best_mhz']:.1f}) | "
                f"{100 * perf['butterfly_utilization']:.1f} % | "
                f"{perf['cycles_per_transform']:,.0f} | "
                f"{_rate(per_cycle * placed['fmax_mhz'] * 1e6)}NTT/s | "
                f"{1e3 * per_cycle / luts:.3g}·10⁻³ | {1e3 * conservative:.3g}·10⁻³ | "
                f"{conservative / ANCHOR_NTT_PER_CYCLE_PER_KLUT:.2f}x |")
    return "\n".join(lines)


def main():
    def wanted(design):
        return not DESIGN_FILTER or design.name in DESIGN_FILTER

    if "ntt" in SECTIONS:
        ntts = [design for design in shipped_tops()
                if design.kind.name == "ntt_tile" and wanted(design)]
        print("NTT tiles alone (ECP5-85F out of context; iCE40 UP5K in the flop harness; "
              f"median of {pnr.DEFAULT_SEEDS} placement seeds); anchor: "
              f"{ANCHOR_NTT_PER_CYCLE_PER_KLUT:.3g} NTT/cycle per kLUT (Artix-7 Kyber)\n")
        print(ntt_table(ntts))
        print()
    if "boards" not in SECTIONS:
        return

    tops = [design for design in shipped_tops() if wanted(design)]
    variants = [design for design in engine_variants() if wanted(design)]
    results = {}
    # Board by board, so that a run cut short still covers every design on the first boards.
    for board in BOARD_LIST:
        for design in tops + [variant for variant in variants if variant not in tops]:
            log(f"building {design.name} for {board}")
            results[design.name, board] = measure(design, board)

    print(f"Tools: {tools.versions()['yosys']} (Yosys), nextpnr-ice40 "
          f"{tools.versions()['nextpnr-ice40']}, nextpnr-ecp5 {tools.versions()['nextpnr-ecp5']}"
          f"; each top behind the UART host bridge at 115200 baud; one placement seed.\n")
    print("Shipped tops\n")
    print(table(tops, results))

    if not variants or variants[0] != engine_variants()[0]:
        return  # no baseline: the engine comparison was filtered out
    baseline = {board: results[variants[0].name, board] for board in BOARD_LIST}

    def ratios(design, board, report, perf):
        base = baseline[board]
        if "error" in base:
            return ["", ""]
        base_perf = performance(variants[0])
        macs = perf["macs_per_cycle"] * report["fmax_mhz"]
        base_macs = base_perf["macs_per_cycle"] * base["fmax_mhz"]
        per_cell = macs / _used(report, LOGIC)
        base_per_cell = base_macs / _used(base, LOGIC)
        return [f"{macs / base_macs:.2f}x", f"{per_cell / base_per_cell:.2f}x"]

    print("\nThe default LLM tile with each engine (ratios against ternary_lut on the same "
          "board)\n")
    print(table(variants, results, (["MAC/s vs ternary_lut", "MAC/s per cell vs ternary_lut"],
                                    ratios)))


if __name__ == "__main__":
    main()
