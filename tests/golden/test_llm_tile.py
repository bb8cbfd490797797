"""The llm_tile command-level model against slow, obviously-correct references, its error
rules, and the vectors it gives the testbenches."""
import dataclasses

import numpy as np
import pytest
import yaml

from hwgen.config import load
from hwgen.cores.bitserial.params import BitSerialParams
from hwgen.cores.dfloat import DFloatParams
from hwgen.cores.huffman import HuffmanParams
from hwgen.cores.llm_tile.params import LlmTileParams
from hwgen.cores.ternary.params import AddSubParams, LutParams, MacParams
from hwgen.golden import dfloat as df
from hwgen.golden import llm_tile as golden
from hwgen.golden import ternary
from hwgen.golden.bitserial import BITMOD_MAGNITUDES, BITMOD_SPECIALS
from tests.conftest import DESIGNS

SHIPPED = [path for path in DESIGNS if yaml.safe_load(path.read_text()).get("kind") == "llm_tile"]
KV = HuffmanParams(group_size=8, block_bits=32, in_bits=16, max_code_len=5, sym_bits=2,
                   n_books=2, n_patterns=2, scale_bits=4, centroid_bits=6)
OPS, ERRORS = golden.OPS, golden.ERRORS


def ternary_tile(**changes):
    return LlmTileParams(**{"engine": "ternary_lut", "rows": 4, "cols": 8, "kv": KV,
                            "engine_params": LutParams(mu=2, n_tables=2, lanes=2, act_bits=4,
                                                       max_len=8, acc_bits=5), **changes})


def bitserial_tile(weight_format="int", **changes):
    engine_params = BitSerialParams(lanes=2, weight_bits=4, act_bits=4, group_size=4,
                                    max_len=64, scale_bits=3, weight_format=weight_format)
    return LlmTileParams(**{"engine": "bitserial", "rows": 3, "cols": 8, "kv": KV,
                            "engine_params": engine_params, **changes})


def bf16_tile(**changes):
    """A bf16 tile (ternary_mac, full-width weights): 4 × 64, two DFloat11 blocks of 128."""
    return LlmTileParams(**{"engine": "ternary_mac", "rows": 4, "cols": 64, "kv": KV,
                            "engine_params": MacParams(mu=2, n_tables=2, lanes=2,
                                                       act_type="bf16", weight_format="bf16"),
                            **changes})


DFLOAT = DFloatParams(in_bits=32, lanes=8)


def real_bf16(rows, cols, offset=0):
    real = np.concatenate([w.ravel() for w in df.real_weights().values()])
    return df.bf16_of(real[offset:offset + rows * cols].reshape(rows, cols))


def results(responses, op):
    return [(beat["addr"], beat["value"], beat["err"]) for beat in responses
            if beat["kind"] == op]


def wrap(value, bits):
    half = 1 << (bits - 1)
    return (value + half) % (1 << bits) - half


@pytest.mark.parametrize("params", [ternary_tile(), ternary_tile(
    engine="ternary_addsub", cols=6, engine_params=AddSubParams(mu=3, n_tables=1, lanes=2,
                                                                weight_format="base3"))],
                         ids=["lut_key_wrapping", "addsub_base3"])
def test_ternary_products_are_plain_matrix_products(params):
    rng = np.random.default_rng(1)
    g = params.geometry
    lo, hi = -(1 << (g.act_width - 1)), 1 << (g.act_width - 1)
    weights = rng.integers(-1, 2, (g.rows, g.cols))
    beats = golden.load_weights(params, weights)
    expected = []
    for _ in range(5):
        x = rng.integers(lo, hi, g.cols)
        beats += golden.matvec(params, x)
        expected += [(row, wrap(int(sum(int(w) * int(a) for w, a in zip(weights[row], x))),
                                params.engine_params.acc_bits), 0) for row in range(g.rows)]
    assert results(golden.run(params, beats), OPS["MATVEC"]) == expected


