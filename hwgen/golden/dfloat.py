"""DFloat11-style lossless BF16 blocks: format, encoder and reference decoder (pure NumPy).

A BF16 value is sign (1 bit), exponent (8) and mantissa (7). Real weights use few exponents
(about 2.6 bits of entropy), so the exponent is coded with a canonical, length-limited Huffman
code and sign and mantissa stay raw. A tensor (flattened, a multiple of ``group_size``
values) is cut into groups; each group is one block, a bit string, first bit first::

    sign·mantissa bytes (8·group_size) | book (book_bits) | group_size exponent codewords

The byte of value ``v`` is ``(v >> 8 & 0x80) | (v & 0x7f)``. ``book_bits =
⌈log2(n_books + 1)⌉``; book ``n_books`` is *raw*: every exponent as 8 bits. A codebook codes
at most ``n_codes`` exponents; its canonical rank ``r`` stands for exponent ``symbols[r]``.
The encoder picks the book with the shortest exponent section (raw included, lowest number
on a tie, raw last), so every block is lossless and at most ``16·group_size + book_bits``
bits. On a stream of ``width``-bit words a block is zero-padded to whole words, its final
word marked ``last``. The exact rules are in ``docs/dfloat.md``.

:func:`decode_block` and :func:`decode_words` are the reference decoder, with the verdicts
of :data:`ERRORS`; the values of a faulty block from its first undecoded exponent on are 0.
"""
import dataclasses
import pathlib

import numpy as np

from hwgen.golden import float as fp
from hwgen.golden.kvformat import (Codebook, bits_to_int, int_to_bits, package_merge,
                            speculative_decode)
from hwgen.params import Int, Params, param

__all__ = [
    "DFloatFormat", "Codebooks", "BlockResult", "Encoded", "ERRORS", "EXPONENTS",
    "bf16_of", "split", "join", "learn_codebooks", "encode_block", "encode", "decode_block",
    "decode_words", "block_words", "words_bits", "block_bits_used", "REAL_WEIGHTS",
    "real_weights", "expected_beats", "directed", "random_blocks", "to_vectors", "vectors",
]

#: Rows of the query (layer 0) and value (layer 1) projections of all-MiniLM-L6-v2 (float16).
REAL_WEIGHTS = pathlib.Path(__file__).resolve().parent / "data" / "dfloat_minilm.npz"

#: Exponent values of BF16 (the alphabet of the codes).
EXPONENTS = 256

#: Error verdicts of the reference decoder.
ERRORS = {
    "short_block": "the block ended (last) before its bytes and exponent codewords were all "
                   "received",
    "long_block": "words followed the one holding the block's final bit before last",
    "bad_tables": "the codebook set used for the block was loaded malformed",
    "bad_book": "the book field names no codebook (or one that is not a prefix code over at "
                "most n_codes exponents)",
    "invalid_code": "an exponent codeword matches no code of the (incomplete) codebook",
}


@dataclasses.dataclass(frozen=True)
class DFloatFormat(Params):
    """The parameters of the block format (the decoder kind extends them)."""
    group_size: int = param(128, Int(1, 4096), "BF16 values per block")
    n_books: int = param(1, Int(1, 15), "exponent codebooks per tensor (book n_books is raw)")
    n_codes: int = param(32, Int(1, EXPONENTS), "most exponents a codebook codes")
    max_code_len: int = param(8, Int(8, 16), "longest exponent codeword (at least 8: raw)")

    @property
    def book_bits(self):
        return self.n_books.bit_length()

    @property
    def raw_book(self):
        return self.n_books

    @property
    def byte_bits(self):
        """Bits of a block's sign·mantissa section."""
        return 8 * self.group_size

    @property
    def header_bits(self):
        """Bits before the first exponent codeword: the bytes and the book field."""
        return self.byte_bits + self.book_bits

    def format_of(self):
        """The plain :class:`DFloatFormat` of this parameter set (drops other parameters)."""
        return DFloatFormat(**{field.name: getattr(self, field.name)
                               for field in dataclasses.fields(DFloatFormat)})


