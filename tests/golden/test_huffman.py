"""The Huffman vectors cover what the issue asks of them: every book, raw, the worst cases,
real K/V data and every error verdict, and they are reproducible."""
import numpy as np
import pytest

from hwgen.golden import kvformat as kv
from hwgen.config import load
from hwgen.cores.huffman import HuffmanParams
from hwgen.golden import huffman as golden
from tests.conftest import DESIGNS

SHIPPED = [path for path in DESIGNS if path.stem.startswith("huffman_")]


def blocks_and_results(params, events):
    blocks = [event for event in events if isinstance(event, golden.Block)]
    return blocks, golden.decode_events(params, events)


def book_of(params, block):
    return kv.bits_to_int(kv.bits_of_words(block.words, params.in_bits)[:params.book_bits])


def test_the_real_data_slice_is_small_and_real():
    data = golden.real_kv()
    assert sorted(data) == ["l0_k", "l0_v", "l1_k", "l1_v"]
    assert all(array.shape == (16, 384) for array in data.values())
    assert golden.REAL_KV.stat().st_size < 64 * 1024


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_shipped_vectors_cover_books_worst_cases_and_real_data(path):
    params = load(path).params
    events = golden.directed(params)
    blocks, results = blocks_and_results(params, events)
    good = [block for block, result in zip(blocks, results) if not result.err]
    assert {book_of(params, block) for block in good} == set(range(params.n_books + 1))
    # The first blocks are real K and V groups; they decode without error.
    assert all(result.err == 0 and result.count == params.group_size for result in results[:6])
    # Blocks of only the shortest and only the longest fitting code of each book.
    tables = params.table_set()
    for book in range(params.n_books):
        lengths = tables.book(params, book).encoding(params.symbols)[1]
        fitting = [length for length in lengths[lengths > 0]
                   if length * params.group_size <= params.block_bits - params.header_bits]
        for length in (min(fitting), max(fitting)):
            assert any(book_of(params, block) == book and result.err == 0
                       and (lengths[result.indices] == length).all()
                       for block, result in zip(blocks, results))


def test_the_learned_tables_of_the_shipped_designs_fit_the_real_data():
    params = load(SHIPPED[0]).params
    data = golden.real_kv()
    x = np.concatenate([data[name].ravel() for name in sorted(data)])
    encoded = kv.encode(x, params.format_of(), params.table_set())
    # Every book is the best one for some real group, and no group needs raw.
    assert sorted(set(encoded.books.tolist())) == list(range(params.n_books))


@pytest.mark.parametrize("kwargs,verdicts", [
    (dict(group_size=32, block_bits=128, in_bits=32, max_code_len=6, tables="runtime"),
     {None, "short_block", "long_block", "bad_tables", "bad_book", "invalid_code",
      "past_end"}),
    (dict(group_size=32, block_bits=128, in_bits=8, n_patterns=3, n_books=2),
     {None, "short_block", "long_block", "bad_book", "bad_pattern", "past_end"}),
])
def test_directed_vectors_reach_every_verdict(kwargs, verdicts):
    params = HuffmanParams(**kwargs)
    _, results = blocks_and_results(params, golden.directed(params))
    assert {result.error for result in results} == verdicts
    assert all((result.values[result.count:] == 0).all() for result in results)


def test_vectors_are_reproducible_and_one_block_of_beats_per_block():
    params = HuffmanParams(group_size=16, block_bits=128, in_bits=32, max_code_len=6,
                           tables="runtime")
    first, second = golden.vectors(params, 20, 5), golden.vectors(params, 20, 5)
    assert first == second
    lasts = sum(beat["last"] for beat in first["inputs"]["i"])
    assert len(first["outputs"]["o"]) == lasts * params.words_per_block
    assert sum(beat["last"] for beat in first["inputs"]["cfg"]) >= 7
    assert golden.vectors(params, 20, 6) != first
