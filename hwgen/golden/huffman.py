"""Golden model of the Huffman KV decoders: stream vectors from :mod:`hwgen.golden.kvformat`.

A decoder's behaviour is a sequence of *events*: a block (its words, ``last`` on the final
one, so a block may be cut short or run long) or, for runtime tables, a table set (its load
words on ``cfg``). Each block is decoded by :func:`hwgen.golden.kvformat.decode_words` with the
table set in force when it starts, giving ``block_bits/in_bits`` output beats of ``lanes``
values.

Which set is in force is made exact by ordering gates in the vectors (see
:mod:`hwgen.flow.traffic`): a set starts loading only after the last block before it has
started, and the first block after it waits until the set's final beat was accepted.
"""
import dataclasses
import pathlib

import numpy as np

from hwgen.golden import kvformat as kv

__all__ = ["REAL_KV", "real_kv", "Block", "TableLoad", "block_words", "coded_bits",
           "expected_beats", "directed", "random_events", "decode_events", "to_vectors",
           "vectors"]

#: K and V vectors of two layers of all-MiniLM-L6-v2 (16 tokens × 384, float16).
REAL_KV = pathlib.Path(__file__).resolve().parent / "data" / "huffman_kv_minilm.npz"


def real_kv():
    """The real K/V tensors, ``{name: float32 array (tokens, 384)}``."""
    with np.load(REAL_KV) as archive:
        return {name: archive[name].astype(np.float32) for name in archive.files}


@dataclasses.dataclass
class Block:
    """A block as sent: its words (``last`` on the final one)."""
    words: list


@dataclasses.dataclass
class TableLoad:
    """A table set as sent on ``cfg``: its load words (``last`` on the final one)."""
    words: list


def coded_bits(p, tables, book, pattern, scale, indices):
    """Header and codewords of a group with the given book (no fit check, no padding)."""
    codes, lengths = tables.book(p, book).encoding(p.symbols)
    parts = [kv.int_to_bits(book, p.book_bits), kv.int_to_bits(pattern, p.pattern_bits),
             kv.int_to_bits(scale, p.scale_bits)]
    parts += [kv.int_to_bits(codes[index], lengths[index]) for index in indices]
    return np.concatenate(parts)


def block_words(p, bits):
    """A :class:`Block` of exactly ``block_bits`` bits: ``bits`` cut or zero-padded."""
    bits = np.concatenate([bits, np.zeros(max(0, p.block_bits - len(bits)), np.uint8)])
    return Block(kv.words_of(bits[:p.block_bits], p.in_bits))


def expected_beats(p, result):
    """The output beats of a decoded block."""
    beats = []
    for beat in range(p.words_per_block):
        lanes = slice(beat * p.lanes, (beat + 1) * p.lanes)
        beats.append({"v": result.values[lanes].tolist(), "idx": result.indices[lanes].tolist(),
                      "first": int(beat == 0), "last": int(beat == p.words_per_block - 1),
                      "err": result.err})
    return beats


def _room(p):
    return p.block_bits - p.header_bits


def _lengths_to_fill(allowed, count, target):
    """``count`` lengths from ``allowed`` whose sum is as large as possible but ≤ ``target``
    (exactly ``target`` if any such choice exists), by dynamic programming over sums."""
    allowed = sorted(set(int(length) for length in allowed))
    reachable = {0: []}
    for _ in range(count):
        following = {}
        for total, chosen in reachable.items():
            for length in allowed:
                if total + length <= target and total + length not in following:
                    following[total + length] = chosen + [length]
        reachable = following
        if not reachable:
            return None
    return reachable[max(reachable)]


def _indices_with_lengths(lengths_by_symbol, wanted, rng):
    """Indices whose code lengths are ``wanted`` (a random symbol of each length), shuffled."""
    chosen = [rng.choice(np.flatnonzero(lengths_by_symbol == length)) for length in wanted]
    return rng.permutation(np.array(chosen, dtype=np.int64))