@dataclasses.dataclass(frozen=True)
class Codebooks:
    """The exponent codebooks of a tensor (:class:`~hwgen.kvformat.Codebook`, symbols are
    exponents). ``valid`` is false for a set that was loaded malformed."""
    books: tuple
    valid: bool = True

    def book(self, fmt, number):
        """Codebook ``number``; ``fmt.raw_book`` gives the raw code (8-bit exponents)."""
        if number == fmt.raw_book:
            return Codebook.raw(8, fmt.max_code_len)
        return self.books[number]

    def usable(self, fmt, number):
        """Whether book ``number`` can decode: the raw book, or a prefix code over at most
        ``n_codes`` exponents with its symbols listed."""
        if number == fmt.raw_book:
            return True
        book = self.books[number]
        return (book.kraft() <= 1 << fmt.max_code_len and sum(book.counts) <= fmt.n_codes
                and sum(book.counts) <= len(book.symbols)
                and all(0 <= symbol < EXPONENTS for symbol in book.symbols))


def real_weights():
    """The real weight slices, ``{name: float16 array}``."""
    with np.load(REAL_WEIGHTS) as archive:
        return {name: archive[name] for name in archive.files}


# --- BF16 fields ------------------------------------------------------------------------------

def bf16_of(x):
    """BF16 bit patterns (uint16) of ``x``, rounded to nearest, ties to even."""
    with np.errstate(invalid="ignore"):  # NaN and infinities pass through an integer cast
        return fp.from_float64(np.asarray(x, dtype=np.float64), fp.BF16).astype(np.uint16)


def split(values):
    """``(bytes, exponents)`` of BF16 patterns: sign·mantissa byte and 8-bit exponent."""
    values = np.asarray(values, dtype=np.int64)
    return ((values >> 8) & 0x80) | (values & 0x7F), (values >> 7) & 0xFF


def join(raw_bytes, exponents):
    """BF16 patterns (uint16) from sign·mantissa bytes and exponents."""
    raw_bytes = np.asarray(raw_bytes, dtype=np.int64)
    exponents = np.asarray(exponents, dtype=np.int64)
    return (((raw_bytes & 0x80) << 8) | (exponents << 7) | (raw_bytes & 0x7F)).astype(np.uint16)


# --- codebooks --------------------------------------------------------------------------------

def _groups(values, fmt):
    values = np.asarray(values).ravel()
    if values.dtype != np.uint16:
        raise ValueError(f"values must be BF16 bit patterns (uint16), not {values.dtype}")
    if values.size % fmt.group_size:
        raise ValueError(f"the tensor must have a multiple of group_size ({fmt.group_size}) "
                         f"values, not {values.size}")
    return values.reshape(-1, fmt.group_size)


def _book_lengths(histogram, fmt):
    """Code lengths (per exponent, 0 = no code) for an exponent histogram: the ``n_codes``
    most frequent exponents (the lower exponent first on equal counts) by package-merge."""
    order = np.lexsort((np.arange(EXPONENTS), -histogram))
    kept = order[:fmt.n_codes]
    kept = kept[histogram[kept] > 0]
    weights = np.zeros(EXPONENTS, dtype=np.int64)
    weights[kept] = histogram[kept]
    return package_merge(weights, fmt.max_code_len)


def _section_bits(histograms, lengths):
    """Exponent-section bits of each group (rows) under each book (∞ where an exponent has
    no code); the raw book (8 bits each) is the last column."""
    cost = np.where(lengths > 0, lengths, np.inf)
    with np.errstate(invalid="ignore"):
        coded = np.where(histograms[:, None, :] > 0, histograms[:, None, :] * cost[None], 0
                         ).sum(axis=2)
    raw = histograms.sum(axis=1, keepdims=True) * 8
    return np.concatenate([coded, raw], axis=1)


def learn_codebooks(values, fmt, *, rounds=4):
    """The ``n_books`` codebooks of BF16 tensor ``values``.

    One book: package-merge on the tensor's exponent histogram. Several: the groups are split
    by the entropy of their exponents, then ``rounds`` times each book is refit on the groups
    it codes shortest and the groups are reassigned.
    """
    groups = _groups(values, fmt)
    _, exponents = split(groups)
    histograms = np.stack([np.bincount(row, minlength=EXPONENTS) for row in exponents])
    probabilities = histograms / fmt.group_size
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(probabilities * np.log2(probabilities), axis=1)
    owner = np.zeros(len(groups), dtype=np.int64)
    for number, part in enumerate(np.array_split(np.argsort(entropy, kind="stable"),
                                                 fmt.n_books)):
        owner[part] = number
    for _ in range(rounds if fmt.n_books > 1 else 1):
        lengths = np.array([_book_lengths(histograms[owner == number].sum(axis=0), fmt)
                            for number in range(fmt.n_books)])
        owner = np.argmin(_section_bits(histograms, lengths)[:, :fmt.n_books], axis=1)
    return Codebooks(tuple(Codebook.from_lengths(row, fmt.max_code_len) for row in lengths))


