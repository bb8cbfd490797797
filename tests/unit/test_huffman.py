# amaranth: UnusedElaboratable=no
"""Huffman KV decoders in the Amaranth simulator: bit-exact against the reference decoder."""
import numpy as np
import pytest

from hwgen.golden import kvformat as kv
from hwgen.config import ConfigError, from_mapping
from hwgen.cores.huffman import HuffmanKVDecoder, HuffmanParams, HuffmanSerialDecoder
from hwgen.cores.huffman.params import HuffmanPipelineParams as Pipeline
from hwgen.flow.pysim import run_vectors
from hwgen.golden import huffman as golden

DECODERS = [HuffmanKVDecoder, HuffmanSerialDecoder]

CONFIGS = {
    # Header inside the first word; several words per block.
    "w32": dict(group_size=32, block_bits=128, in_bits=32, max_code_len=6),
    # Header across two 8-bit words; 3 patterns (so a header can name a missing one).
    "w8": dict(group_size=32, block_bits=128, in_bits=8, max_code_len=8, n_patterns=3,
               n_books=2),
    # A whole block per cycle.
    "w128": dict(group_size=32, block_bits=128, in_bits=128, max_code_len=8),
    # Words that are no multiple of the 8-bit segments; one pattern; 2-bit indices.
    "w24": dict(group_size=48, block_bits=192, in_bits=24, sym_bits=2, max_code_len=5,
                n_patterns=1, n_books=5, scale_bits=3, centroid_bits=5),
    # Incomplete codebooks: some codewords match no code.
    "incomplete": dict(group_size=12, block_bits=64, in_bits=16, max_code_len=5, n_books=2,
                       codebooks=[[2, 2, 3, 3, 4, 0, 0, 5], [3, 3, 3, 3, 3, 3, 4, 0]]),
    # The smallest format: 1-bit indices, 1-bit codes, one book, one pattern.
    "tiny": dict(group_size=4, block_bits=16, in_bits=8, sym_bits=1, max_code_len=1,
                 scale_bits=2, n_books=1, n_patterns=1),
    # Tables loaded at run time.
    "runtime": dict(group_size=32, block_bits=128, in_bits=32, max_code_len=6,
                    tables="runtime"),
    # Every pipeline register, runtime tables (the tables travel with the words).
    "pipelined": dict(group_size=32, block_bits=128, in_bits=32, max_code_len=6,
                      tables="runtime", segment_bits=4, pipeline=Pipeline(compare=True, lookup=True, resolve=1,
                                                          compact_every=1, step=True,
                                                          assemble=True)),
    # Registers every other level; a block per word; 16-bit segments; the header ends in a
    # segment's middle.
    "pipelined_w64": dict(group_size=16, block_bits=64, in_bits=64, max_code_len=7,
                          scale_bits=7, segment_bits=16, pipeline=Pipeline(resolve=2, compact_every=3)),
}

PIPELINES = [Pipeline(), Pipeline(lookup=True), Pipeline(compare=True), Pipeline(resolve=1), Pipeline(resolve=3),
             Pipeline(compact_every=1), Pipeline(compact_every=2, assemble=True),
             Pipeline(lookup=True, resolve=2, compact_every=2, assemble=True),
             Pipeline(step=True), Pipeline(compact_every=1, step=True, assemble=True)]


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
def test_matches_reference_under_backpressure(decoder, name):
    params = HuffmanParams(**CONFIGS[name])
    vectors = golden.vectors(params, 12, seed=2)
    run_vectors(decoder(params), vectors, valid_prob=0.6, ready_prob=0.5, seed=9)


@pytest.mark.parametrize("name", ["w8", "runtime", "pipelined"])
def test_parallel_decoder_at_full_rate(name):
    params = HuffmanParams(**CONFIGS[name])
    run_vectors(HuffmanKVDecoder(params), golden.vectors(params, 12, seed=4))


def worst_case_blocks(params):
    """For every book: blocks of only its shortest and only its longest codes, and raw."""
    tables = params.table_set()
    rng = np.random.default_rng(1)
    blocks = []
    for book in range(params.n_books + 1):
        lengths = tables.book(params, book).encoding(params.symbols)[1]
        for length in (lengths[lengths > 0].min(), lengths.max()):
            symbol = int(np.flatnonzero(lengths == length)[0])
            bits = golden.coded_bits(params, tables, book, 0, 3, [symbol] * params.group_size)
            assert len(bits) <= params.block_bits  # the worst case is a valid block
            blocks.append(golden.block_words(params, bits))
    rng.shuffle(blocks)
    return blocks


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("name", ["w8", "w32", "w128", "pipelined"])
def test_one_word_per_cycle_for_all_shortest_and_all_longest_codes(decoder, name):
    """The declared throughput holds for the worst blocks: no stall ever."""
    params = HuffmanParams(**dict(CONFIGS[name], max_code_len=6, group_size=16,
                                  tables="static"))
    blocks = worst_case_blocks(params)
    assert all(golden.decode_events(params, blocks)[k].err == 0 for k in range(len(blocks)))
    dut = decoder(params)
    stats = run_vectors(dut, golden.to_vectors(params, blocks))
    words = stats["accepted"]["i"]
    cycles = dut.performance["cycles_per_beat"]
    elapsed = stats["last_emit"]["o"] - stats["first_accept"]["i"]
    assert elapsed == ((words - 1) * cycles + dut.performance["latency_cycles"]
                       + params.words_per_block - 1)