def _book_blocks(p, tables, book, rng):
    """Blocks of one book: a typical mix, all shortest, all longest that fits, payloads
    filling the block exactly or one bit too far (past the end), and for an incomplete book a
    codeword that matches no code."""
    lengths = tables.book(p, book).encoding(p.symbols)[1]
    present = lengths[lengths > 0]
    if not len(present):
        return []
    pattern = int(rng.integers(p.n_patterns))
    scale = int(rng.integers(1 << p.scale_bits))
    blocks = []
    weights = np.where(lengths > 0, 2.0 ** -lengths.astype(float), 0)
    typical = rng.choice(p.symbols, p.group_size, p=weights / weights.sum())
    fitting = [length for length in present if length * p.group_size <= _room(p)]
    groups = [typical]
    if fitting:
        groups.append(_indices_with_lengths(lengths, [min(fitting)] * p.group_size, rng))
        groups.append(_indices_with_lengths(lengths, [max(fitting)] * p.group_size, rng))
    filled = _lengths_to_fill(present, p.group_size, _room(p))
    if filled is not None:
        groups.append(_indices_with_lengths(lengths, filled, rng))
    for indices in groups:
        bits = coded_bits(p, tables, book, pattern, scale, indices)
        blocks.append(block_words(p, bits))
    book_code = tables.book(p, book)
    unused = book_code.canonical()[2][-1]
    if unused < 1 << p.max_code_len:
        # An incomplete book: the first bit string of max_code_len bits that no code starts.
        bits = coded_bits(p, tables, book, pattern, scale, typical[:p.group_size // 2])
        blocks.append(block_words(p, np.concatenate([bits, kv.int_to_bits(unused,
                                                                          p.max_code_len)])))
    if filled is not None and sum(filled) == _room(p) and max(present) > min(present):
        # One codeword one length longer: the payload runs one bit or more past the end.
        longer = list(filled)
        spot = next(i for i, length in enumerate(longer) if length < max(present))
        longer[spot] = min(length for length in present if length > longer[spot])
        bits = coded_bits(p, tables, book, pattern, scale,
                          _indices_with_lengths(lengths, longer, rng))
        blocks.append(block_words(p, bits))
    return blocks


def _encoded_blocks(p, tables, x, *, book=None):
    """Blocks of float tensor ``x`` encoded with ``tables`` (the encoder picks the book)."""
    fmt = p.format_of()
    groups = np.asarray(x, dtype=np.float64).reshape(-1, p.group_size)
    step = float(np.abs(groups).max() / ((1 << p.scale_bits) - 1)) or 1.0
    indices, pattern_ids, scales = kv.quantize(groups, fmt, tables.patterns, step)
    return [Block(kv.words_of(kv.encode_group(row, pattern, scale, fmt, tables, book=book),
                              p.in_bits))
            for row, pattern, scale in zip(indices, pattern_ids, scales)]


def _real_groups(p, count):
    """``count`` groups of real K and V values, alternating K and V of both layers."""
    data = real_kv()
    sources = [data[name].ravel() for name in sorted(data)]
    groups = []
    for number in range(count):
        source = sources[number % len(sources)]
        start = (number // len(sources)) * p.group_size
        groups.append(np.resize(source[start % len(source):], p.group_size))
    return np.stack(groups)


def _header_bits(p, book, pattern, scale):
    return np.concatenate([kv.int_to_bits(book, p.book_bits),
                           kv.int_to_bits(pattern, p.pattern_bits),
                           kv.int_to_bits(scale, p.scale_bits)])


def _faulty_blocks(p, tables, good, rng):
    """Directed bad blocks: bad headers, a short and a long block, a block of zeros."""
    blocks = []
    bits = kv.bits_of_words(good.words, p.in_bits)
    for book in range(p.raw_book + 1, 1 << p.book_bits):
        blocks.append(block_words(p, np.concatenate([_header_bits(p, book, 0, 1),
                                                     bits[p.header_bits:]])))
    for pattern in range(p.n_patterns, 1 << p.pattern_bits):
        blocks.append(block_words(p, np.concatenate([bits[:p.book_bits],
                                                     kv.int_to_bits(pattern, p.pattern_bits),
                                                     bits[p.book_bits + p.pattern_bits:]])))
    if p.words_per_block > 1:
        blocks.append(Block(good.words[:-1]))
        blocks.append(Block(good.words[:1]))
    blocks.append(Block(good.words + [int(rng.integers(1 << 62)) & ((1 << p.in_bits) - 1)]))
    blocks.append(Block([0] * p.words_per_block))
    return blocks


def _fuzzed(p, block, rng):
    """``block`` with random bit flips, cut short, run long or with a random header."""
    bits = kv.bits_of_words(block.words, p.in_bits)
    kind = rng.integers(4)
    if kind == 0:
        flips = rng.choice(len(bits), int(rng.integers(1, 4)), replace=False)
        bits = bits.copy()
        bits[flips] ^= 1
        return Block(kv.words_of(bits, p.in_bits))
    if kind == 1 and p.words_per_block > 1:
        return Block(block.words[:int(rng.integers(1, p.words_per_block))])
    if kind == 2:
        extra = int(rng.integers(1, 3))
        return Block(block.words + [0] * extra)
    header = rng.integers(0, 2, p.header_bits).astype(np.uint8)
    return block_words(p, np.concatenate([header, bits[p.header_bits:]]))


def _random_tensor(p, rng, groups):
    """Random groups: Gaussian, Laplace, skewed (exponential) or sparse, per group."""
    shape = (groups, p.group_size)
    kind = rng.integers(4)
    if kind == 0:
        return rng.normal(size=shape)
    if kind == 1:
        return rng.laplace(size=shape)
    if kind == 2:
        return rng.exponential(size=shape)
    return rng.normal(size=shape) * (rng.random(shape) < 0.1)


def _table_variants(p, rng):
    """Table sets a runtime decoder is loaded with: learned from other data, one with an
    incomplete book, one with a book that is not a prefix code, and malformed loads."""
    fmt = p.format_of()
    learned, _ = kv.learn_tables(_random_tensor(p, rng, 16), fmt, seed=int(rng.integers(99)))
    words = kv.table_words(fmt, learned)
    incomplete = list(learned.codebooks)
    book = incomplete[0]
    # Drop the last code of the longest length: the code no longer covers every bit string.
    longest = max(length for length, count in enumerate(book.counts) if count)
    counts = list(book.counts)
    counts[longest] -= 1
    incomplete[0] = kv.Codebook(tuple(counts), book.symbols[:sum(counts)])
    incomplete_set = kv.Tables(tuple(incomplete), learned.patterns)
    overfull = list(learned.codebooks)
    counts = list(overfull[-1].counts)
    counts[0] += 2
    overfull[-1] = kv.Codebook(tuple(counts), overfull[-1].symbols)
    overfull_set = kv.Tables(tuple(overfull), learned.patterns)
    return [
        ("learned", TableLoad(words), learned),
        ("incomplete", TableLoad(kv.table_words(fmt, incomplete_set)), incomplete_set),
        ("not prefix", TableLoad(kv.table_words(fmt, overfull_set)), overfull_set),
        ("short load", TableLoad(words[:-3]), None),
        ("long load", TableLoad(words + words[:2]), None),
    ]


def _blocks_for(p, tables, rng, count):
    """Blocks exercising ``tables``: encoded random data and each book's edge cases."""
    blocks = _encoded_blocks(p, tables, _random_tensor(p, rng, count))
    for book in range(p.n_books):
        if tables.codebooks[book].is_valid(p.symbols):
            blocks += _book_blocks(p, tables, book, rng)
        else:
            # The header names the bad book; the payload is raw-coded indices.
            bits = coded_bits(p, tables, p.raw_book, 0, 1,
                              rng.integers(p.symbols, size=p.group_size))
            bits[:p.book_bits] = kv.int_to_bits(book, p.book_bits)
            blocks.append(block_words(p, bits))
    return blocks


def directed(p):
    """Edge cases: real K/V groups, every book's typical, shortest, longest, exactly full
    and overfull blocks, raw blocks, every pattern, extreme scales, bad headers, short and
    long blocks; for runtime tables also every kind of table load, good and bad."""
    rng = np.random.default_rng(20250)
    tables = p.table_set()
    events = _encoded_blocks(p, tables, _real_groups(p, 6))
    for book in range(p.n_books):
        events += _book_blocks(p, tables, book, rng)
    for pattern in range(p.n_patterns):
        for indices, scale in ((np.arange(p.group_size) % p.symbols, (1 << p.scale_bits) - 1),
                               (np.full(p.group_size, p.symbols - 1), 0),
                               (rng.integers(p.symbols, size=p.group_size), 1)):
            events.append(block_words(p, coded_bits(p, tables, p.raw_book, pattern, scale,
                                                    indices)))
    events += _faulty_blocks(p, tables, events[0], rng)
    if p.runtime:
        for _, load, loaded in _table_variants(p, rng):
            events.append(load)
            events += _blocks_for(p, loaded, rng, 1) if loaded is not None else events[:2]
        events.append(TableLoad(kv.table_words(p.format_of(), tables)))
        events += events[:2]
    return events


def random_events(p, count, rng):
    """``count`` random blocks: encoded random tensors, fuzzed and random-bit blocks; runtime
    decoders also get a table load every so often."""
    tables = p.table_set()
    events = []
    pool = _encoded_blocks(p, tables, _random_tensor(p, rng, max(4, count // 4)))
    for number in range(count):
        kind = rng.integers(10)
        if p.runtime and number and number % 12 == 0:
            fmt = p.format_of()
            tables, _ = kv.learn_tables(_random_tensor(p, rng, 8), fmt,
                                        seed=int(rng.integers(99)))
            events.append(TableLoad(kv.table_words(fmt, tables)))
            pool = _encoded_blocks(p, tables, _random_tensor(p, rng, 4))
        if kind < 5:
            events.append(pool[int(rng.integers(len(pool)))])
        elif kind < 9:
            events.append(_fuzzed(p, pool[int(rng.integers(len(pool)))], rng))
        else:
            events.append(block_words(p, rng.integers(0, 2, p.block_bits).astype(np.uint8)))
    return events


def decode_events(p, events):
    """The reference result of every block of ``events``, each with the tables in force."""
    fmt = p.format_of()
    tables = p.table_set()
    results = []
    for event in events:
        if isinstance(event, TableLoad):
            tables = kv.tables_from_words(fmt, event.words)
        else:
            results.append(kv.decode_words(event.words, p.in_bits, fmt, tables))
    return results


def to_vectors(p, events):
    """Stream vectors (see :mod:`hwgen.golden`) for ``events``, with the ordering gates that
    fix which table set each block uses."""
    words, loads = [], []
    order = {"i": [], "cfg": []}
    last_block_start = None
    loaded_before = None
    for event in events:
        if isinstance(event, TableLoad):
            if not p.runtime:
                raise ValueError("table loads need tables: runtime")
            if last_block_start is not None:
                order["cfg"].append([len(loads), "i", last_block_start + 1])
            loads += [{"data": word, "last": int(number == len(event.words) - 1)}
                      for number, word in enumerate(event.words)]
            loaded_before = len(loads)
            continue
        if loaded_before is not None:
            order["i"].append([len(words), "cfg", loaded_before])
            loaded_before = None
        last_block_start = len(words)
        words += [{"data": int(word), "last": int(number == len(event.words) - 1)}
                  for number, word in enumerate(event.words)]
    outputs = [beat for result in decode_events(p, events) for beat in expected_beats(p, result)]
    inputs = {"i": words}
    vectors = {"inputs": inputs, "outputs": {"o": outputs}}
    if p.runtime:
        inputs["cfg"] = loads
        vectors["order"] = order
    return vectors


def vectors(p, count, seed):
    """Directed edge cases followed by ``count`` random blocks."""
    rng = np.random.default_rng(seed)
    return to_vectors(p, directed(p) + random_events(p, count, rng))
