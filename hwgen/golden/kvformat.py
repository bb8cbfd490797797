"""The Huffman KV-cache block format: parameters, codebooks, encoder and reference decoder.

A KV tensor is cut into groups of ``group_size`` values. Each group is quantized to
``sym_bits``-bit indices into one of ``n_patterns`` shared *patterns* (tables of
``2**sym_bits`` signed ``centroid_bits``-bit centroids learned by k-means) with a per-group
unsigned ``scale_bits``-bit scale; the dequantized value of index ``s`` is the exact integer
``patterns[pattern][s] * scale`` (times one float step per tensor, outside the format).

The indices of a group are coded with one of ``n_books`` canonical Huffman codebooks,
length-limited to ``max_code_len`` bits (optimal limiting by package-merge), and stored in a
block of exactly ``block_bits`` bits, most significant bit first::

    book (book_bits) | pattern (pattern_bits) | scale (scale_bits) | group_size codewords | 0…

``book_bits = ⌈log2(n_books + 1)⌉`` and ``pattern_bits = ⌈log2 n_patterns⌉``. Book value
``n_books`` means *raw*: every index as a fixed ``sym_bits``-bit field. The encoder picks the
book with the shortest payload and falls back to raw when no book fits, so the format is
lossless for indices; configurations whose raw blocks do not fit are rejected.

A codebook is stored as ``counts`` (codes of each length 1..max_code_len) and ``symbols`` (the
symbols in canonical order: by length, then value). Canonical codes are numbered as in DEFLATE:
the first code of length ``l`` is ``(first[l-1] + counts[l-1]) << 1``.

:func:`decode_block` is the reference decoder, with the error taxonomy of
:data:`ERRORS`; values after the fault are 0. This module is pure NumPy (no hardware imports).
"""
import dataclasses
import math
import warnings

import numpy as np
from scipy.cluster.vq import kmeans2

from hwgen.params import Int, Params, ParamValueError, param

__all__ = [
    "BlockFormat", "Codebook", "Tables", "BlockResult", "Encoded", "ERRORS",
    "package_merge", "default_tables", "learn_tables", "quantize", "encode_group", "encode",
    "speculative_decode", "decode_block", "decode_words", "bits_to_int", "int_to_bits",
    "words_of", "bits_of_words", "table_entries", "table_words", "tables_from_words",
]

#: Error verdicts of the reference decoder, in the order they take precedence.
ERRORS = {
    "short_block": "the block ended (last) before block_bits bits arrived",
    "long_block": "the block had more than block_bits bits before its last word",
    "bad_tables": "the table set used for the block was loaded malformed",
    "bad_book": "the header names no codebook (or one that is not a prefix code)",
    "bad_pattern": "the header names no pattern",
    "invalid_code": "a codeword matches no code of the (incomplete) codebook",
    "past_end": "the payload runs past the end of the block",
}


def _bits_for(count):
    """Bits of a field with ``count`` distinct values (0 for a single value)."""
    return (count - 1).bit_length()


@dataclasses.dataclass(frozen=True)
class BlockFormat(Params):
    """The parameters of the block format (every kind of the family extends them)."""
    group_size: int = param(128, Int(1, 4096), "values per group (one group per block)")
    sym_bits: int = param(3, Int(1, 8), "index width: patterns have 2**sym_bits centroids")
    n_patterns: int = param(4, Int(1, 16), "shared centroid patterns")
    centroid_bits: int = param(8, Int(2, 16), "width of a signed centroid")
    scale_bits: int = param(8, Int(1, 16), "width of the unsigned per-group scale")
    n_books: int = param(4, Int(1, 15), "canonical Huffman codebooks (book n_books means raw)")
    max_code_len: int = param(8, Int(1, 16), "longest codeword (length-limited codebooks)")
    block_bits: int = param(512, Int(8, 8192), "bits per block, header and padding included")

    def check(self):
        super().check()
        if self.max_code_len < self.sym_bits:
            raise ParamValueError("max_code_len", f"must be at least sym_bits "
                                                  f"({self.sym_bits}), not {self.max_code_len!r}")
        needed = self.header_bits + self.group_size * self.sym_bits
        if self.block_bits < needed:
            raise ParamValueError("block_bits", f"must hold the header and group_size raw "
                                                f"indices (at least {needed}), not "
                                                f"{self.block_bits!r}")

    @property
    def symbols(self):
        return 1 << self.sym_bits

    @property
    def book_bits(self):
        return _bits_for(self.n_books + 1)

    @property
    def pattern_bits(self):
        return _bits_for(self.n_patterns)

    @property
    def header_bits(self):
        return self.book_bits + self.pattern_bits + self.scale_bits

    @property
    def raw_book(self):
        return self.n_books

    @property
    def centroid_unit(self):
        """The centroid that stands for 1.0 (the largest positive centroid)."""
        return (1 << (self.centroid_bits - 1)) - 1

    def format_of(self):
        """The plain :class:`BlockFormat` of this parameter set (drops other parameters)."""
        return BlockFormat(**{field.name: getattr(self, field.name)
                              for field in dataclasses.fields(BlockFormat)})


