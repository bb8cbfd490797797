# amaranth: UnusedElaboratable=no
"""The llm_tile top in the Amaranth simulator: every engine, bit-exact against the
command-level golden model, under random backpressure; declared figures; parameter rules."""
import numpy as np
import pytest
from amaranth.back import verilog

from hwgen.config import ConfigError, from_mapping
from hwgen.cores.bitserial.params import BitParallelParams, BitSerialParams
from hwgen.cores.dfloat import DFloatParams
from hwgen.cores.huffman import HuffmanParams
from hwgen.cores.huffman.params import HuffmanPipelineParams
from hwgen.cores.llm_tile import LlmTile, LlmTileParams
from hwgen.cores.llm_tile.params import TilePipelineParams
from hwgen.golden import kvformat as kv
from hwgen.cores.ternary.params import AddSubParams, LutParams, MacParams
from hwgen.flow.pysim import run_vectors
from hwgen.flow.verilog import describe_streams
from hwgen.golden import dfloat as df
from hwgen.golden import llm_tile as golden
from hwgen.params import ParamTypeError, ParamValueError

KV = dict(group_size=8, block_bits=32, in_bits=16, max_code_len=5, sym_bits=2, n_books=2,
          n_patterns=2, scale_bits=4, centroid_bits=6)

CONFIGS = {
    "ternary_lut": dict(engine="ternary_lut", rows=4, cols=8, engine_params=LutParams(
        mu=2, n_tables=2, lanes=2, act_bits=4, max_len=64)),
    # More lanes than beats per row group: the result serializer sets the pace.
    "ternary_lut_wide": dict(engine="ternary_lut", rows=8, cols=4, engine_params=LutParams(
        mu=2, n_tables=1, lanes=4, act_bits=4, max_len=16, acc_bits=6), q_bits=3),
    "ternary_addsub_code2": dict(engine="ternary_addsub", rows=4, cols=6, kv_decoder="serial",
                                 engine_params=AddSubParams(mu=3, n_tables=1, lanes=2,
                                                            weight_format="code2", act_bits=5,
                                                            max_len=32)),
    "ternary_lut_fp16": dict(engine="ternary_lut", rows=2, cols=4, engine_params=LutParams(
        mu=2, n_tables=1, lanes=2, act_type="fp16", weight_format="base3")),
    "bitserial_booth4": dict(engine="bitserial", rows=3, cols=8, kv_decoder="serial",
                             engine_params=BitSerialParams(lanes=2, weight_bits=3, act_bits=4,
                                                           group_size=4, max_len=64,
                                                           scale_bits=3, digit="booth4")),
    "bitparallel_bitmod": dict(engine="bitparallel", rows=2, cols=6,
                               engine_params=BitParallelParams(
                                   lanes=3, weight_bits=4, weight_format="bitmod", act_bits=4,
                                   act_signed=False, group_size=3, max_len=64, scale_bits=3)),
    # Full-width bf16 weight values on IEEE multipliers.
    "ternary_mac_bf16": dict(engine="ternary_mac", rows=2, cols=4, engine_params=MacParams(
        mu=2, n_tables=1, lanes=2, act_type="bf16", weight_format="bf16")),
    # DFloat11 weights: one block of 128, a memory of 48 words (a real block takes about 43,
    # a raw one 65), so raw blocks run past its end.
    "ternary_mac_dfloat": dict(engine="ternary_mac", rows=2, cols=64, weight_words=48,
                               engine_params=MacParams(mu=2, n_tables=2, lanes=2,
                                                       act_type="bf16", weight_format="bf16"),
                               dfloat=DFloatParams(in_bits=32, lanes=8)),
}


def tile_params(name, kv=None, **changes):
    return LlmTileParams(**dict(CONFIGS[name], kv=kv or HuffmanParams(**KV), **changes))


#: Runtime tables (LOAD_T) with every register of the decoder, the score unit and the fetch.
RUNTIME_KV = HuffmanParams(**KV, tables="runtime", pipeline=HuffmanPipelineParams(
    lookup=True, resolve=1, compact_every=1, assemble=True))
PIPELINED = dict(kv=RUNTIME_KV, pipeline=TilePipelineParams(fetch=True, score=True))


