"""Huffman KV decoders: throughput on real K/V data, latency and area against the bit-serial
baseline, and the compression of the block format on the same data.

Every figure is measured in this run: throughput and latency in the Amaranth simulator
(hwgen.flow.pysim, every output beat checked against the reference decoder), area by Yosys
through hwgen.flow.measure (cached by Verilog and tool version). With an empty cache the
512-bit parallel decoder dominates: its three syntheses took 37 min (generic), 62 min (ECP5)
and 115 min (iCE40), run side by side on 2 cores.

    .venv/bin/python bench/huffman.py                 # in_bits 8, 32, 128, 512
    .venv/bin/python bench/huffman.py --in-bits 8 32  # a subset
    .venv/bin/python bench/huffman.py --in-bits 512 --no-area   # simulation only
    .venv/bin/python bench/huffman.py --in-bits 32 --fmax --seeds 3   # + shipped configs placed
"""
import argparse
import pathlib
import sys
import time

import numpy as np

from hwgen.golden import kvformat as kv
from hwgen.config import load
from hwgen.cores.huffman import HuffmanKVDecoder, HuffmanParams, HuffmanSerialDecoder
from hwgen.config import from_mapping
from hwgen.flow import pnr, verilog
from hwgen.flow.measure import measure, synthesize_cached
from hwgen.flow.pysim import run_vectors
from hwgen.golden import huffman as golden

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The shipped designs' tables: learned from the same real K/V slice (hwgen/golden/data).
TABLES_FROM = ROOT / "designs" / "huffman_kv512.yaml"
DECODERS = {"huffman_kv_decoder": HuffmanKVDecoder, "huffman_serial_decoder": HuffmanSerialDecoder}
# Designs are named like the shipped configs (huffman_kv512, huffman_serial32), so that this
# bench and `hwgen synth designs/huffman_kv512.yaml` share their cached synthesis results.
NAMES = {"huffman_kv_decoder": "huffman_kv", "huffman_serial_decoder": "huffman_serial"}


def real_data():
    data = golden.real_kv()
    return np.concatenate([data[name].ravel() for name in sorted(data)])


def shipped_params(in_bits):
    shipped = load(TABLES_FROM).params
    return HuffmanParams(in_bits=in_bits, codebooks=shipped.codebooks,
                         patterns=shipped.patterns)


def real_blocks(params, count):
    """``count`` real K/V groups spread over the data, encoded with the shipped tables."""
    encoded = kv.encode(real_data(), params.format_of(), params.table_set())
    chosen = np.linspace(0, len(encoded.blocks) - 1, count).round().astype(int)
    return [golden.Block(kv.words_of(encoded.blocks[number], params.in_bits))
            for number in chosen]


def simulate(kind, params, blocks):
    """Sustained rates and latency of ``kind`` at full rate on ``blocks`` (checked bit-exactly
    against the reference decoder while it runs)."""
    stats = run_vectors(DECODERS[kind](params), golden.to_vectors(params, blocks),
                        stall_limit=4 * params.block_bits + 100)
    # Rates over whole intervals: from the first word to the last, and from the first beat of
    # the first block to the first beat of the last block (a block's beats are contiguous).
    words, beats = stats["accepted"]["i"], stats["emitted"]["o"]
    last_block_first_beat = stats["last_emit"]["o"] - (params.words_per_block - 1)
    in_cycles = stats["last_accept"]["i"] - stats["first_accept"]["i"]
    out_cycles = last_block_first_beat - stats["first_emit"]["o"]
    return {
        "bits_per_cycle": (words - 1) * params.in_bits / in_cycles,
        "values_per_cycle": (beats - params.words_per_block) * params.lanes / out_cycles,
        # From the last word of the last block to that block's first output beat.
        "latency": last_block_first_beat - stats["last_accept"]["i"],
    }


#: Stages of the parallel decoder, by the unit names of hierarchical synthesis.
STAGES = {"lookup": "lookup", "walk": "resolve", "compose": "resolve", "compact": "compact"}


