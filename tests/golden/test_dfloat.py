"""DFloat11-style BF16 blocks: rounding, the encoder and the reference decoder."""
import numpy as np
import pytest

from hwgen.golden import dfloat as df
from hwgen.golden.kvformat import Codebook
from hwgen.params import ParamError

FMT = df.DFloatFormat()
SMALL = df.DFloatFormat(group_size=16, n_books=2, n_codes=8)


def slow_bf16(x):
    """Round float32 values to BF16 by integer arithmetic on their bits (nearest, ties to
    even; every NaN becomes 0x7fc0)."""
    out = []
    for value in np.asarray(x, dtype=np.float32).ravel():
        bits = int(value.view(np.uint32))
        if np.isnan(value):
            out.append(0x7FC0)
            continue
        upper, lower = bits >> 16, bits & 0xFFFF
        if lower > 0x8000 or (lower == 0x8000 and upper & 1):
            upper += 1
        out.append(upper)
    return np.array(out, dtype=np.uint16)


def slow_decode(bits, fmt, codebooks):
    """A bit-by-bit canonical decoder written from docs/dfloat.md: ``(values, count,
    verdict)`` of a block's received bits (the long_block rule is not part of it)."""
    bits = [int(bit) for bit in bits]
    values = [0] * fmt.group_size
    if len(bits) < fmt.header_bits:
        return values, 0, "short_block"
    if not codebooks.valid:
        return values, 0, "bad_tables"
    book = int("".join(map(str, bits[fmt.byte_bits:fmt.header_bits])) or "0", 2)
    if book > fmt.raw_book:
        return values, 0, "bad_book"
    if book == fmt.raw_book:
        counts, symbols = [0] * 7 + [256] + [0] * (fmt.max_code_len - 8), list(range(256))
    else:
        counts, symbols = list(codebooks.books[book].counts), list(codebooks.books[book].symbols)
        kraft = sum(count * 2 ** (fmt.max_code_len - length)
                    for length, count in enumerate(counts, start=1))
        if kraft > 2 ** fmt.max_code_len or sum(counts) > min(fmt.n_codes, len(symbols)):
            return values, 0, "bad_book"
    position = fmt.header_bits
    for count in range(fmt.group_size):
        code, first, index = 0, 0, 0
        for length in range(1, fmt.max_code_len + 1):
            bit = bits[position + length - 1] if position + length - 1 < len(bits) else None
            if bit is None:
                return values, count, "short_block"
            code = code << 1 | bit
            if code - first < counts[length - 1]:
                exponent = symbols[index + code - first]
                byte = int("".join(map(str, bits[8 * count:8 * count + 8])), 2)
                values[count] = ((byte & 0x80) << 8) | (exponent << 7) | (byte & 0x7F)
                position += length
                break
            index += counts[length - 1]
            first = (first + counts[length - 1]) << 1
        else:
            return values, count, "invalid_code"
    return values, fmt.group_size, None


def test_bf16_rounding_matches_integer_rounding_on_every_fp16_value():
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    assert (df.bf16_of(halves) == slow_bf16(halves.astype(np.float32))).all()


def test_bf16_rounding_ties_to_even_from_float32():
    rng = np.random.default_rng(0)
    singles = rng.integers(0, 1 << 32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    ties = (np.arange(0x3F80, 0x3F90, dtype=np.uint32) << 16 | 0x8000).view(np.float32)
    for x in (singles, ties):
        assert (df.bf16_of(x) == slow_bf16(x)).all()


def test_split_and_join_are_inverse_on_every_bf16_pattern():
    values = np.arange(1 << 16, dtype=np.uint16)
    raw_bytes, exponents = df.split(values)
    assert raw_bytes.max() < 256 and exponents.max() < 256
    assert (df.join(raw_bytes, exponents) == values).all()


@pytest.mark.parametrize("name", ["l0_wq", "l1_wv"])
def test_real_weights_round_trip_losslessly(name):
    values = df.bf16_of(df.real_weights()[name])
    encoded = df.encode(values, FMT)
    for group, bits in zip(values.reshape(-1, FMT.group_size), encoded.blocks):
        result = df.decode_block(bits, FMT, encoded.codebooks)
        assert result.error is None and (result.values == group).all()
        assert result.used_bits == len(bits)
    # Real weights use fewer than n_codes exponents: no block needs the raw fallback.
    assert (encoded.books < FMT.raw_book).all()


def test_every_bf16_pattern_round_trips_through_the_raw_fallback():
    values = np.random.default_rng(1).permutation(np.arange(1 << 16, dtype=np.uint16))
    encoded = df.encode(values, FMT)
    assert (encoded.books == FMT.raw_book).sum() > 0
    decoded = np.concatenate([df.decode_block(bits, FMT, encoded.codebooks).values
                              for bits in encoded.blocks])
    assert (decoded == values).all()
    assert (encoded.bits() <= 16 * FMT.group_size + FMT.book_bits).all()


def test_special_values_round_trip():
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 3e38, 1.0, -2.5])
    values = df.bf16_of(np.resize(specials, FMT.group_size * 2))
    encoded = df.encode(values, FMT)
    decoded = np.concatenate([df.decode_block(bits, FMT, encoded.codebooks).values
                              for bits in encoded.blocks])
    assert (decoded == values).all()


def test_learned_codebooks_keep_the_limits_and_are_deterministic():
    rng = np.random.default_rng(2)
    values = df.bf16_of(rng.laplace(size=SMALL.group_size * 64) * rng.choice([1e-3, 1], 1024))
    books = df.learn_codebooks(values, SMALL)
    assert books == df.learn_codebooks(values, SMALL)
    for number, book in enumerate(books.books):
        assert sum(book.counts) <= SMALL.n_codes and len(book.counts) == SMALL.max_code_len
        assert books.usable(SMALL, number)