@pytest.mark.parametrize("name", ["ternary_lut", "ternary_addsub_code2"])
def test_runtime_tables_and_pipelines_match_golden(name):
    params = tile_params(name, **PIPELINED)
    vectors = golden.vectors(params, 16, seed=7)
    kinds = [beat["kind"] for beat in vectors["outputs"]["o"]]
    errors = [beat["err"] for beat in vectors["outputs"]["o"] if beat["kind"] == 5]
    assert golden.ERRORS["BAD_TABLES"] in errors and golden.ERRORS["OK"] in errors
    assert kinds.count(golden.OPS["KBLOCK"]) > 5
    run_vectors(LlmTile(params), vectors, valid_prob=0.6, ready_prob=0.5, seed=8)


def test_blocks_use_the_tables_loaded_before_they_start():
    """A set loaded while a block is unfinished is taken by the next block; a set replaced
    before any block used it never takes effect; a short set makes blocks BAD_BLOCK."""
    params = tile_params("ternary_lut", **PIPELINED)
    fmt = params.kv.format_of()
    rng = np.random.default_rng(3)
    learned, step = kv.learn_tables(rng.laplace(size=(8, fmt.group_size)), fmt)
    x = rng.laplace(size=(3, fmt.group_size))
    new = [kv.words_of(bits, params.kv.in_bits)
           for bits in kv.encode(x, fmt, learned, step=step).blocks]
    old = [kv.words_of(bits, params.kv.in_bits)
           for bits in kv.encode(x, fmt, params.kv.table_set(), step=step).blocks]
    words = kv.table_words(fmt, learned)
    configured = kv.table_words(fmt, params.kv.table_set())
    first = golden.block_beats(params, old[:1])
    beats = (golden.load_query(params, rng.integers(-8, 8, fmt.group_size))
             + first[:1] + golden.load_tables(params, words) + first[1:]   # old tables
             + golden.block_beats(params, new[1:2])                        # new tables
             + golden.load_tables(params, configured)                      # replaced unused
             + golden.load_tables(params, words) + golden.block_beats(params, new[2:3])
             + golden.load_tables(params, words[:-1]) + golden.block_beats(params, new[:1]))
    responses = golden.run(params, beats)
    scores = [beat for beat in responses if beat["kind"] == golden.OPS["KBLOCK"]]
    assert [beat["err"] for beat in scores] == [0, 0, 0, golden.ERRORS["BAD_BLOCK"]]
    tables = [beat["err"] for beat in responses if beat["kind"] == golden.OPS["LOAD_T"]]
    assert tables == [0, 0, 0, golden.ERRORS["BAD_TABLES"]]
    run_vectors(LlmTile(params), {"inputs": {"i": beats}, "outputs": {"o": responses}},
                valid_prob=0.7, ready_prob=0.6, seed=2)


@pytest.mark.parametrize("name", CONFIGS)
def test_matches_golden_under_backpressure(name):
    params = tile_params(name)
    run_vectors(LlmTile(params), golden.vectors(params, 12, seed=5), valid_prob=0.6,
                ready_prob=0.5, seed=8)


def test_matches_golden_at_full_rate():
    params = tile_params("ternary_lut")
    run_vectors(LlmTile(params), golden.vectors(params, 12, seed=6))


def test_junk_commands_get_defined_answers_and_never_hang():
    params = tile_params("bitserial_booth4")
    rng = np.random.default_rng(3)
    g = params.geometry
    beats = [golden.command(int(rng.integers(8)), int(rng.integers(g.words + 2)),
                            int(rng.integers(1 << 40)) & ((1 << g.data_bits) - 1),
                            last=int(rng.integers(2))) for _ in range(150)]
    expected = golden.run(params, beats)
    assert {beat["err"] for beat in expected} >= {golden.ERRORS[name] for name in
                                                  ("BAD_OP", "BAD_ADDR", "BAD_BLOCK")}
    run_vectors(LlmTile(params), {"inputs": {"i": beats}, "outputs": {"o": expected}},
                valid_prob=0.8, ready_prob=0.4, seed=2, stall_limit=500)


@pytest.mark.parametrize("name", CONFIGS)
def test_stream_payloads_are_the_golden_contract(name):
    params = tile_params(name)
    streams = describe_streams(LlmTile(params))
    g = params.geometry
    assert streams["i"]["fields"] == g.command_fields()
    assert streams["o"]["fields"] == g.response_fields()
    assert streams["i"]["payload_width"] <= golden.MAX_COMMAND_BITS


@pytest.mark.parametrize("name", ["ternary_lut", "ternary_lut_wide", "bitserial_booth4",
                                  "bitparallel_bitmod"])
