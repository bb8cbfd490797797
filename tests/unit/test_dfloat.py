# amaranth: UnusedElaboratable=no
"""The DFloat11-style decoder in the Amaranth simulator: bit-exact against the reference."""
import numpy as np
import pytest

from hwgen.config import ConfigError, from_mapping
from hwgen.cores.dfloat import DFloatDecoder, DFloatParams, DFloatSerialDecoder
from hwgen.cores.huffman.params import HuffmanPipelineParams as Pipeline
from hwgen.flow.pysim import run_vectors
from hwgen.golden import dfloat as df

# An incomplete book: exponents 120, 121 and 119 in 1, 2 and 3 bits (code 111 is unused).
INCOMPLETE = [[0] * 119 + [3, 1, 2] + [0] * 134]

DECODERS = [DFloatDecoder, DFloatSerialDecoder]

CONFIGS = {
    # Several byte words, code words that a codeword may cross, 4 beats per block.
    "w32": dict(group_size=16, in_bits=32, lanes=4),
    # 16-bit words (shorter than two 8-bit codes' windows), one beat per block.
    "w16": dict(group_size=16, in_bits=16, lanes=16),
    # Two books and a book field (2 bits) that can name no book (3).
    "books2": dict(group_size=32, in_bits=64, lanes=8, n_books=2, n_codes=16),
    # 16-bit codes, one byte word, 2 values per beat.
    "long_codes": dict(group_size=8, in_bits=64, lanes=2, max_code_len=16),
    # Every pipeline register.
    "pipelined": dict(group_size=16, in_bits=32, lanes=4,
                      pipeline=dict(compare=True, lookup=True, resolve=2, compact_every=2,
                                    assemble=True)),
    # An incomplete book: windows that start no code.
    "incomplete": dict(group_size=16, in_bits=32, lanes=8, codebooks=INCOMPLETE),
}


def verdicts(params, blocks):
    return [df.decode_words(block, params.in_bits, params.format_of(),
                            params.codebook_set()).error for block in blocks]


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
def test_matches_reference_under_backpressure(decoder, name):
    params = DFloatParams.from_mapping(CONFIGS[name])
    run_vectors(decoder(params), df.vectors(params, 16, seed=2), valid_prob=0.6,
                ready_prob=0.5, seed=9, stall_limit=400)


def test_vectors_reach_every_verdict():
    seen = set()
    for name in ("books2", "incomplete"):
        params = DFloatParams(**CONFIGS[name])
        seen |= set(verdicts(params, df.directed(params)
                             + df.random_blocks(params, 40, np.random.default_rng(2))))
    assert seen == {None, "short_block", "long_block", "bad_book", "invalid_code"}


@pytest.mark.parametrize("name", ["w32", "books2", "pipelined"])
def test_one_word_per_cycle_at_full_rate(name):
    """With the output always ready and fewer beats than words per block, no input stall."""
    params = DFloatParams.from_mapping(CONFIGS[name])
    blocks = df.directed(params)[:8]
    stats = run_vectors(DFloatDecoder(params), df.to_vectors(params, blocks))
    words = stats["accepted"]["i"]
    assert stats["last_accept"]["i"] - stats["first_accept"]["i"] == words - 1