# --- codebooks ------------------------------------------------------------------------------

def package_merge(weights, max_len):
    """Optimal prefix-code lengths of at most ``max_len`` bits for ``weights``.

    Symbols of weight 0 get no code (length 0). Package-merge (Larmore & Hirschberg): at each
    of ``max_len`` levels the cheapest items are paired into packages and merged with the
    symbols; the first ``2n − 2`` items of the last list give each symbol's length. Ties are
    broken deterministically: lighter first, then symbols before packages, then by position.
    """
    weights = np.asarray(weights)
    if (weights < 0).any():
        raise ValueError(f"weights must be non-negative, not {weights.tolist()!r}")
    present = [int(symbol) for symbol in np.flatnonzero(weights > 0)]
    lengths = np.zeros(len(weights), dtype=np.int64)
    if len(present) == 1:
        lengths[present[0]] = 1
    if len(present) <= 1:
        return lengths
    if len(present) > 1 << max_len:
        raise ValueError(f"{len(present)} symbols need codes longer than max_len {max_len}")
    coins = sorted(((weights[symbol], np.eye(len(weights), dtype=np.int64)[symbol])
                    for symbol in present), key=lambda item: item[0])
    items = coins
    for _ in range(max_len - 1):
        packages = [(items[index][0] + items[index + 1][0], items[index][1] + items[index + 1][1])
                    for index in range(0, len(items) - 1, 2)]
        items = sorted(coins + packages, key=lambda item: item[0])
    for _, members in items[:2 * len(present) - 2]:
        lengths += members
    return lengths