def test_declared_matvec_cycles_are_measured(name):
    params = tile_params(name, pipeline=TilePipelineParams(
        fetch=name in ("ternary_lut_wide", "bitparallel_bitmod")))
    rng = np.random.default_rng(4)
    g = params.geometry
    if g.ternary:
        weights = golden.load_weights(params, rng.integers(-1, 2, (g.rows, g.cols)))
    else:  # full precision: the declared figure is the slowest
        weights = golden.load_weights(params, rng.integers(0, 8, (g.rows, g.cols)))
    beats = weights + golden.matvec(params, rng.integers(0, 8, g.cols))
    dut = LlmTile(params)
    stats = run_vectors(dut, {"inputs": {"i": beats}, "outputs": {"o": golden.run(params, beats)}})
    assert stats["last_emit"]["o"] - stats["last_accept"]["i"] == dut.performance["matvec_cycles"]


@pytest.mark.parametrize("decoder,pipelined", [("parallel", False), ("serial", False),
                                               ("parallel", True)])
def test_declared_score_latency_is_measured(decoder, pipelined):
    params = tile_params("ternary_lut", kv_decoder=decoder, **(PIPELINED if pipelined else {}))
    rng = np.random.default_rng(5)
    blocks, _ = golden.key_blocks(params, rng.normal(size=(1, params.kv.group_size)))
    beats = golden.load_query(params, rng.integers(-8, 8, params.kv.group_size)) + blocks
    dut = LlmTile(params)
    stats = run_vectors(dut, {"inputs": {"i": beats}, "outputs": {"o": golden.run(params, beats)}})
    assert (stats["last_emit"]["o"] - stats["last_accept"]["i"]
            == dut.performance["score_latency_cycles"])


def test_key_words_stream_at_the_parallel_decoders_rate():
    params = tile_params("ternary_lut")
    rng = np.random.default_rng(6)
    beats, _ = golden.key_blocks(params, rng.normal(size=(12, params.kv.group_size)))
    dut = LlmTile(params)
    stats = run_vectors(dut, {"inputs": {"i": beats}, "outputs": {"o": golden.run(params, beats)}})
    assert dut.performance["kv_cycles_per_word"] == 1
    assert stats["last_accept"]["i"] - stats["first_accept"]["i"] == len(beats) - 1


@pytest.mark.parametrize("source", ["real", "raw"])
def test_dfloat_run_stays_within_its_declared_cycles(source):
    """A product over real weights (coded exponents) and over random patterns (raw blocks,
    the longest) both end within the declared bound."""
    params = tile_params("ternary_mac_dfloat", weight_words=None)
    g = params.geometry
    rng = np.random.default_rng(8)
    if source == "real":
        real = np.concatenate([w.ravel() for w in df.real_weights().values()])
        weights = df.bf16_of(real[:g.rows * g.cols].reshape(g.rows, g.cols))
    else:
        weights = rng.integers(0, 1 << 16, (g.rows, g.cols))
    beats = golden.load_weights(params, weights) + golden.matvec(
        params, df.bf16_of(rng.normal(size=g.cols)))
    expected = golden.run(params, beats)
    assert [beat["err"] for beat in expected] == [0] * (1 + g.rows)
    dut = LlmTile(params)
    stats = run_vectors(dut, {"inputs": {"i": beats}, "outputs": {"o": expected}})
    assert stats["last_emit"]["o"] - stats["last_accept"]["i"] <= \
        dut.performance["matvec_cycles"]


def test_verilog_is_deterministic():
    params = tile_params("bitserial_booth4")
    first = verilog.convert(LlmTile(params), name="tile", emit_src=False)
    assert verilog.convert(LlmTile(params), name="tile", emit_src=False) == first


#: A tile with DFloat11 weights (tests add ``dfloat``).
DFLOAT = dict(engine="ternary_mac", rows=4, cols=64,
              engine_params={"mu": 2, "n_tables": 2, "lanes": 2, "act_type": "bf16",
                             "weight_format": "bf16"}, dfloat={"in_bits": 32, "lanes": 8})


def config(**params):
    return {"name": "t", "kind": "llm_tile", "params": params}


