"""The block format: package-merge, canonical codes, the encoder and the reference decoder."""
import itertools

import numpy as np
import pytest
from bitarray import bitarray
from bitarray.util import canonical_decode, huffman_code

from hwgen.golden import kvformat as kv

SMALL = kv.BlockFormat(group_size=16, block_bits=128, max_code_len=6)


def brute_force_cost(weights, max_len):
    """The least Σ weight·length over all prefix codes with lengths 1..max_len."""
    best = None
    for lengths in itertools.product(range(1, max_len + 1), repeat=len(weights)):
        if sum(2.0 ** -length for length in lengths) <= 1:
            cost = sum(w * length for w, length in zip(weights, lengths))
            best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_package_merge_is_optimal_for_small_alphabets(seed):
    rng = np.random.default_rng(seed)
    symbols = int(rng.integers(2, 6))
    weights = rng.integers(1, 50, symbols) * rng.integers(1, 20, symbols)
    for max_len in range(int(np.ceil(np.log2(symbols))), symbols):
        lengths = kv.package_merge(weights, max_len)
        assert lengths.max() <= max_len
        assert sum(2.0 ** -length for length in lengths) <= 1
        assert (weights * lengths).sum() == brute_force_cost(weights, max_len)


def test_package_merge_without_a_binding_limit_matches_huffman():
    rng = np.random.default_rng(3)
    for _ in range(20):
        weights = rng.integers(1, 1000, 8)
        ours = kv.package_merge(weights, 16)
        theirs = huffman_code(dict(enumerate(weights.tolist())))
        assert (weights * ours).sum() == sum(weights[s] * len(code) for s, code in theirs.items())


def test_package_merge_edge_cases():
    assert kv.package_merge([0, 0, 5, 0], 3).tolist() == [0, 0, 1, 0]
    assert kv.package_merge([0, 0], 3).tolist() == [0, 0]
    assert kv.package_merge([1, 1, 1, 1], 2).tolist() == [2, 2, 2, 2]
    assert kv.package_merge([0, 3, 0, 1], 4).tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="5 symbols need codes longer than max_len 2"):
        kv.package_merge([1, 1, 1, 1, 1], 2)
    # Deterministic tie-break: equal weights give the same lengths every time.
    assert kv.package_merge([4] * 6, 3).tolist() == kv.package_merge([4] * 6, 3).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_canonical_codes_decode_with_bitarray(seed):
    rng = np.random.default_rng(seed)
    lengths = kv.package_merge(rng.integers(0, 30, 16) ** 2, int(rng.integers(4, 9)))
    book = kv.Codebook.from_lengths(lengths, max(lengths.max(), 4))
    codes, code_lengths = book.encoding(16)
    assert (code_lengths == lengths).all()
    message = rng.choice(np.flatnonzero(lengths), 300)
    bits = np.concatenate([kv.int_to_bits(codes[s], code_lengths[s]) for s in message])
    count = [0] + list(book.counts)
    decoded = list(canonical_decode(bitarray(bits.tolist()), count, list(book.symbols)))
    assert decoded == message.tolist()


def test_canonical_tables_in_canonical_order():
    book = kv.Codebook.from_lengths([3, 2, 0, 2, 3, 3], 4)
    assert book.counts == (0, 2, 3, 0)
    assert book.symbols == (1, 3, 0, 4, 5)
    first, offset, limit = book.canonical()
    assert first.tolist() == [0, 0, 4, 14]
    assert offset.tolist() == [0, 0, 2, 5]
    assert limit.tolist() == [0, 8, 14, 14]
    assert book.kraft() == 14 and book.is_valid(6)
    assert kv.Codebook((2, 0, 0, 0), (0, 1)).is_valid(2)
    assert not kv.Codebook((3, 0, 0, 0), (0, 1, 2)).is_valid(4)  # Kraft sum 1.5
    assert not kv.Codebook((0, 4, 1, 0), (0, 1, 2, 3, 0)).is_valid(4)  # five codes, 4 symbols