@dataclasses.dataclass(frozen=True)
class Codebook:
    """A canonical codebook: ``counts[l-1]`` codes of length ``l`` and ``symbols`` in canonical
    order. Hardware loads exactly these two lists; they need not describe a valid code (see
    :meth:`is_valid`)."""
    counts: tuple
    symbols: tuple

    @classmethod
    def from_lengths(cls, lengths, max_len):
        """The canonical code with the given per-symbol lengths (0 = no code)."""
        lengths = [int(length) for length in lengths]
        if any(not 0 <= length <= max_len for length in lengths):
            raise ValueError(f"code lengths must be between 0 and {max_len}, not {lengths!r}")
        counts = tuple(lengths.count(length) for length in range(1, max_len + 1))
        symbols = tuple(sorted((symbol for symbol, length in enumerate(lengths) if length),
                               key=lambda symbol: (lengths[symbol], symbol)))
        return cls(counts, symbols)

    @classmethod
    def raw(cls, sym_bits, max_len):
        """The fixed-length code of raw blocks: every index as ``sym_bits`` bits."""
        return cls.from_lengths([sym_bits] * (1 << sym_bits), max_len)

    @property
    def max_len(self):
        return len(self.counts)

    def kraft(self):
        """``Σ counts[l-1] · 2**(max_len − l)``; a prefix code has at most ``2**max_len``."""
        return sum(count << (self.max_len - length)
                   for length, count in enumerate(self.counts, start=1))

    def is_valid(self, n_symbols):
        """Whether this is a prefix code over ``n_symbols`` symbols (it may be incomplete)."""
        return (self.kraft() <= 1 << self.max_len and sum(self.counts) <= len(self.symbols)
                and sum(self.counts) <= n_symbols
                and all(0 <= symbol < n_symbols for symbol in self.symbols))

    def canonical(self):
        """``(first, offset, limit)`` per length 1..max_len: the first code of each length,
        the canonical index of its symbol, and the left-justified end of its codes
        (``(first + count) << (max_len − l)``): a window ``w`` of ``max_len`` bits holds a
        code of length ``l`` iff ``limit[l-2] <= w < limit[l-1]``."""
        first, offset, limit = [], [], []
        code = index = 0
        for length, count in enumerate(self.counts, start=1):
            first.append(code)
            offset.append(index)
            limit.append((code + count) << (self.max_len - length))
            code = (code + count) << 1
            index += count
        return np.array(first), np.array(offset), np.array(limit)

    def lengths(self, n_symbols):
        """Per-symbol code lengths (0 = no code) of a code whose symbols are distinct."""
        lengths = np.zeros(n_symbols, dtype=np.int64)
        position = 0
        for length, count in enumerate(self.counts, start=1):
            lengths[list(self.symbols[position:position + count])] = length
            position += count
        return lengths

    def encoding(self, n_symbols):
        """``(codes, lengths)`` arrays indexed by symbol (length 0: the symbol has no code)."""
        first, _, _ = self.canonical()
        codes = np.zeros(n_symbols, dtype=np.int64)
        lengths = np.zeros(n_symbols, dtype=np.int64)
        position = 0
        for length, count in enumerate(self.counts, start=1):
            for rank in range(count):
                symbol = self.symbols[position + rank]
                if not lengths[symbol]:
                    codes[symbol], lengths[symbol] = first[length - 1] + rank, length
            position += count
        return codes, lengths


@dataclasses.dataclass(frozen=True)
class Tables:
    """A table set: ``n_books`` codebooks and ``n_patterns`` patterns (int array
    ``(n_patterns, 2**sym_bits)``). ``valid`` is false for a set that was loaded malformed."""
    codebooks: tuple
    patterns: np.ndarray
    valid: bool = True

    @classmethod
    def from_lengths(cls, codebook_lengths, patterns, max_len):
        return cls(tuple(Codebook.from_lengths(lengths, max_len) for lengths in codebook_lengths),
                   np.asarray(patterns, dtype=np.int64))

    def book(self, fmt, book):
        """Codebook number ``book`` (``fmt.raw_book`` gives the raw code)."""
        if book == fmt.raw_book:
            return Codebook.raw(fmt.sym_bits, fmt.max_code_len)
        return self.codebooks[book]

    def lengths(self, fmt):
        """Per-symbol code lengths, shape ``(n_books, 2**sym_bits)``; a book that is not a
        valid code has none."""
        return np.array([book.lengths(fmt.symbols) if book.is_valid(fmt.symbols)
                         else np.zeros(fmt.symbols, dtype=np.int64) for book in self.codebooks])


def default_tables(fmt):
    """Data-independent tables: patterns concentrated towards 0 by increasing powers, and
    codebooks for two-sided geometric index distributions of increasing steepness."""
    grid = np.linspace(-1.0, 1.0, fmt.symbols) if fmt.symbols > 1 else np.zeros(1)
    patterns = np.array([np.round(np.sign(grid) * np.abs(grid) ** (1 + pattern / 2)
                                  * fmt.centroid_unit) for pattern in range(fmt.n_patterns)],
                        dtype=np.int64)
    centre = (fmt.symbols - 1) / 2
    books = []
    for book in range(fmt.n_books):
        weights = np.round(4096 * 2.0 ** (-np.abs(np.arange(fmt.symbols) - centre)
                                          * (book + 1) / 2)) + 1
        books.append(package_merge(weights, fmt.max_code_len))
    return Tables.from_lengths(books, patterns, fmt.max_code_len)


# --- table sets on the wire ------------------------------------------------------------------