@pytest.mark.parametrize("name", ["w32", "pipelined"])
def test_declared_latency_is_the_measured_one(name):
    params = DFloatParams.from_mapping(CONFIGS[name])
    block = df.directed(params)[0]
    dut = DFloatDecoder(params)
    stats = run_vectors(dut, df.to_vectors(params, [block]))
    assert stats["first_emit"]["o"] - stats["last_accept"]["i"] == \
        dut.performance["latency_cycles"]
    # Pipelined: compare 1, lookup 1, resolve 3 (7 levels), compaction 2 (5 levels),
    # assemble 1.
    assert dut.performance["latency_cycles"] == (3 if name == "w32" else 3 + 1 + 1 + 3 + 2 + 1)


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
def test_every_error_gives_one_block_of_beats_and_decoding_resumes(decoder):
    params = DFloatParams(**CONFIGS["incomplete"])
    codebooks = params.codebook_set()
    rng = np.random.default_rng(3)
    group = df.join(rng.integers(0, 256, 16), rng.choice([119, 120, 121], 16))
    bits = df.encode_block(group, params.format_of(), codebooks)
    assert bits[params.byte_bits:params.header_bits].tolist() == [0]
    good = df.block_words(bits, params.in_bits)
    invalid = bits.copy()
    invalid[params.header_bits + 3:params.header_bits + 6] = 1  # 111 after a few codes
    blocks = [good, good[:-1], good, good + [5], good, df.block_words(invalid, 32), good,
              good[:1], good]
    assert verdicts(params, blocks)[:8] == [None, "short_block", None, "long_block", None,
                                            "invalid_code", None, "short_block"]
    vectors = df.to_vectors(params, blocks)
    assert len(vectors["outputs"]["o"]) == len(blocks) * params.beats_per_block
    run_vectors(decoder(params), vectors, valid_prob=0.5, ready_prob=0.5, seed=4)


def test_defaults():
    params = DFloatParams()
    assert (params.in_bits, params.lanes, params.group_size, params.byte_words) == (128, 16,
                                                                                    128, 8)
    lengths = np.array(params.codebooks)
    assert lengths.shape == (1, 256) and 0 < (lengths > 0).sum() <= params.n_codes
    assert DFloatDecoder(params).performance["compressed_bits_per_cycle"] == 128


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(in_bits=48), ValueError, r"^in_bits must divide 8·group_size \(1024\), so that the "
                                   r"exponent codes start a word, not 48$"),
    (dict(in_bits=8), ValueError, r"^in_bits must be an integer between 16 and 1024, not 8$"),
    (dict(group_size=2, in_bits=16, max_code_len=16, lanes=2), None, None),
    (dict(in_bits=16, group_size=2, lanes=2, max_code_len=16, n_codes=4), None, None),
    (dict(lanes=24), ValueError, r"^lanes must divide group_size \(128\), not 24$"),
    (dict(codebooks=[[1] * 256]), ValueError,
     r"^codebooks must code at most n_codes \(32\) exponents per book, not book 0$"),
    (dict(codebooks=[[1] * 3 + [0] * 253]), ValueError,
     r"^codebooks must be prefix codes \(Kraft sum at most 1\), not book 0 with Kraft sum "
     r"1.5$"),
    (dict(codebooks=[[9] + [0] * 255]), ValueError,
     r"^codebooks must have code lengths between 0 and max_code_len \(8\), not book 0$"),
    (dict(codebooks=[[1] * 10]), ValueError,
     r"^codebooks must be 1 lists \(n_books\) of 256 code lengths, not 1 lists of lengths "
     r"\[10\]$"),
    (dict(pipeline=Pipeline(step=True)), ValueError,
     r"^pipeline.step must be false \(this decoder's step is registered by "
     r"pipeline.assemble\), not True$"),
])
def test_parameter_rules(kwargs, error, message):
    if error is None:
        DFloatParams(**kwargs)
        return
    with pytest.raises(error, match=message):
        DFloatParams(**kwargs)
    with pytest.raises(ConfigError, match=("params." + message[1:].replace(" must", ": must",
                                                                            1))):
        from_mapping({"name": "x", "kind": "dfloat_decoder", "params": kwargs})


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda cls: cls.__name__)
def test_rejects_other_params(decoder):
    with pytest.raises(TypeError, match="Params must be a DFloatParams, not 3"):
        decoder(3)


def test_serial_decoder_takes_a_cycle_per_codeword_and_byte_word():
    params = DFloatParams(**CONFIGS["w32"])
    blocks = df.directed(params)[:4]
    stats = run_vectors(DFloatSerialDecoder(params), df.to_vectors(params, blocks))
    steps = len(blocks) * (params.group_size + params.byte_words)
    # Each block's final word may take one more step after its last codeword; the last
    # block's beats follow its last step.
    elapsed = stats["last_emit"]["o"] - stats["first_accept"]["i"]
    assert steps <= elapsed <= steps + len(blocks) + params.beats_per_block + 2