def slow_decode(bits, fmt, tables):
    """Obviously-correct decoding: read the header, then one bit at a time per codeword."""
    bits = [int(bit) for bit in bits]
    indices = [0] * fmt.group_size

    def field(start, width):
        return int("".join(map(str, bits[start:start + width])) or "0", 2)

    def done(count, error, values=None):
        return indices, values or [0] * fmt.group_size, count, error

    if len(bits) < fmt.header_bits:
        return done(0, "past_end")
    book = field(0, fmt.book_bits)
    pattern = field(fmt.book_bits, fmt.pattern_bits)
    scale = field(fmt.book_bits + fmt.pattern_bits, fmt.scale_bits)
    if not tables.valid:
        return done(0, "bad_tables")
    if book > fmt.n_books or (book < fmt.n_books
                              and not tables.codebooks[book].is_valid(fmt.symbols)):
        return done(0, "bad_book")
    if pattern >= fmt.n_patterns:
        return done(0, "bad_pattern")
    code_book = tables.book(fmt, book)
    position, count, error = fmt.header_bits, 0, None
    while count < fmt.group_size and error is None:
        code, first, index = 0, 0, 0
        for length in range(1, fmt.max_code_len + 1):
            if position + length > len(bits):
                error = "past_end"
                break
            code = 2 * code + bits[position + length - 1]
            number = code_book.counts[length - 1]
            if first <= code < first + number:
                indices[count] = code_book.symbols[index + code - first]
                position += length
                count += 1
                break
            first, index = (first + number) * 2, index + number
        else:
            error = "invalid_code"
    values = [int(tables.patterns[pattern][indices[k]]) * scale if k < count else 0
              for k in range(fmt.group_size)]
    return done(count, error, values)


def fuzzed_blocks(fmt, tables, rng, count):
    """Valid blocks of random data, then with flipped bits, cut short and with random headers."""
    x = rng.laplace(size=(count, fmt.group_size))
    blocks = list(kv.encode(x, fmt, tables).blocks)
    for block in list(blocks):
        flipped = block.copy()
        flipped[rng.choice(len(block), 2, replace=False)] ^= 1
        blocks.append(flipped)
        blocks.append(block[:int(rng.integers(0, len(block)))])
        blocks.append(np.concatenate([rng.integers(0, 2, fmt.header_bits).astype(np.uint8),
                                      block[fmt.header_bits:]]))
        blocks.append(rng.integers(0, 2, len(block)).astype(np.uint8))
    return blocks


@pytest.mark.parametrize("fmt,incomplete", [
    (SMALL, False),
    (SMALL, True),
    (kv.BlockFormat(group_size=8, sym_bits=2, n_patterns=3, n_books=2, max_code_len=4,
                    block_bits=48, scale_bits=4, centroid_bits=6), True),
    (kv.BlockFormat(), False),
])
def test_reference_decoder_agrees_with_a_slow_one(fmt, incomplete):
    rng = np.random.default_rng(5)
    tables, _ = kv.learn_tables(rng.laplace(size=(8, fmt.group_size)), fmt)
    if incomplete:
        books = list(tables.codebooks)
        counts = list(books[0].counts)
        counts[max(k for k, c in enumerate(counts) if c)] -= 1
        books[0] = kv.Codebook(tuple(counts), books[0].symbols[:sum(counts)])
        tables = kv.Tables(tuple(books), tables.patterns)
    verdicts = set()
    for bits in fuzzed_blocks(fmt, tables, rng, 6):
        fast = kv.decode_block(bits, fmt, tables)
        indices, values, count, error = slow_decode(bits, fmt, tables)
        assert (fast.count, fast.error) == (count, error)
        assert fast.indices.tolist() == indices and fast.values.tolist() == values
        verdicts.add(error)
    assert {None, "past_end"} <= verdicts
    assert ("invalid_code" in verdicts) == incomplete