def table_entries(fmt):
    """The entries of a table set in load order, each ``(kind, number, position, width,
    signed)``: per codebook its ``max_code_len`` counts (lengths 1..max_code_len) and its
    ``2**sym_bits`` canonical symbols, then per pattern its ``2**sym_bits`` centroids."""
    entries = []
    for book in range(fmt.n_books):
        entries += [("count", book, length, fmt.sym_bits + 1, False)
                    for length in range(fmt.max_code_len)]
        entries += [("symbol", book, rank, fmt.sym_bits, False) for rank in range(fmt.symbols)]
    for pattern in range(fmt.n_patterns):
        entries += [("centroid", pattern, symbol, fmt.centroid_bits, True)
                    for symbol in range(fmt.symbols)]
    return entries


def table_words(fmt, tables):
    """The load words (one per entry, two's complement for centroids) of a table set."""
    words = []
    for kind, number, position, width, _ in table_entries(fmt):
        if kind == "count":
            value = tables.codebooks[number].counts[position]
        elif kind == "symbol":
            symbols = tables.codebooks[number].symbols
            value = symbols[position] if position < len(symbols) else 0
        else:
            value = int(tables.patterns[number][position])
        words.append(value & ((1 << width) - 1))
    return words


def tables_from_words(fmt, words):
    """The table set a decoder holds after loading ``words``: each entry keeps the low bits
    of its word; a load of the wrong length gives an invalid set."""
    entries = table_entries(fmt)
    counts = [[0] * fmt.max_code_len for _ in range(fmt.n_books)]
    symbols = [[0] * fmt.symbols for _ in range(fmt.n_books)]
    patterns = np.zeros((fmt.n_patterns, fmt.symbols), dtype=np.int64)
    for (kind, number, position, width, signed), word in zip(entries, words):
        value = int(word) & ((1 << width) - 1)
        if signed and value >> (width - 1):
            value -= 1 << width
        {"count": counts, "symbol": symbols, "centroid": patterns}[kind][number][position] = value
    books = tuple(Codebook(tuple(c), tuple(s)) for c, s in zip(counts, symbols))
    return Tables(books, patterns, valid=len(words) == len(entries))


# --- quantization and encoding --------------------------------------------------------------

def _groups(x, fmt):
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("the tensor must hold finite values only (no NaN or infinity)")
    if x.size % fmt.group_size:
        raise ValueError(f"the tensor must have a multiple of group_size ({fmt.group_size}) "
                         f"values, not {x.size}")
    return x.reshape(-1, fmt.group_size)


def _scales(groups, fmt, step):
    """Per-group integer scales: the smallest that covers the group's largest magnitude."""
    absmax = np.abs(groups).max(axis=1)
    return np.clip(np.ceil(absmax / step - 1e-9), 0, (1 << fmt.scale_bits) - 1).astype(np.int64)


def _normalized(groups, scales, fmt, step):
    """Values in centroid units: ``x / (scale · step) · centroid_unit``."""
    denominator = np.maximum(scales, 1)[:, None] * step
    return groups / denominator * fmt.centroid_unit


def _nearest(normalized, centroids):
    """Index of the nearest centroid for every value (lowest index on ties)."""
    distance = np.abs(normalized[..., None] - centroids)
    return np.argmin(distance, axis=-1)


def quantize(groups, fmt, patterns, step):
    """``(indices, pattern_ids, scales)`` of float groups (docs/huffman_kv.md, "The
    quantizer"): each group takes the pattern with the least squared error, summed exactly
    (``math.fsum``, so the choice does not depend on the order of the additions), the lowest
    number on a tie."""
    scales = _scales(groups, fmt, step)
    normalized = _normalized(groups, scales, fmt, step)
    best_error = np.full(len(groups), np.inf)
    indices = np.zeros(groups.shape, dtype=np.int64)
    pattern_ids = np.zeros(len(groups), dtype=np.int64)
    for pattern, centroids in enumerate(np.asarray(patterns)):
        candidate = _nearest(normalized, centroids)
        squares = (normalized - centroids[candidate]) ** 2
        error = np.array([math.fsum(row) for row in squares])
        better = error < best_error
        best_error[better] = error[better]
        indices[better] = candidate[better]
        pattern_ids[better] = pattern
    return indices, pattern_ids, scales