def code_value(code, weight_format, weight_bits, prec, dtype):
    """One weight code's value, the long way."""
    if weight_format == "bitmod":
        sign, index = code >> (weight_bits - 1), code % (1 << (weight_bits - 1))
        if sign and index == 0:
            return BITMOD_SPECIALS[weight_bits][dtype]
        magnitude = BITMOD_MAGNITUDES[weight_bits][index]
        return -magnitude if sign else magnitude
    low = code % (1 << prec)
    if weight_format == "int" and low >= 1 << (prec - 1):
        return low - (1 << prec)
    return low


@pytest.mark.parametrize("weight_format", ["int", "uint", "bitmod"])
def test_bitserial_products_are_grouped_scaled_sums(weight_format):
    params = bitserial_tile(weight_format)
    p = params.engine_params
    rng = np.random.default_rng(2)
    g = params.geometry
    codes = rng.integers(0, 1 << p.weight_bits, (g.rows, g.cols))
    scales = rng.integers(0, 1 << p.scale_bits, (g.rows, 2))
    dtypes = rng.integers(0, 4, (g.rows, 2))
    prec = 3
    x = rng.integers(-8, 8, g.cols)
    beats = golden.load_weights(params, codes, scales=scales, prec=prec, dtypes=dtypes)
    beats += golden.matvec(params, x)
    expected = []
    for row in range(g.rows):
        total = 0
        for k in range(g.cols):
            group = k // p.group_size
            total += scales[row, group] * int(x[k]) * code_value(
                int(codes[row, k]), weight_format, p.weight_bits, prec, dtypes[row, group])
        expected.append((row, wrap(int(total), p.acc_bits), 0))
    assert results(golden.run(params, beats), OPS["MATVEC"]) == expected


def test_scores_are_query_times_the_encoders_values():
    params = ternary_tile()
    rng = np.random.default_rng(3)
    keys = rng.normal(size=(6, KV.group_size))
    query = rng.integers(-128, 128, KV.group_size)
    blocks, values = golden.key_blocks(params, keys)
    responses = golden.run(params, golden.load_query(params, query) + blocks)
    assert results(responses, OPS["KBLOCK"]) == [
        (index, int(sum(int(q) * int(v) for q, v in zip(query, row))), 0)
        for index, row in enumerate(values)]
    assert any(value for _, value, _ in results(responses, OPS["KBLOCK"]))


def test_errors_and_acknowledgements():
    params = ternary_tile()
    g = params.geometry
    rng = np.random.default_rng(4)
    blocks, _ = golden.key_blocks(params, rng.normal(size=(1, KV.group_size)))
    x = golden.matvec(params, np.ones(g.cols))
    beats = (x + blocks                                     # NO_WEIGHTS, NO_QUERY
             + [golden.command(op, addr=3, last=1) for op in (0, 5, 6, 7)]
             + [golden.command("LOAD_W", g.words, last=1), golden.command("LOAD_Q", g.q_words),
                golden.command("MATVEC", g.chunks, last=1)]
             + golden.load_weights(params, np.ones((g.rows, g.cols)))
             + golden.load_query(params, np.ones(KV.group_size))
             + blocks[:-2] + [dict(blocks[-2], last=1)]  # a block cut short
             + blocks)
    expected = ([(OPS["MATVEC"], ERRORS["NO_WEIGHTS"], g.chunks - 1),
                 (OPS["KBLOCK"], ERRORS["NO_QUERY"], 0)]
                + [(op, ERRORS["BAD_OP"], 3) for op in (0, 5, 6, 7)]
                + [(OPS["LOAD_W"], ERRORS["BAD_ADDR"], g.words),
                   (OPS["LOAD_Q"], ERRORS["BAD_ADDR"], g.q_words),
                   (OPS["MATVEC"], ERRORS["BAD_ADDR"], g.chunks),
                   (OPS["LOAD_W"], ERRORS["OK"], g.words - 1),
                   (OPS["LOAD_Q"], ERRORS["OK"], g.q_words - 1),
                   (OPS["KBLOCK"], ERRORS["BAD_BLOCK"], 0),
                   (OPS["KBLOCK"], ERRORS["OK"], 1)])
    responses = golden.run(params, beats)
    assert [(beat["kind"], beat["err"], beat["addr"]) for beat in responses] == expected
    assert all(beat["value"] == 0 for beat in responses[:-1])


