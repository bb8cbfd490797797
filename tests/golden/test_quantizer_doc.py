"""The quantizer and block bits as docs/huffman_kv.md words them ("The quantizer and the block
bits, exactly"), written from that text alone, against ``kvformat.encode`` bit for bit.

Nothing here calls the encoder's parts: only plain Python floats (IEEE binary64, like the
doc's float64) and ``math.fsum``. The tables are inputs, as plain lists.
"""
import math

import numpy as np
import pytest

from hwgen.config import load
from hwgen.golden import huffman as golden
from hwgen.golden import kvformat as kv


def doc_step(values, scale_bits):
    top = max(abs(value) for value in values)
    return top / (2 ** scale_bits - 1) if top > 0 else 1.0


def doc_canonical_codes(lengths):
    """Rule 8: symbol → (code, length) of the canonical code with per-symbol lengths."""
    order = sorted((symbol for symbol, length in enumerate(lengths) if length),
                   key=lambda symbol: (lengths[symbol], symbol))
    codes, code, previous = {}, 0, None
    for symbol in order:
        length = lengths[symbol]
        if previous is not None:
            code = (code + 1) << (length - previous)
        codes[symbol] = (code, length)
        previous = length
    return codes


def doc_is_prefix_code(lengths, max_len):
    return sum(2 ** (max_len - length) for length in lengths if length) <= 2 ** max_len


def bits_of(value, width):
    return [(value >> (width - 1 - position)) & 1 for position in range(width)]


def doc_encode(x, f, codebook_lengths, patterns, step=None):
    """Rules 1-9: the blocks (lists of bits) of tensor ``x`` in format ``f``."""
    values = [float(value) for value in np.asarray(x, dtype=np.float64).ravel()]  # rule 1
    if step is None:
        step = doc_step(values, f.scale_bits)                                      # rule 2
    unit = 2 ** (f.centroid_bits - 1) - 1
    symbols = 2 ** f.sym_bits
    book_bits = (f.n_books).bit_length()        # ⌈log2(n_books + 1)⌉
    pattern_bits = (f.n_patterns - 1).bit_length()
    header = book_bits + pattern_bits + f.scale_bits
    room = f.block_bits - header
    books = [lengths if doc_is_prefix_code(lengths, f.max_code_len) else [0] * symbols
             for lengths in codebook_lengths]
    raw = f.n_books
    blocks = []
    for start in range(0, len(values), f.group_size):
        group = values[start:start + f.group_size]
        largest = max(abs(value) for value in group)
        scale = min(max(math.ceil(largest / step - 1e-9), 0), 2 ** f.scale_bits - 1)  # rule 3
        d = float(max(scale, 1)) * step                                                 # rule 4
        normalized = [(value / d) * unit for value in group]
        best = None
        for number, centroids in enumerate(patterns):                                # rules 5-6
            indices = []
            for v in normalized:
                distances = [abs(v - float(c)) for c in centroids]
                indices.append(distances.index(min(distances)))
            error = math.fsum((v - float(centroids[s])) ** 2 for v, s in zip(normalized, indices))
            if best is None or error < best[0]:
                best = (error, number, indices)
        _, pattern, indices = best
        counts = [indices.count(s) for s in range(symbols)]                          # rule 7
        costs = []
        for lengths in books:
            used_without_code = any(counts[s] and not lengths[s] for s in range(symbols))
            costs.append(math.inf if used_without_code
                         else sum(counts[s] * lengths[s] for s in range(symbols)))
        book = costs.index(min(costs)) if min(costs) <= room else raw
        if book == raw:
            codes = {s: (s, f.sym_bits) for s in range(symbols)}
        else:
            codes = doc_canonical_codes(books[book])                                 # rule 8
        bits = bits_of(book, book_bits) + bits_of(pattern, pattern_bits)              # rule 9
        bits += bits_of(scale, f.scale_bits)
        for s in indices:
            bits += bits_of(*codes[s])
        blocks.append(bits + [0] * (f.block_bits - len(bits)))
    return blocks


def check(x, f, tables, step=None):
    lengths = tables.lengths(f).tolist() if not isinstance(tables, tuple) else tables[0]
    patterns = tables.patterns.tolist() if not isinstance(tables, tuple) else tables[1]
    table_set = tables if not isinstance(tables, tuple) else kv.Tables.from_lengths(
        lengths, patterns, f.max_code_len)
    expected = kv.encode(x, f, table_set, step=step).blocks
    got = np.array(doc_encode(x, f, lengths, patterns, step), dtype=np.uint8)
    assert got.shape == expected.shape
    mismatched = np.flatnonzero((got != expected).any(axis=1))
    assert not len(mismatched), f"blocks {mismatched[:5].tolist()} differ"


def test_real_kv_with_the_shipped_tables():
    params = load("designs/huffman_kv32.yaml").params
    data = golden.real_kv()
    x = np.concatenate([data[name].ravel() for name in sorted(data)])
    check(x, params.format_of(), (list(map(list, params.codebooks)),
                                   list(map(list, params.patterns))))


def multiples(f, rng, shape):
    """Groups whose largest magnitude is k·step, or a few float64 ulps above (rounding noise
    that must not push the group to the next scale)."""
    x = rng.uniform(-1, 1, shape)
    step = 0.7 / (2 ** f.scale_bits - 1)
    x[0] *= 0.69
    x[0, 0] = 0.7
    for row in range(1, shape[0]):
        x[row] *= 0.99 * row * step / np.abs(x[row]).max()
        largest = row * step
        x[row, row % shape[1]] = -(largest * (1 + 2.0 ** -50) if row % 2 else largest)
    return x


@pytest.mark.parametrize("kind", ["normal", "laplace", "exponential", "sparse", "integer",
                                  "zeros", "halfway", "multiples"])
def test_random_tensors_with_default_and_learned_tables(kind):
    f = kv.BlockFormat(group_size=32, block_bits=128, max_code_len=6)
    rng = np.random.default_rng(len(kind))
    shape = (24, f.group_size)
    x = {"normal": lambda: rng.normal(size=shape),
         "laplace": lambda: rng.laplace(size=shape) * 1e-3,
         "exponential": lambda: rng.exponential(size=shape),
         "sparse": lambda: rng.normal(size=shape) * (rng.random(shape) < 0.1),
         "integer": lambda: rng.integers(-20, 21, shape),
         "zeros": lambda: np.zeros(shape),
         # Values exactly between two centroids and groups exactly at a multiple of step.
         "halfway": lambda: np.tile(np.arange(f.group_size) - 16.0, (24, 1)) * 0.5,
         "multiples": lambda: multiples(f, rng, (200, f.group_size))}[kind]()
    check(x, f, kv.default_tables(f))
    learned, step = kv.learn_tables(rng.laplace(size=shape), f, seed=3)
    check(x, f, learned, step)
    # A step so small that most scales saturate, and unsorted patterns with repeats.
    shuffled = kv.Tables(learned.codebooks, learned.patterns[:, ::-1].copy())
    shuffled.patterns[0, :2] = shuffled.patterns[0, 2]
    check(x, f, shuffled, step / 50)


def test_books_that_are_not_prefix_codes_are_never_chosen():
    f = kv.BlockFormat(group_size=16, block_bits=64, sym_bits=2, max_code_len=4, n_books=2,
                       n_patterns=1, scale_bits=4)
    lengths = [[1, 1, 1, 1], [2, 2, 2, 2]]          # book 0: Kraft sum 2
    x = np.random.default_rng(5).normal(size=(6, 16))
    check(x, f, (lengths, [[-7, -2, 2, 7]]))