@pytest.mark.parametrize("params,message", [
    (dict(engine="ternary"), r"params\.engine: must be one of 'ternary_lut', 'ternary_addsub', "
                             r"'ternary_mac', 'bitserial', 'bitparallel', not 'ternary'; did "
                             r"you mean 'ternary_mac'\?"),
    (dict(engine="bitserial", engine_params={"lanes": 0}),
     r"params\.engine_params\.lanes: must be an integer between 1 and 64, not 0"),
    (dict(engine="bitserial", engine_params={"lane": 4}),
     r"params\.engine_params\.lane: is not a parameter of BitSerialParams; did you mean "
     r"'lanes'\?"),
    (dict(engine="bitserial", engine_params={"weight_stream": "planes"}),
     r"params\.engine_params\.weight_stream: must be 'codes' in an llm_tile \(its weight "
     r"memory holds whole codes\), not 'planes'"),
    (dict(engine="ternary_lut", engine_params={"mu": 3, "digit": "bit"}),
     r"params\.engine_params\.digit: is not a parameter of LutParams"),
    (dict(engine_params=[1]), r"params\.engine_params: must be a mapping of the engine's "
                              r"parameters: LutParams \(ternary_lut\)"),
    (dict(cols=50), r"params\.cols: must be a multiple of the activations per engine beat "
                    r"\(12\), not 50"),
    (dict(rows=6), r"params\.rows: must be a multiple of engine_params\.lanes \(4\), not 6"),
    (dict(engine="bitserial", engine_params={"lanes": 1}, rows=4096, cols=4096),
     r"params\.rows: must keep the weight memory at most 65536 words"),
    (dict(kv={"group_size": 8, "bock_bits": 64}),
     r"params\.kv\.bock_bits: is not a parameter of HuffmanParams; did you mean "
     r"'block_bits'\?"),
    (dict(engine_params={"lanes": 64, "n_tables": 4}, rows=64),
     r"params\.engine_params: must keep a command beat at most 512 bits wide \(its data "
     r"field needs 1280 bits\)"),
    (dict(kv={"in_bits": 512, "block_bits": 512}),
     r"params\.kv: must keep a command beat at most 512 bits wide \(its data field needs "
     r"1024 bits\)"),
    (dict(kv_decoder="fast"), r"params\.kv_decoder: must be one of 'parallel', 'serial', "
                              r"not 'fast'"),
    (dict(q_bits=1), r"params\.q_bits: must be an integer between 2 and 16, not 1"),
    (dict(dfloat={"in_bits": 32}), r"params\.dfloat: needs engine 'ternary_mac' with "
                                   r"weight_format 'bf16' \(BF16 weight values\), not engine "
                                   r"'ternary_lut' with weight_format 'key'"),
    (dict(DFLOAT, dfloat={"in_bits": 32, "lanes": 16}),
     r"params\.dfloat\.lanes: must be the weights of one engine beat \(lanes·n_tables·mu = "
     r"8\), not 16"),
    (dict(DFLOAT, rows=2, cols=32), r"params\.dfloat\.group_size: must divide rows·cols "
                                    r"\(64\), not 128"),
    (dict(DFLOAT, dfloat={"in_bits": 48, "lanes": 8}),
     r"params\.dfloat\.in_bits: must divide 8·group_size \(1024\)"),
    (dict(DFLOAT, weight_words=0), r"params\.weight_words: must be an integer between 1 "
                                   r"and 65536, not 0"),
    (dict(DFLOAT, rows=512, cols=512, dfloat={"in_bits": 16, "lanes": 8}),
     r"params\.weight_words: must be at most 65536 \(the default: 2048 raw blocks of 129 "
     r"words\), not 264192"),
    (dict(DFLOAT, dfloat={"in_bits": 1024, "lanes": 8}),
     r"params\.dfloat: must keep a command beat at most 512 bits wide \(its data field "
     r"needs 1025 bits\)"),
    (dict(weight_words=64), r"params\.weight_words: applies only with dfloat weights; "
                            r"remove it"),
])
def test_config_errors_name_the_yaml_path(params, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(config(**params))


def test_engine_params_of_another_engine_are_rejected():
    with pytest.raises(ParamTypeError, match=r"engine_params must be a BitSerialParams for "
                                             r"engine 'bitserial', not LutParams\("):
        LlmTileParams(engine="bitserial", engine_params=LutParams())
    # BitSerialParams and BitParallelParams share a base class: exact match.
    with pytest.raises(ParamTypeError,
                       match=r"must be a BitParallelParams for engine 'bitparallel'"):
        LlmTileParams(engine="bitparallel", engine_params=BitSerialParams())


def test_defaults_fill_the_engines_own_defaults():
    params = LlmTileParams(engine="bitparallel")
    assert params.engine_params == BitParallelParams()
    assert params.to_dict()["engine_params"] == BitParallelParams().to_dict()
    with pytest.raises(ParamValueError, match=r"cols must be a multiple"):
        LlmTileParams(engine="bitparallel", cols=12)


def test_tile_rejects_other_params():
    with pytest.raises(TypeError, match=r"Params must be a LlmTileParams, not LutParams\("):
        LlmTile(LutParams())