def test_invalid_weight_codes_flag_only_their_rows():
    params = ternary_tile()
    g = params.geometry
    words = [{"w": [[0, 0], [0, 0]]} for _ in range(g.words)]
    words[1]["w"][1][0] = 1 << 3  # lane 1: the negative zero key
    beats = golden.load_words(params, words) + golden.matvec(params, np.ones(g.cols))
    errors = [err for _, _, err in results(golden.run(params, beats), OPS["MATVEC"])]
    assert errors == [0, ERRORS["BAD_WEIGHTS"], 0, 0]


def test_a_block_is_scored_with_the_query_at_its_end():
    params = ternary_tile()
    rng = np.random.default_rng(5)
    blocks, values = golden.key_blocks(params, rng.normal(size=(2, KV.group_size)))
    first, second = np.full(KV.group_size, 1), np.arange(KV.group_size)
    beats = (golden.load_query(params, first) + blocks[:KV.words_per_block + 1]
             + golden.load_query(params, second) + blocks[KV.words_per_block + 1:])
    assert results(golden.run(params, beats), OPS["KBLOCK"]) == [
        (0, int(first @ values[0]), 0), (0, int(second @ values[1]), 0)]


def test_unloaded_memory_reads_as_zero():
    params = bitserial_tile()
    g = params.geometry
    word = {"w": [1, 1], "prec": 4, "scale": 1}
    beats = golden.load_words(params, [word]) + golden.matvec(params, np.ones(g.cols))
    # Row 0 has one loaded word (the others are zero, precision 0: invalid).
    assert results(golden.run(params, beats), OPS["MATVEC"]) == [
        (0, 0, ERRORS["BAD_WEIGHTS"]), (1, 0, ERRORS["BAD_WEIGHTS"]),
        (2, 0, ERRORS["BAD_WEIGHTS"])]
    words = [dict(word, w=[0, 0]) for _ in range(g.words)]
    words[0]["w"] = [1, 1]
    beats = golden.load_words(params, words) + golden.matvec(params, np.ones(g.cols))
    assert results(golden.run(params, beats), OPS["MATVEC"]) == [(0, 2, 0), (1, 0, 0), (2, 0, 0)]


def test_builders_check_shapes():
    params = ternary_tile()
    with pytest.raises(ValueError, match=r"weights must be 4 × 8, not \(4, 7\)"):
        golden.load_weights(params, np.zeros((4, 7)))


@pytest.mark.parametrize("offset", [0, 5000])
def test_dfloat_products_are_the_uncompressed_products(offset):
    """The same products as a bf16 tile holding the weights uncompressed, and each as the
    bf16 engine's order of IEEE operations over the plain matrix; the real weights take
    at most 11.5 bits each on the 32-bit words."""
    params, plain = bf16_tile(dfloat=DFLOAT), bf16_tile()
    g = params.geometry
    rng = np.random.default_rng(offset)
    weights = real_bf16(g.rows, g.cols, offset)
    x = ternary.random_activations(params.engine_params, rng, (g.cols,))
    loaded = golden.load_weights(params, weights)
    assert len(loaded) * DFLOAT.in_bits / weights.size <= 11.5
    compressed = results(golden.run(params, loaded + golden.matvec(params, x)), OPS["MATVEC"])
    uncompressed = golden.run(plain, golden.load_weights(plain, weights) + golden.matvec(plain, x))
    assert compressed == results(uncompressed, OPS["MATVEC"])
    arithmetic = ternary.Arithmetic("bf16")
    for row, value, err in compressed:
        lane_sums = [ternary.tree_sum(arithmetic.mul(x[chunk:chunk + 4], weights[row, chunk:chunk + 4])[None],
                                      arithmetic)[0] for chunk in range(0, g.cols, 4)]
        total = lane_sums[0]
        for term in lane_sums[1:]:
            total = arithmetic.add(total, term)
        assert (value, err) == (int(total), 0)