def test_the_encoder_picks_the_shortest_book_raw_last_on_ties():
    fmt = df.DFloatFormat(group_size=4, n_books=2, n_codes=4)
    exponent_a, exponent_b = 120, 121
    # Book 0 codes exponent_a in 1 bit, book 1 codes exponent_b in 1 bit.
    book0 = Codebook.from_lengths([0] * 120 + [1, 2] + [0] * 134, fmt.max_code_len)
    book1 = Codebook.from_lengths([0] * 120 + [2, 1] + [0] * 134, fmt.max_code_len)
    books = df.Codebooks((book0, book1))
    def group(exponents):
        return df.join(np.zeros(4, np.int64), np.array(exponents))
    def chosen(exponents):
        bits = df.encode_block(group(exponents), fmt, books)
        return int("".join(map(str, bits[fmt.byte_bits:fmt.header_bits])), 2)
    assert chosen([exponent_a] * 4) == 0
    assert chosen([exponent_b] * 4) == 1
    assert chosen([exponent_a, exponent_a, exponent_b, exponent_b]) == 0  # tie: lowest
    assert chosen([exponent_a, 7, exponent_a, exponent_a]) == fmt.raw_book
    with pytest.raises(ValueError, match="codebook 0 has no code for some of the exponents"):
        df.encode_block(group([7] * 4), fmt, books, book=0)
    # A book beats raw on a tie: 8-bit codes cost what raw exponents do.
    eight = Codebook.from_lengths([0] * 120 + [8, 8] + [0] * 134, fmt.max_code_len)
    bits = df.encode_block(group([exponent_a] * 4), fmt, df.Codebooks((eight, eight)))
    assert int("".join(map(str, bits[fmt.byte_bits:fmt.header_bits])), 2) == 0


def _mutations(bits, rng, fmt):
    """Bit-flipped, truncated, extended and random-book variants of a block."""
    variants = [bits]
    for _ in range(6):
        flipped = bits.copy()
        flipped[rng.choice(len(bits), int(rng.integers(1, 4)), replace=False)] ^= 1
        variants.append(flipped)
    variants.append(bits[:int(rng.integers(0, len(bits)))])
    variants.append(bits[:fmt.header_bits + 3])
    variants.append(np.concatenate([bits, rng.integers(0, 2, 20).astype(np.uint8)]))
    for book in range(1 << fmt.book_bits):
        changed = bits.copy()
        changed[fmt.byte_bits:fmt.header_bits] = [(book >> (fmt.book_bits - 1 - k)) & 1
                                                  for k in range(fmt.book_bits)]
        variants.append(changed)
    return variants


@pytest.mark.parametrize("seed", range(4))
def test_reference_decoder_matches_the_bit_by_bit_decoder(seed):
    rng = np.random.default_rng(seed)
    values = df.bf16_of(rng.normal(size=SMALL.group_size * 16) * 0.05)
    encoded = df.encode(values, SMALL)
    # Make book 1 incomplete (drop its last longest code) so invalid codes exist.
    book = encoded.codebooks.books[1]
    longest = max(length for length, count in enumerate(book.counts) if count)
    counts = list(book.counts)
    counts[longest] -= 1
    books = df.Codebooks((encoded.codebooks.books[0], Codebook(tuple(counts), book.symbols)))
    verdicts = set()
    for bits in encoded.blocks:
        for variant in _mutations(bits, rng, SMALL):
            result = df.decode_block(variant, SMALL, books)
            values_slow, count, verdict = slow_decode(variant, SMALL, books)
            assert (result.values.tolist(), result.count, result.error) == \
                (values_slow, count, verdict)
            verdicts.add(verdict)
    assert verdicts == {None, "short_block", "bad_book", "invalid_code"}
    assert slow_decode(encoded.blocks[0], SMALL, df.Codebooks(books.books, valid=False))[2] == \
        df.decode_block(encoded.blocks[0], SMALL, df.Codebooks(books.books, valid=False)).error \
        == "bad_tables"


def test_words_carry_blocks_and_flag_long_and_short_ones():
    values = df.bf16_of(np.random.default_rng(5).normal(size=FMT.group_size) * 0.02)
    encoded = df.encode(values, FMT)
    bits = encoded.blocks[0]
    for width in (32, 128):
        words = df.block_words(bits, width)
        assert len(words) == -(-len(bits) // width)
        assert (df.words_bits(words, width)[:len(bits)] == bits).all()
        good = df.decode_words(words, width, FMT, encoded.codebooks)
        assert good.error is None and (good.values == values).all()
        assert df.decode_words(words + [0], width, FMT, encoded.codebooks).error == "long_block"
        short = df.decode_words(words[:-1], width, FMT, encoded.codebooks)
        assert short.error == "short_block" and short.count < FMT.group_size
        assert (short.values[:short.count] == values[:short.count]).all()
        assert (short.values[short.count:] == 0).all()


def test_format_parameters_are_checked():
    with pytest.raises(ParamError, match="max_code_len must be an integer between 8 and 16, not 7"):
        df.DFloatFormat(max_code_len=7)
    with pytest.raises(ValueError, match="must have a multiple of group_size"):
        df.encode(np.zeros(5, np.uint16), FMT)
    assert df.DFloatFormat(n_books=1).book_bits == 1
    assert df.DFloatFormat(n_books=3).book_bits == 2
    assert df.DFloatFormat(n_books=4).book_bits == 3