def stage_breakdown(kind, params):
    """Generic GE by stage of the parallel decoder, from the per-unit figures of its cached
    hierarchical synthesis: lookups, resolve (segment walks and state-map compositions),
    compaction, and the rest (window, tables, carried state, registers, assembler)."""
    design = from_mapping({"name": f"{NAMES[kind]}{params.in_bits}", "kind": kind,
                           "params": bench_mapping(params)})
    emitted = verilog.emit(design, pathlib.Path("build/measure") / design.digest)
    report, _ = synthesize_cached(design, emitted, "generic")
    stages = {"lookup": 0.0, "resolve": 0.0, "compact": 0.0, "rest": 0.0}
    units = []
    for unit in report.get("units", []):
        label = unit["unit"].rsplit(".", 1)[-1]
        stage = next((STAGES[prefix] for prefix in STAGES if label.startswith(prefix)), None)
        if stage:
            stages[stage] += unit["area"]["ge"] * unit["instances"]
            units.append((label, unit["instances"], unit["area"]["ge"]))
    stages["rest"] = report["area"]["ge"] - sum(stages.values())
    return stages, units


def bench_mapping(params):
    return {"in_bits": params.in_bits, "codebooks": params.codebooks,
            "patterns": params.patterns}


def area(kind, params):
    figures = measure(kind, bench_mapping(params), name=f"{NAMES[kind]}{params.in_bits}")
    return {"ge": figures["generic"]["ge"], "ice40_lut": figures["ice40"]["lut4"],
            "ice40_ff": figures["ice40"]["ff"], "ecp5_lut": figures["ecp5"]["lut4"],
            "ecp5_ff": figures["ecp5"]["ff"], "ecp5_workaround": figures["ecp5"].get("workaround")}


#: Shipped configs placed and routed by ``--fmax`` (target, device).
PLACED = {"huffman_kv32": ("ecp5", "45k")}


def fmax_table(seeds):
    """Fmax of the shipped configs (median over ``seeds`` placements, cached) and the
    compressed input rate it gives at one word per cycle."""
    lines = ["| config | target | pipeline | latency | LUT4 | FF | Fmax MHz (seeds) | "
             "compressed input |", "|---|---|---|---|---|---|---|---|"]
    for name, (target, device) in PLACED.items():
        design = load(ROOT / "designs" / f"{name}.yaml")
        emitted = verilog.emit(design, pathlib.Path("build/measure") / design.digest)
        report, _ = pnr.place_and_route_cached(design, emitted, target, device=device,
                                               seeds=seeds, reports_dir=emitted.dir)
        placed = report["pnr"]
        latency = HuffmanKVDecoder(design.params).performance["latency_cycles"]
        pipeline = ", ".join(f"{key}={value}" for key, value
                             in vars(design.params.pipeline).items() if value)
        rate = placed["fmax_mhz"] * design.params.in_bits / 1000
        lines.append(f"| {name} | {target}-{device} | {pipeline or 'none'} | {latency} | "
                     f"{report['area']['lut4']:,} | {report['area']['ff']:,} | "
                     f"{placed['fmax_mhz']:.1f} ({seeds}) | {rate:.2f} Gbit/s |")
    return "\n".join(lines)