def test_dfloat_block_faults_flag_only_their_rows():
    """A block without its `last` runs on to the next `last`: it and (for the first block)
    the blocks after it are BAD_WEIGHTS; rows of the blocks before stay exact."""
    params = bf16_tile(dfloat=DFLOAT)
    g = params.geometry
    weights = real_bf16(g.rows, g.cols)
    x = df.bf16_of(np.linspace(-1, 1, g.cols))
    image = golden.compressed_words(params, [{"w": weights[:2, chunk:chunk + 4]}
                                             for chunk in range(0, g.cols, 4)]
                                    + [{"w": weights[2:, chunk:chunk + 4]}
                                       for chunk in range(0, g.cols, 4)])
    good = results(golden.run(params, golden.load_weights(params, weights)
                              + golden.matvec(params, x)), OPS["MATVEC"])
    ends = [address for address, word in enumerate(image) if word["last"]]
    for end, bad_rows in ((ends[1], {2, 3}), (ends[0], {0, 1, 2, 3})):
        beats = (golden.load_weights(params, weights)
                 + golden.load_words(params, [dict(image[end], last=0)], [end])
                 + golden.matvec(params, x))
        got = results(golden.run(params, beats), OPS["MATVEC"])
        assert got == [(row, 0, ERRORS["BAD_WEIGHTS"]) if row in bad_rows else good[row]
                       for row in range(g.rows)]


def test_dfloat_memory_end_reads_as_a_last_word():
    """Weights that do not fit: the load's extra words are BAD_ADDR, the run reads a zero
    word with `last` past the memory (a short block: BAD_WEIGHTS)."""
    params = bf16_tile(dfloat=DFLOAT, weight_words=60)
    g = params.geometry
    loaded = golden.load_weights(params, real_bf16(g.rows, g.cols))
    responses = golden.run(params, loaded + golden.matvec(params, np.zeros(g.cols)))
    assert [beat["addr"] for beat in responses if beat["err"] == ERRORS["BAD_ADDR"]] == \
        list(range(60, len(loaded)))
    assert {beat["addr"]: beat["err"] for beat in responses if beat["kind"] == OPS["MATVEC"]} \
        == {0: 0, 1: 0, 2: ERRORS["BAD_WEIGHTS"], 3: ERRORS["BAD_WEIGHTS"]}


@pytest.mark.parametrize("params", [
    ternary_tile(), bitserial_tile("bitmod"),
    ternary_tile(kv=dataclasses.replace(KV, tables="runtime")),
    bf16_tile(dfloat=DFLOAT, weight_words=80)],
    ids=["ternary", "bitmod", "runtime_tables", "dfloat"])
def test_vectors_cover_every_command_and_error(params):
    vectors = golden.vectors(params, 40, seed=1)
    responses = vectors["outputs"]["o"]
    unreachable = set()
    if params.engine_params.weight_format == "bitmod":
        unreachable.add(ERRORS["BAD_WEIGHTS"])
    if not params.kv.runtime:
        unreachable.add(ERRORS["BAD_TABLES"])
    assert {beat["err"] for beat in responses} == set(ERRORS.values()) - unreachable
    if params.kv.runtime:
        assert set(OPS.values()) <= {beat["kind"] for beat in responses}
    assert {beat["op"] for beat in vectors["inputs"]["i"]} == set(range(8))
    assert vectors == golden.vectors(params, 40, seed=1)
    assert vectors != golden.vectors(params, 40, seed=2)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_shipped_tiles_keep_uart_frames_short(path):
    params = load(path).params
    assert params.geometry.command_bits <= golden.MAX_COMMAND_BITS
    responses = golden.vectors(params, 5, seed=1)["outputs"]["o"]
    assert any(beat["kind"] == OPS["MATVEC"] and beat["value"] for beat in responses)
    assert any(beat["kind"] == OPS["KBLOCK"] and beat["value"] for beat in responses)


def test_shipped_tiles_cover_both_engine_families():
    engines = {load(path).params.engine for path in SHIPPED}
    assert engines & {"ternary_lut", "ternary_addsub"} and engines & {"bitserial", "bitparallel"}