def _step(groups, fmt):
    top = np.abs(groups).max()
    return float(top / ((1 << fmt.scale_bits) - 1)) if top > 0 else 1.0


def _kmeans(values, initial, seed):
    """Sorted 1-D k-means centroids (SciPy); ``initial`` is a count or starting centroids."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One of the clusters is empty")
        if np.isscalar(initial):
            centroids, _ = kmeans2(values[:, None], int(initial), minit="++", seed=seed)
        else:
            centroids, _ = kmeans2(values[:, None], np.asarray(initial, float)[:, None],
                                   minit="matrix", seed=seed)
    return np.sort(centroids[:, 0])


def _integer_centroids(centroids, fmt):
    unit = fmt.centroid_unit
    return np.clip(np.round(centroids), -unit - 1, unit).astype(np.int64)


def _learn_patterns(normalized, fmt, seed, rounds):
    """k-means patterns: groups split by spread, one 1-D k-means per part, then rounds of
    (assign each group to its best pattern, refit each pattern on its groups)."""
    spread = np.abs(normalized).mean(axis=1)
    parts = np.array_split(np.argsort(spread, kind="stable"), fmt.n_patterns)
    patterns = []
    for number, part in enumerate(parts):
        values = normalized[part].ravel() if len(part) else normalized.ravel()
        count = min(fmt.symbols, len(np.unique(values)))
        centroids = _kmeans(values, count, seed + number)
        patterns.append(np.resize(centroids, fmt.symbols))
    patterns = np.array(patterns)
    for _ in range(rounds):
        integer = _integer_centroids(patterns, fmt)
        errors = np.stack([((normalized - centroids[_nearest(normalized, centroids)]) ** 2)
                           .sum(axis=1) for centroids in integer])
        owner = np.argmin(errors, axis=0)
        for number in range(fmt.n_patterns):
            mine = normalized[owner == number].ravel()
            if len(np.unique(mine)) >= fmt.symbols:
                patterns[number] = _kmeans(mine, patterns[number], seed + number)
    return np.sort(_integer_centroids(patterns, fmt), axis=1)


def _payload_bits(histograms, lengths):
    """Payload bits of each group (rows) under each codebook; ∞ where a symbol has no code."""
    cost = np.where(lengths > 0, lengths, np.inf)
    with np.errstate(invalid="ignore"):
        return np.where(histograms[:, None, :] > 0, histograms[:, None, :] * cost[None], 0
                        ).sum(axis=2)


def _learn_codebooks(indices, fmt, rounds):
    """Codebooks by rounds of (package-merge on the summed histograms of each book's groups,
    plus one, so every symbol keeps a code; reassign groups to their shortest payload)."""
    histograms = np.stack([np.bincount(row, minlength=fmt.symbols) for row in indices])
    probabilities = histograms / histograms.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(probabilities * np.log2(probabilities), axis=1)
    owner = np.zeros(len(indices), dtype=np.int64)
    for number, part in enumerate(np.array_split(np.argsort(entropy, kind="stable"),
                                                 fmt.n_books)):
        owner[part] = number
    for _ in range(rounds):
        lengths = np.array([package_merge(histograms[owner == number].sum(axis=0) + 1,
                                          fmt.max_code_len) for number in range(fmt.n_books)])
        owner = np.argmin(_payload_bits(histograms, lengths), axis=1)
    return lengths


def learn_tables(x, fmt, *, seed=0, rounds=4):
    """Patterns (k-means) and codebooks (package-merge) learned from tensor ``x``.

    Returns ``(tables, step)``: ``step`` is the float value of scale 1, so that a dequantized
    value is ``centroid · scale · step / centroid_unit``.
    """
    groups = _groups(x, fmt)
    step = _step(groups, fmt)
    normalized = _normalized(groups, _scales(groups, fmt, step), fmt, step)
    patterns = _learn_patterns(normalized, fmt, seed, rounds)
    indices, _, _ = quantize(groups, fmt, patterns, step)
    lengths = _learn_codebooks(indices, fmt, rounds)
    return Tables.from_lengths(lengths, patterns, fmt.max_code_len), step


def int_to_bits(value, width):
    """``width`` bits of ``value``, most significant first."""
    return np.array([(int(value) >> (width - 1 - position)) & 1 for position in range(width)],
                    dtype=np.uint8)


def bits_to_int(bits):
    """The integer whose bits (most significant first) are ``bits``."""
    value = 0
    for bit in np.asarray(bits, dtype=np.int64):
        value = (value << 1) | int(bit)
    return value


def encode_group(indices, pattern, scale, fmt, tables, book=None):
    """The ``block_bits`` bits of one group.

    ``book=None`` picks the codebook with the shortest payload (lowest number on ties) and
    raw when none fits; a given ``book`` is used as is and must fit.
    """
    indices = np.asarray(indices, dtype=np.int64)
    histogram = np.bincount(indices, minlength=fmt.symbols)
    room = fmt.block_bits - fmt.header_bits
    if book is None:
        payloads = _payload_bits(histogram[None], tables.lengths(fmt))[0]
        book = int(np.argmin(payloads)) if payloads.min() <= room else fmt.raw_book
    codes, lengths = tables.book(fmt, book).encoding(fmt.symbols)
    if (lengths[indices] == 0).any():
        raise ValueError(f"codebook {book} has no code for some of the indices")
    if lengths[indices].sum() > room:
        raise ValueError(f"codebook {book} needs {lengths[indices].sum()} payload bits; "
                         f"the block has room for {room}")
    parts = [int_to_bits(book, fmt.book_bits), int_to_bits(pattern, fmt.pattern_bits),
             int_to_bits(scale, fmt.scale_bits)]
    parts += [int_to_bits(codes[index], lengths[index]) for index in indices]
    bits = np.concatenate(parts)
    return np.concatenate([bits, np.zeros(fmt.block_bits - len(bits), dtype=np.uint8)])


@dataclasses.dataclass
class Encoded:
    """An encoded tensor: blocks (``(groups, block_bits)`` bits) and what they hold."""
    blocks: np.ndarray
    indices: np.ndarray
    pattern_ids: np.ndarray
    scales: np.ndarray
    books: np.ndarray
    tables: Tables
    step: float
    shape: tuple

    def values(self):
        """Exact integer dequantized values ``centroid · scale`` per group."""
        return self.tables.patterns[self.pattern_ids[:, None], self.indices] * self.scales[:, None]

    def dequantize(self, fmt):
        """The float tensor the blocks stand for."""
        return (self.values() * (self.step / fmt.centroid_unit)).reshape(self.shape)

    def used_bits(self, fmt):
        """Header plus payload bits of each block (the rest is padding)."""
        used = np.zeros(len(self.blocks), dtype=np.int64)
        for number, (book, indices) in enumerate(zip(self.books, self.indices)):
            _, lengths = self.tables.book(fmt, int(book)).encoding(fmt.symbols)
            used[number] = fmt.header_bits + lengths[indices].sum()
        return used


def encode(x, fmt, tables=None, *, step=None, seed=0):
    """Encode float or integer tensor ``x`` (a multiple of ``group_size`` values).

    Without ``tables`` the patterns and codebooks are learned from ``x`` itself
    (:func:`learn_tables`); ``step`` defaults to the one that covers ``x``.
    """
    groups = _groups(x, fmt)
    if tables is None:
        tables, learned_step = learn_tables(groups, fmt, seed=seed)
        step = learned_step if step is None else step
    elif step is None:
        step = _step(groups, fmt)
    indices, pattern_ids, scales = quantize(groups, fmt, tables.patterns, step)
    blocks = np.stack([encode_group(row, pattern, scale, fmt, tables)
                       for row, pattern, scale in zip(indices, pattern_ids, scales)])
    books = np.array([bits_to_int(block[:fmt.book_bits]) for block in blocks], dtype=np.int64)
    return Encoded(blocks, indices, pattern_ids, scales, books, tables, step,
                   tuple(np.shape(x)))


# --- reference decoder ----------------------------------------------------------------------

@dataclasses.dataclass
class BlockResult:
    """What a block decodes to: ``group_size`` indices and values (0 after the fault), how
    many were decoded, and the error verdict (``None`` or a key of :data:`ERRORS`)."""
    indices: np.ndarray
    values: np.ndarray
    count: int
    error: object = None

    @property
    def err(self):
        return int(self.error is not None)


def speculative_decode(bits, book):
    """Decode a codeword at every bit position of ``bits`` (zeros after its end), as the
    parallel hardware does: ``(lengths, symbols, valid)`` arrays, one entry per position."""
    max_len = book.max_len
    first, offset, limit = book.canonical()
    padded = np.concatenate([np.asarray(bits, dtype=np.int64), np.zeros(max_len, np.int64)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, max_len)[:len(bits)]
    values = windows @ (1 << np.arange(max_len - 1, -1, -1))
    lengths = np.searchsorted(limit, values, side="right") + 1
    valid = lengths <= max_len
    lengths = np.minimum(lengths, max_len)
    codes = values >> (max_len - lengths)
    ranks = offset[lengths - 1] + codes - first[lengths - 1]
    symbols_list = np.asarray(book.symbols + (0,), dtype=np.int64)
    symbols = symbols_list[np.where(valid, np.clip(ranks, 0, len(book.symbols)), -1)]
    return lengths, symbols, valid


def decode_block(bits, fmt, tables):
    """Decode the received bits of one block (fewer than ``block_bits`` if it was cut short).

    Decoding stops at the first fault; indices and values from the fault on are 0.
    """
    bits = np.asarray(bits, dtype=np.uint8)
    indices = np.zeros(fmt.group_size, dtype=np.int64)
    values = np.zeros(fmt.group_size, dtype=np.int64)

    def result(count, error):
        return BlockResult(indices, values, count, error)

    if len(bits) < fmt.header_bits:
        return result(0, "past_end")
    book = bits_to_int(bits[:fmt.book_bits])
    pattern = bits_to_int(bits[fmt.book_bits:fmt.book_bits + fmt.pattern_bits])
    scale = bits_to_int(bits[fmt.book_bits + fmt.pattern_bits:fmt.header_bits])
    if not tables.valid:
        return result(0, "bad_tables")
    if book > fmt.raw_book or (book < fmt.raw_book
                               and not tables.codebooks[book].is_valid(fmt.symbols)):
        return result(0, "bad_book")
    if pattern >= fmt.n_patterns:
        return result(0, "bad_pattern")
    lengths, symbols, valid = speculative_decode(bits, tables.book(fmt, book))
    position, error = fmt.header_bits, None
    for count in range(fmt.group_size):
        if position >= len(bits):
            error = "past_end"
        elif not valid[position]:
            # No code matches the window; if the block ends inside it, it ran past the end.
            error = "past_end" if position + fmt.max_code_len > len(bits) else "invalid_code"
        elif position + lengths[position] > len(bits):
            error = "past_end"
        if error:
            break
        indices[count] = symbols[position]
        position += lengths[position]
    else:
        count = fmt.group_size
    values[:count] = tables.patterns[pattern][indices[:count]] * scale
    return result(count, error)


def words_of(bits, width):
    """The ``width``-bit words (most significant bit first) of a bit string."""
    bits = np.asarray(bits, dtype=np.uint8)
    return [bits_to_int(bits[start:start + width]) for start in range(0, len(bits), width)]


def bits_of_words(words, width):
    return (np.concatenate([int_to_bits(word, width) for word in words]) if len(words)
            else np.zeros(0, dtype=np.uint8))


def decode_words(words, width, fmt, tables):
    """Decode one block as received on a ``width``-bit stream: the words up to and including
    the one marked ``last``. A block of the wrong length is an error (``short_block``,
    ``long_block``); a long block decodes from its first ``block_bits`` bits."""
    expected = fmt.block_bits // width
    result = decode_block(bits_of_words(words[:expected], width), fmt, tables)
    if len(words) != expected:
        result.error = "short_block" if len(words) < expected else "long_block"
    return result