def compression_table():
    fmt = kv.BlockFormat()
    params = shipped_params(32)
    x = real_data()
    encoded = kv.encode(x, fmt, params.table_set())
    groups = x.reshape(-1, fmt.group_size).astype(np.float64)
    # References: uniform integers with one absmax scale per group (the scales not counted).
    def uniform(levels):
        step = np.abs(groups).max(axis=1, keepdims=True) / levels
        return np.round(groups / np.where(step > 0, step, 1)) * step

    def rms_error(approximation):
        return np.sqrt(((approximation - groups) ** 2).mean() / (groups ** 2).mean())

    used = encoded.used_bits(fmt)
    block_bits_per_value = fmt.block_bits / fmt.group_size
    used_bits_per_value = used.mean() / fmt.group_size
    books = np.bincount(encoded.books, minlength=fmt.n_books + 1)
    lines = [
        f"Format on real K/V ({len(groups)} groups of {fmt.group_size} from all-MiniLM-L6-v2 "
        f"layers 0-1, 16 tokens; tables learned from the same slice):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| block bits per value (fixed {fmt.block_bits}-bit blocks) | "
        f"{block_bits_per_value:.2f} |",
        f"| compression vs int8 / vs fp16 | {8 / block_bits_per_value:.2f}x / "
        f"{16 / block_bits_per_value:.2f}x |",
        f"| header + Huffman payload bits per value (rest is padding) | "
        f"{used_bits_per_value:.2f} (raw: {fmt.sym_bits + fmt.header_bits / fmt.group_size:.2f}) |",
        f"| if blocks were packed to their used bits: vs int8 / vs fp16 | "
        f"{8 / used_bits_per_value:.2f}x / {16 / used_bits_per_value:.2f}x |",
        f"| blocks per book 0..{fmt.n_books - 1}, raw | {', '.join(map(str, books))} |",
        f"| relative RMS error: this format / uniform {fmt.sym_bits}-bit / int8 (per-group "
        f"absmax) | {rms_error(encoded.dequantize(fmt).reshape(groups.shape)):.3f} / "
        f"{rms_error(uniform((1 << (fmt.sym_bits - 1)) - 1)):.3f} / "
        f"{rms_error(uniform(127)):.4f} |",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-bits", type=int, nargs="+", default=[8, 32, 128, 512])
    parser.add_argument("--blocks", type=int, default=16,
                        help="real K/V blocks simulated per design (default: 16)")
    parser.add_argument("--no-area", dest="area", action="store_false",
                        help="skip synthesis (area columns stay empty)")
    parser.add_argument("--fmax", action="store_true",
                        help="also place and route the shipped configs for their Fmax")
    parser.add_argument("--seeds", type=int, default=1,
                        help="placement seeds for --fmax; Fmax is their median (default: 1)")
    args = parser.parse_args(argv)

    rows = []
    for in_bits in args.in_bits:
        params = shipped_params(in_bits)
        blocks = real_blocks(params, args.blocks)
        row = {"in_bits": in_bits}
        for kind in DECODERS:
            started = time.time()
            row[kind] = simulate(kind, params, blocks)
            if args.area:
                row[kind].update(area(kind, params))
            print(f"  measured {kind} in_bits={in_bits} in {time.time() - started:.0f} s",
                  file=sys.stderr)
        rows.append(row)

    print(f"Huffman KV decoders (group 128, 3-bit indices, 4 books, max code 8, 512-bit "
          f"blocks), {args.blocks} real K/V blocks each, full rate:")
    print()
    header = ["in_bits", "decoder", "bits/cycle", "values/cycle", "latency", "GE",
              "iCE40 LUT4/FF", "ECP5 LUT4/FF", "speed-up", "GE ratio", "values/cycle/kGE",
              "GE per bit/cycle"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    notes = set()
    for row in rows:
        serial = row["huffman_serial_decoder"]
        for kind, label in (("huffman_kv_decoder", "parallel"),
                            ("huffman_serial_decoder", "serial")):
            figures = row[kind]
            cells = [str(row["in_bits"]), label, f"{figures['bits_per_cycle']:.2f}",
                     f"{figures['values_per_cycle']:.3f}", str(figures["latency"])]
            if args.area:
                cells += [f"{figures['ge']:,.0f}",
                          f"{figures['ice40_lut']:,}/{figures['ice40_ff']:,}",
                          f"{figures['ecp5_lut']:,}/{figures['ecp5_ff']:,}"
                          f"{' †' if figures['ecp5_workaround'] else ''}"]
                if figures["ecp5_workaround"]:
                    notes.add(figures["ecp5_workaround"])
            else:
                cells += ["not run"] * 3
            cells.append(f"{figures['values_per_cycle'] / serial['values_per_cycle']:.1f}x")
            if args.area:
                cells += [f"{figures['ge'] / serial['ge']:.2f}",
                          f"{1000 * figures['values_per_cycle'] / figures['ge']:.3f}",
                          f"{figures['ge'] / figures['bits_per_cycle']:,.0f}"]
            else:
                cells += ["not run"] * 3
            print("| " + " | ".join(cells) + " |")
    for note in sorted(notes):
        print(f"\n† {note}.")
    if args.area:
        print()
        print("Parallel decoder, generic GE by stage (hierarchical synthesis units; per bit of "
              "input per cycle in brackets):")
        print()
        print("| in_bits | lookup | resolve | compact | rest | units (instances × GE) |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            params = shipped_params(row["in_bits"])
            stages, units = stage_breakdown("huffman_kv_decoder", params)
            cells = [f"{stages[name]:,.0f} ({stages[name] / params.in_bits:,.0f})"
                     for name in ("lookup", "resolve", "compact", "rest")]
            listed = ", ".join(f"{label} {count}×{ge:,.0f}" for label, count, ge in units
                               if count > 1)
            print(f"| {row['in_bits']} | " + " | ".join(cells) + f" | {listed} |")
    if args.fmax:
        print()
        print(fmax_table(args.seeds))
    print()
    print(compression_table())


if __name__ == "__main__":
    main()