# --- encoder ----------------------------------------------------------------------------------

def encode_block(values, fmt, codebooks, book=None):
    """The bit string of one group of ``group_size`` BF16 patterns.

    ``book=None`` picks the book with the shortest exponent section, raw included (lowest
    number on a tie, raw last); a given ``book`` must code every exponent of the group.
    """
    raw_bytes, exponents = split(values)
    if book is None:
        histogram = np.bincount(exponents, minlength=EXPONENTS)[None]
        lengths = np.array([codebooks.book(fmt, number).lengths(EXPONENTS)
                            for number in range(fmt.n_books)])
        book = int(np.argmin(_section_bits(histogram, lengths)[0]))
    codes, lengths = codebooks.book(fmt, book).encoding(EXPONENTS)
    if (lengths[exponents] == 0).any():
        raise ValueError(f"codebook {book} has no code for some of the exponents")
    return np.concatenate([_bits_of(raw_bytes, np.full(len(raw_bytes), 8)),
                           int_to_bits(book, fmt.book_bits),
                           _bits_of(codes[exponents], lengths[exponents])])


def _bits_of(values, widths):
    """The concatenated bits (most significant first) of ``values[i]`` in ``widths[i]``."""
    values, widths = np.asarray(values, dtype=np.int64), np.asarray(widths, dtype=np.int64)
    owner = np.repeat(np.arange(len(values)), widths)
    within = np.arange(int(widths.sum())) - np.repeat(np.cumsum(widths) - widths, widths)
    return ((values[owner] >> (widths[owner] - 1 - within)) & 1).astype(np.uint8)