@pytest.mark.parametrize("kind", ["normal", "laplace", "skewed", "sparse", "integer"])
def test_encode_decode_round_trip(kind):
    rng = np.random.default_rng(11)
    shape = (12, 256)
    x = {"normal": lambda: rng.normal(size=shape),
         "laplace": lambda: rng.laplace(size=shape) * 3,
         "skewed": lambda: rng.exponential(size=shape) ** 2,
         "sparse": lambda: rng.normal(size=shape) * (rng.random(shape) < 0.05),
         "integer": lambda: rng.integers(-128, 128, shape)}[kind]()
    fmt = kv.BlockFormat()
    encoded = kv.encode(x, fmt)
    assert encoded.blocks.shape == (x.size // fmt.group_size, fmt.block_bits)
    for bits, indices, values in zip(encoded.blocks, encoded.indices, encoded.values()):
        result = kv.decode_block(bits, fmt, encoded.tables)
        assert result.error is None and result.count == fmt.group_size
        assert (result.indices == indices).all() and (result.values == values).all()
    error = np.abs(encoded.dequantize(fmt) - x).max()
    assert error <= np.abs(x).max()  # a bound, not a quality claim: the values are exact ints
    assert encoded.dequantize(fmt).shape == x.shape


def test_encoder_picks_the_shortest_book_and_falls_back_to_raw():
    fmt = kv.BlockFormat(group_size=16, block_bits=40, sym_bits=2, n_books=2,
                         max_code_len=3, scale_bits=4)
    tables = kv.Tables.from_lengths([[1, 2, 3, 3], [3, 3, 2, 1]], [[-3, -1, 1, 3]] * 4, 3)
    room = fmt.block_bits - fmt.header_bits
    for indices, book in (([0] * 16, 0), ([3] * 16, 1), ([0, 1, 2, 3] * 4, 2)):
        bits = kv.encode_group(indices, 1, 5, fmt, tables)
        assert kv.bits_to_int(bits[:fmt.book_bits]) == book
        result = kv.decode_block(bits, fmt, tables)
        assert result.indices.tolist() == indices and result.error is None
    assert room == 32 < 36  # the mixed group fits no book: raw was the only choice
    with pytest.raises(ValueError, match="codebook 0 needs 36 payload bits; the block has "
                                         "room for 32"):
        kv.encode_group([0, 1, 2, 3] * 4, 0, 0, fmt, tables, book=0)


def test_table_words_round_trip_and_malformed_loads():
    fmt = kv.BlockFormat(group_size=16, block_bits=128, max_code_len=6)
    tables = kv.default_tables(fmt)
    words = kv.table_words(fmt, tables)
    assert len(words) == len(kv.table_entries(fmt)) == 4 * (6 + 8) + 4 * 8
    loaded = kv.tables_from_words(fmt, words)
    assert loaded.valid and (loaded.patterns == tables.patterns).all()
    for ours, theirs in zip(loaded.codebooks, tables.codebooks):
        assert ours.counts == theirs.counts
        assert ours.symbols[:len(theirs.symbols)] == theirs.symbols
    assert not kv.tables_from_words(fmt, words[:-1]).valid
    assert not kv.tables_from_words(fmt, words + [0]).valid


def test_a_long_block_decodes_its_first_block_bits_and_a_short_one_is_cut():
    fmt = kv.BlockFormat(group_size=16, block_bits=128, max_code_len=6)
    tables = kv.default_tables(fmt)
    bits = kv.encode_group(np.arange(16) % 8, 2, 9, fmt, tables)
    words = kv.words_of(bits, 32)
    whole = kv.decode_words(words, 32, fmt, tables)
    long = kv.decode_words(words + [123], 32, fmt, tables)
    short = kv.decode_words(words[:1], 32, fmt, tables)
    assert whole.error is None and long.error == "long_block" and short.error == "short_block"
    assert (long.values == whole.values).all() and long.count == 16
    assert short.count < 16 and (short.values[short.count:] == 0).all()
    assert (short.indices[:short.count] == whole.indices[:short.count]).all()


@pytest.mark.parametrize("kwargs,message", [
    (dict(group_size=0), r"^group_size must be an integer between 1 and 4096, not 0$"),
    (dict(sym_bits=9), r"^sym_bits must be an integer between 1 and 8, not 9$"),
    (dict(n_patterns=17), r"^n_patterns must be an integer between 1 and 16, not 17$"),
    (dict(centroid_bits=1), r"^centroid_bits must be an integer between 2 and 16, not 1$"),
    (dict(scale_bits=0), r"^scale_bits must be an integer between 1 and 16, not 0$"),
    (dict(n_books=16), r"^n_books must be an integer between 1 and 15, not 16$"),
    (dict(max_code_len=17), r"^max_code_len must be an integer between 1 and 16, not 17$"),
    (dict(block_bits=4), r"^block_bits must be an integer between 8 and 8192, not 4$"),
    (dict(sym_bits=4, max_code_len=3),
     r"^max_code_len must be at least sym_bits \(4\), not 3$"),
    (dict(sym_bits=4), r"^block_bits must hold the header and group_size raw indices "
                       r"\(at least 525\), not 512$"),
])
def test_format_rules(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kv.BlockFormat(**kwargs)


def test_format_fields():
    fmt = kv.BlockFormat()
    assert (fmt.book_bits, fmt.pattern_bits, fmt.header_bits) == (3, 2, 13)
    assert kv.BlockFormat(n_patterns=1, n_books=3).header_bits == 2 + 0 + 8
    assert fmt.raw_book == 4 and fmt.symbols == 8 and fmt.centroid_unit == 127