@pytest.mark.parametrize("pipeline", PIPELINES, ids=str)
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
def test_declared_latency_is_the_measured_one(decoder, pipeline):
    params = HuffmanParams(**CONFIGS["w32"], pipeline=pipeline)
    dut = decoder(params)
    block = golden.directed(params)[0]
    stats = run_vectors(dut, golden.to_vectors(params, [block]))
    last_word = stats["first_accept"]["i"] + (params.words_per_block - 1) * (
        dut.performance["cycles_per_beat"])
    first_beat = stats["last_emit"]["o"] - (params.words_per_block - 1)
    assert first_beat - last_word == dut.performance["latency_cycles"]


@pytest.mark.parametrize("pipeline", [Pipeline(), Pipeline(step=True),
                                      Pipeline(compact_every=1, step=True, assemble=True)],
                         ids=str)
def test_every_error_gives_exactly_one_block_of_beats_and_decoding_resumes(pipeline):
    """Malformed blocks are flagged and the next block decodes, also when the block state
    (count so far, dead) runs a register ahead of the step that leaves the core."""
    params = HuffmanParams(**CONFIGS["w8"], pipeline=pipeline)
    tables = params.table_set()
    good = golden.block_words(params, kv.encode_group(np.arange(16) % 8, 1, 200, params,
                                                     tables))
    bad_pattern = golden.block_words(params, np.concatenate([
        kv.int_to_bits(0, params.book_bits), kv.int_to_bits(3, params.pattern_bits),
        kv.bits_of_words(good.words, 8)[params.book_bits + params.pattern_bits:]]))
    events = [good, golden.Block(good.words[:5]), good, golden.Block(good.words + [7, 7]),
              good, bad_pattern, good, golden.Block([255] * 16), good]
    results = golden.decode_events(params, events)
    assert [result.error for result in results] == [
        None, "short_block", None, "long_block", None, "bad_pattern", None, "invalid_code"
        if not tables.codebooks[1].is_valid(8) else results[7].error, None]
    vectors = golden.to_vectors(params, events)
    assert len(vectors["outputs"]["o"]) == len(events) * params.words_per_block
    # The serial decoder has no pipeline registers: one run of it is enough.
    for decoder in DECODERS if pipeline == Pipeline() else [HuffmanKVDecoder]:
        run_vectors(decoder(params), vectors, valid_prob=0.7, ready_prob=0.7, seed=1)


def test_runtime_tables_switch_at_block_boundaries_while_loading():
    """A table set loads during a block and is taken by the next block; a bad set flags the
    blocks that use it and the next good set recovers."""
    params = HuffmanParams(**CONFIGS["runtime"])
    fmt = params.format_of()
    rng = np.random.default_rng(8)
    learned, step = kv.learn_tables(rng.laplace(size=(8, params.group_size)), fmt)
    x = rng.laplace(size=(2, params.group_size))
    blocks_new = [golden.Block(kv.words_of(bits, 32)) for bits in kv.encode(x, fmt, learned,
                                                                           step=step).blocks]
    blocks_old = [golden.Block(kv.words_of(bits, 32))
                  for bits in kv.encode(x, fmt, params.table_set(), step=step).blocks]
    words = kv.table_words(fmt, learned)
    events = (blocks_old + [golden.TableLoad(words)] + blocks_new
              + [golden.TableLoad(words[:-1])] + blocks_new
              + [golden.TableLoad(words)] + blocks_new)
    results = golden.decode_events(params, events)
    assert [result.error for result in results] == [None] * 4 + ["bad_tables"] * 2 + [None] * 2
    vectors = golden.to_vectors(params, events)
    assert vectors["order"]["i"] == [[8, "cfg", len(words)], [16, "cfg", 2 * len(words) - 1],
                                     [24, "cfg", 3 * len(words) - 1]]
    for decoder in DECODERS:
        stats = run_vectors(decoder(params), vectors, valid_prob=0.8, ready_prob=0.8, seed=3)
        assert stats["accepted"]["cfg"] == 3 * len(words) - 1


def test_table_file(tmp_path):
    path = tmp_path / "tables.npz"
    fmt = kv.BlockFormat(**{key: CONFIGS["w32"][key] for key in ("group_size", "block_bits",
                                                               "max_code_len")})
    tables = kv.default_tables(fmt)
    np.savez(path, codebooks=tables.lengths(fmt)[::-1], patterns=-tables.patterns)
    params = HuffmanParams(**CONFIGS["w32"], table_file=str(path))
    assert params.codebooks == tuple(map(tuple, tables.lengths(fmt)[::-1].tolist()))
    assert params.patterns == tuple(map(tuple, (-tables.patterns).tolist()))
    run_vectors(HuffmanKVDecoder(params), golden.vectors(params, 4, seed=1))