@dataclasses.dataclass
class Encoded:
    """An encoded tensor: one bit string per block, the book each block uses, the codebooks
    and the tensor's shape."""
    blocks: list
    books: np.ndarray
    codebooks: Codebooks
    shape: tuple

    def bits(self):
        """Bits of every block (before padding to stream words)."""
        return np.array([len(block) for block in self.blocks], dtype=np.int64)

    def word_bits(self, width):
        """Bits of every block on a ``width``-bit stream (padded to whole words)."""
        return -(-self.bits() // width) * width


def encode(x, fmt, codebooks=None):
    """Encode tensor ``x``: BF16 patterns (uint16) or floats (rounded to BF16 first).

    Without ``codebooks`` they are learned from the tensor (:func:`learn_codebooks`).
    """
    values = np.asarray(x)
    if values.dtype != np.uint16:
        values = bf16_of(values)
    groups = _groups(values, fmt)
    if codebooks is None:
        codebooks = learn_codebooks(groups, fmt)
    blocks = [encode_block(group, fmt, codebooks) for group in groups]
    books = np.array([bits_to_int(block[fmt.byte_bits:fmt.header_bits]) for block in blocks],
                     dtype=np.int64)
    return Encoded(blocks, books, codebooks, tuple(np.shape(x)))


def block_bits_used(fmt, codebooks, book, values):
    """Bits of the block of ``values`` under ``book`` (no padding)."""
    _, exponents = split(values)
    _, lengths = codebooks.book(fmt, book).encoding(EXPONENTS)
    return fmt.header_bits + int(lengths[exponents].sum())


# --- reference decoder ------------------------------------------------------------------------

@dataclasses.dataclass
class BlockResult:
    """What a block decodes to: ``group_size`` BF16 patterns (0 from the first undecoded
    exponent on), how many exponents were decoded, the bits the block used (bytes, book and
    the codewords decoded) and the verdict (``None`` or a key of :data:`ERRORS`)."""
    values: np.ndarray
    count: int
    used_bits: int
    error: object = None

    @property
    def err(self):
        return int(self.error is not None)


def _walk(bits, start, book, count):
    """Decode up to ``count`` codewords of ``book`` from ``bits[start:]``: ``(ranks, end,
    error)``. The window of a codeword is zero-extended past the end of ``bits``; a codeword
    (or a window that matches none) reaching past the end is ``short_block``."""
    section = np.asarray(bits[start:])
    lengths, ranks, valid = speculative_decode(section, Codebook(book.counts,
                                                                 tuple(range(EXPONENTS))))
    lengths, ranks, valid = lengths.tolist(), ranks.tolist(), valid.tolist()
    size, position, decoded = len(section), 0, []
    while len(decoded) < count:
        if position >= size:
            error = "short_block"
        elif not valid[position]:
            error = "short_block" if position + book.max_len > size else "invalid_code"
        elif position + lengths[position] > size:
            error = "short_block"
        else:
            decoded.append(ranks[position])
            position += lengths[position]
            continue
        return decoded, start + position, error
    return decoded, start + position, None


def decode_block(bits, fmt, codebooks):
    """Decode the received bits of one block (the block's words, padding included).

    Decoding stops at the first fault; the values from the first undecoded exponent on are 0
    (all 16 bits).
    """
    bits = np.asarray(bits, dtype=np.uint8)
    values = np.zeros(fmt.group_size, dtype=np.uint16)
    if len(bits) < fmt.header_bits:
        return BlockResult(values, 0, len(bits), "short_block")
    if not codebooks.valid:
        return BlockResult(values, 0, fmt.header_bits, "bad_tables")
    book = bits_to_int(bits[fmt.byte_bits:fmt.header_bits])
    if book > fmt.raw_book or not codebooks.usable(fmt, book):
        return BlockResult(values, 0, fmt.header_bits, "bad_book")
    code = codebooks.book(fmt, book)
    ranks, end, error = _walk(bits, fmt.header_bits, code, fmt.group_size)
    count = len(ranks)
    raw_bytes = np.packbits(bits[:8 * count])
    symbols = np.asarray(code.symbols, dtype=np.int64)
    values[:count] = join(raw_bytes, symbols[np.asarray(ranks, dtype=np.int64)])
    return BlockResult(values, count, end, error)


def words_bits(words, width):
    """The bit string of ``width``-bit words (most significant bit first)."""
    if not len(words):
        return np.zeros(0, dtype=np.uint8)
    return np.concatenate([int_to_bits(word, width) for word in words])


def block_words(bits, width):
    """A block's bit string as ``width``-bit words, the final one zero-padded."""
    bits = np.asarray(bits, dtype=np.uint8)
    padded = np.concatenate([bits, np.zeros(-len(bits) % width, dtype=np.uint8)])
    return [bits_to_int(padded[start:start + width]) for start in range(0, len(padded), width)]


def decode_words(words, width, fmt, codebooks):
    """Decode one block as received on a ``width``-bit stream: the words up to and including
    the one marked ``last``. Words after the one holding the block's final bit make it
    ``long_block`` (its values are kept)."""
    result = decode_block(words_bits(words, width), fmt, codebooks)
    if result.error is None and len(words) > -(-result.used_bits // width):
        result.error = "long_block"
    return result



# --- stream vectors of the decoder ------------------------------------------------------------

def expected_beats(p, result):
    """The output beats (``lanes`` values each) of a decoded block."""
    beats = p.group_size // p.lanes
    return [{"v": result.values[beat * p.lanes:(beat + 1) * p.lanes].tolist(),
             "first": int(beat == 0), "last": int(beat == beats - 1), "err": result.err}
            for beat in range(beats)]


def _group_with_exponents(exponents, rng):
    """BF16 patterns with the given exponents and random signs and mantissas."""
    return join(rng.integers(0, 256, len(exponents)), exponents)


def _edge_groups(p, codebooks, rng):
    """Groups of every book's shortest and longest codes, and real-looking groups whose
    exponent codes end exactly at a word end, or whose final codeword crosses one."""
    groups = []
    for number in range(p.n_books):
        lengths = codebooks.book(p, number).lengths(EXPONENTS)
        coded = np.flatnonzero(lengths)
        for extreme in (lengths[coded].min(), lengths[coded].max()):
            groups.append(_group_with_exponents(
                rng.choice(coded[lengths[coded] == extreme], p.group_size), rng))
        weights = 2.0 ** -lengths[coded].astype(float)
        candidates = rng.choice(coded, (4000, p.group_size), p=weights / weights.sum())
        used = p.header_bits + lengths[candidates].sum(axis=1)
        final_length = lengths[candidates[:, -1]]
        ends_at_word = np.flatnonzero(used % p.in_bits == 0)
        crosses = np.flatnonzero((used % p.in_bits > 0) & (used % p.in_bits < final_length))
        for found in (ends_at_word, crosses):
            groups += [_group_with_exponents(candidates[row], rng) for row in found[:2]]
    return groups


def _fuzzed(p, words, rng):
    """A block's words with bit flips, cut short, run long or replaced by random bits."""
    kind = rng.integers(4)
    if kind == 0:
        bits = words_bits(words, p.in_bits)
        bits[rng.choice(len(bits), int(rng.integers(1, 4)), replace=False)] ^= 1
        return block_words(bits, p.in_bits)
    if kind == 1:
        return words[:int(rng.integers(1, len(words)))]
    if kind == 2:
        return words + [int(rng.integers(1 << 62)) & ((1 << p.in_bits) - 1)
                        for _ in range(int(rng.integers(1, 3)))]
    return [int.from_bytes(rng.bytes(p.in_bits // 8), "big") for _ in range(len(words))]


def directed(p):
    """Edge-case blocks (lists of words): real weights, every book's shortest and longest
    codes, codes ending exactly at a word end and crossing into the final word, raw blocks
    of every BF16 special value and of random patterns, and faulty blocks (short, cut inside
    the bytes, long, a bad book, all zeros, random bits)."""
    rng = np.random.default_rng(2026)
    codebooks = p.codebook_set()
    fmt = p.format_of()
    real = np.concatenate([bf16_of(w).ravel() for w in real_weights().values()])
    groups = [real[start:start + p.group_size]
              for start in np.linspace(0, len(real) - p.group_size, 6).astype(int)]
    groups += _edge_groups(p, codebooks, rng)
    specials = bf16_of([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -3e38, 1.0])
    groups.append(np.resize(np.concatenate([specials, np.array([0x7F81, 0xFFFF], np.uint16)]),
                            p.group_size).astype(np.uint16))
    groups.append(rng.integers(0, 1 << 16, p.group_size).astype(np.uint16))
    blocks = [block_words(encode_block(group, fmt, codebooks), p.in_bits) for group in groups]
    good = blocks[0]
    faulty = [good[:-1], good[:1], good[:p.byte_words], good + [0], good + [good[0]] * 2,
              [0] * len(good), [(1 << p.in_bits) - 1] * len(good)]
    for book in range(p.raw_book + 1, 1 << p.book_bits):
        bits = words_bits(good, p.in_bits)
        bits[p.byte_bits:p.header_bits] = int_to_bits(book, p.book_bits)
        faulty.append(block_words(bits, p.in_bits))
    return blocks + faulty


def random_blocks(p, count, rng):
    """``count`` blocks: encoded random weights (Gaussian or Laplace, random scales,
    sometimes sparse) and fuzzed versions of them."""
    codebooks = p.codebook_set()
    fmt = p.format_of()
    blocks = []
    for _ in range(count):
        scale = 10.0 ** rng.uniform(-2.5, -0.5)
        values = (rng.normal if rng.random() < 0.5 else rng.laplace)(size=p.group_size) * scale
        if rng.random() < 0.2:
            values *= rng.random(p.group_size) < 0.5
        words = block_words(encode_block(bf16_of(values), fmt, codebooks), p.in_bits)
        blocks.append(_fuzzed(p, words, rng) if rng.random() < 0.4 else words)
    return blocks


def to_vectors(p, blocks):
    """Stream vectors (see :mod:`hwgen.golden`) for ``blocks`` (lists of words)."""
    codebooks = p.codebook_set()
    words, outputs = [], []
    for block in blocks:
        words += [{"data": int(word), "last": int(number == len(block) - 1)}
                  for number, word in enumerate(block)]
        outputs += expected_beats(p, decode_words(block, p.in_bits, p.format_of(), codebooks))
    return {"inputs": {"i": words}, "outputs": {"o": outputs}}


def vectors(p, count, seed):
    """Directed edge cases followed by ``count`` random blocks."""
    return to_vectors(p, directed(p) + random_blocks(p, count, np.random.default_rng(seed)))