def test_defaults_and_figures():
    params = HuffmanParams()
    assert (params.lanes, params.words_per_block, params.value_bits) == (8, 16, 16)
    assert len(params.codebooks) == 4 and len(params.patterns[0]) == 8
    figures = HuffmanKVDecoder(params).performance
    assert figures["compressed_bits_per_cycle"] == 32 and figures["values_per_cycle"] == 8
    serial = HuffmanSerialDecoder(params).performance
    assert serial["compressed_bits_per_cycle"] == 1 and serial["latency_cycles"] == 33
    with pytest.raises(TypeError, match=r"^Params must be a HuffmanParams, not \{\}$"):
        HuffmanKVDecoder({})


BAD_NPZ = "hwgen/golden/data/huffman_kv_minilm.npz"


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(in_bits=4), ValueError, r"^in_bits must be an integer between 8 and 512, not 4$"),
    (dict(in_bits=24), ValueError, r"^in_bits must divide block_bits \(512\), not 24$"),
    (dict(group_size=96, block_bits=480, in_bits=8), ValueError,
     r"^in_bits must make group_size·in_bits a multiple of block_bits \(480\) so that every "
     r"output beat has the same number of values, not 8$"),
    (dict(in_bits=8, max_code_len=10), ValueError,
     r"^max_code_len must be at most in_bits \+ 1 \(9\), not 10$"),
    (dict(tables="dynamic"), ValueError,
     r"^tables must be one of 'static', 'runtime', not 'dynamic'$"),
    (dict(codebooks=5), TypeError, r"^codebooks must be a list of lists of integers, not 5$"),
    (dict(patterns=[[1.5]]), TypeError,
     r"^patterns must be a list of lists of integers, not \[\[1.5\]\]$"),
    (dict(codebooks=[[3] * 8] * 3), ValueError,
     r"^codebooks must be 4 lists \(n_books\) of 8 code lengths \(2\*\*sym_bits\), not 3 lists "
     r"of lengths \[8\]$"),
    (dict(codebooks=[[3] * 8] * 3 + [[3] * 7 + [9]]), ValueError,
     r"^codebooks must have code lengths between 0 and max_code_len \(8\), not "
     r"\[3, 3, 3, 3, 3, 3, 3, 9\] \(book 3\)$"),
    (dict(codebooks=[[3] * 8] * 3 + [[2] * 8]), ValueError,
     r"^codebooks must be prefix codes \(Kraft sum at most 1\), not book 3 with Kraft sum 2$"),
    (dict(patterns=[[0] * 8] * 4 + [[0] * 8]), ValueError,
     r"^patterns must be 4 lists \(n_patterns\) of 8 centroids \(2\*\*sym_bits\), not 5 lists "
     r"of lengths \[8\]$"),
    (dict(patterns=[[0] * 8] * 3 + [[0] * 7 + [128]]), ValueError,
     r"^patterns must have centroids between -128 and 127 \(centroid_bits\), not "
     r"\[0, 0, 0, 0, 0, 0, 0, 128\]$"),
    (dict(table_file=3), TypeError, r"^table_file must be the path of an existing \.npz file, "
                                    r"not 3$"),
    (dict(table_file="missing.npz"), ValueError,
     r"^table_file must be the path of an existing \.npz file, not 'missing.npz'$"),
    (dict(table_file=BAD_NPZ), ValueError,
     r"^table_file must be an \.npz file with integer arrays 'codebooks' and 'patterns', "
     r"not 'hwgen/golden/data/huffman_kv_minilm.npz'$"),
    (dict(table_file=BAD_NPZ, codebooks=[[3] * 8] * 4), ValueError,
     r"^table_file must not be given together with codebooks or patterns, not "
     r"'hwgen/golden/data/huffman_kv_minilm.npz'$"),
    (dict(sym_bits=4), ValueError, r"^block_bits must hold the header and group_size raw "
                                   r"indices \(at least 525\), not 512$"),
    (dict(n_books=0), ValueError, r"^n_books must be an integer between 1 and 15, not 0$"),
])
def test_parameter_rules(kwargs, error, message, root, monkeypatch):
    monkeypatch.chdir(root)
    with pytest.raises(error, match=message):
        HuffmanParams(**kwargs)
    yaml_message = "params." + message[1:].replace(" must", ": must", 1)
    for kind in ("huffman_kv_decoder", "huffman_serial_decoder"):
        with pytest.raises(ConfigError, match=yaml_message.replace("^", "")):
            from_mapping({"name": "x", "kind": kind, "params": kwargs})


@pytest.mark.slow
@pytest.mark.parametrize("tables", ["static", "runtime"])
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
def test_default_format_at_64_bits_per_word(decoder, tables):
    """The default format (128 values in 512-bit blocks) with many random blocks."""
    params = HuffmanParams(in_bits=64, tables=tables)
    run_vectors(decoder(params), golden.vectors(params, 60, seed=12), valid_prob=0.8,
                ready_prob=0.7, seed=5, stall_limit=5000)
