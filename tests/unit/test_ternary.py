# amaranth: UnusedElaboratable=no
"""The ternary LUT core and its baselines in the Amaranth simulator."""
import itertools

import numpy as np
import pytest
from amaranth.back import verilog as amaranth_verilog

from hwgen.config import ConfigError, from_mapping
from hwgen.cores.ternary import (AddSubParams, LutParams, MacParams, TernaryAddSubCore,
                                 TernaryLutCore, TernaryMacCore)
from hwgen.cores.ternary.decode import WeightConverter
from hwgen.flow.hierarchy import deduplicate
from hwgen.flow.pysim import run_vectors
from hwgen.golden import ternary as golden

KINDS = {"lut": (LutParams, TernaryLutCore), "addsub": (AddSubParams, TernaryAddSubCore),
         "mac": (MacParams, TernaryMacCore)}

INT_CONFIGS = [
    dict(mu=3, n_tables=2, lanes=3),
    dict(mu=1, n_tables=3, lanes=2, weight_format="code2", act_bits=4, max_len=24),
    dict(mu=2, n_tables=3, lanes=2, weight_format="base3", act_bits=16),
    dict(mu=4, n_tables=1, lanes=2, weight_format="code2", acc_bits=9),
    dict(mu=5, n_tables=2, lanes=2, weight_format="base3", max_len=40),
    dict(mu=5, n_tables=1, lanes=1, max_len=20),
]
FLOAT_CONFIGS = [
    dict(mu=2, n_tables=2, lanes=1, act_type="fp16", max_len=8),
    dict(mu=2, n_tables=1, lanes=1, act_type="bf16", weight_format="base3", max_len=4),
]
LARGER_FLOAT_CONFIGS = [
    dict(mu=3, n_tables=2, lanes=2, act_type="fp16", max_len=24),
    dict(mu=5, n_tables=1, lanes=2, act_type="fp16", weight_format="base3", max_len=20),
    dict(mu=1, n_tables=3, lanes=2, act_type="bf16", weight_format="code2", max_len=12),
]


def build(kind, **kwargs):
    params_class, core_class = KINDS[kind]
    params = params_class.from_mapping(kwargs)
    return params, core_class(params)


def ids(kwargs):
    return "-".join(map(str, kwargs.values()))


@pytest.mark.parametrize("kwargs", INT_CONFIGS, ids=ids)
@pytest.mark.parametrize("kind", KINDS)
def test_integer_cores_match_golden_under_backpressure(kind, kwargs):
    params, dut = build(kind, **kwargs)
    run_vectors(dut, golden.vectors(params, 30, seed=5), valid_prob=0.6, ready_prob=0.5, seed=2)


@pytest.mark.parametrize("kwargs", FLOAT_CONFIGS, ids=ids)
@pytest.mark.parametrize("kind", KINDS)
def test_float_cores_match_golden_under_backpressure(kind, kwargs):
    params, dut = build(kind, **kwargs)
    run_vectors(dut, golden.vectors(params, 4, seed=6), valid_prob=0.6, ready_prob=0.5, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", LARGER_FLOAT_CONFIGS, ids=ids)
@pytest.mark.parametrize("kind", KINDS)
def test_larger_float_cores_match_golden(kind, kwargs):
    params, dut = build(kind, **kwargs)
    run_vectors(dut, golden.vectors(params, 20, seed=7), valid_prob=0.7, ready_prob=0.6, seed=5)


PIPELINES = [dict(zip(("table", "fetch", "tree_every"), values))
             for values in itertools.product((False, True), (False, True), (0, 1, 2))]


def one_beat_dot(params):
    trits = np.ones((1, params.lanes, params.reduction), dtype=int)
    return golden.to_vectors(params, [{"a": np.ones((1, params.reduction), dtype=int),
                                       "w": golden.encode(trits, params)}])


@pytest.mark.parametrize("pipeline", PIPELINES, ids=ids)
@pytest.mark.parametrize("kind", KINDS)
def test_declared_latency_is_the_measured_one(kind, pipeline):
    if kind != "lut":
        pipeline = {key: value for key, value in pipeline.items() if key != "table"}
    params, dut = build(kind, mu=3, n_tables=3, lanes=2, pipeline=pipeline)
    stats = run_vectors(dut, one_beat_dot(params))
    assert stats["last_emit"]["o"] - stats["first_accept"]["i"] == \
        dut.performance["latency_cycles"]
    vectors = golden.vectors(params, 10, seed=1)
    run_vectors(dut, vectors, valid_prob=0.7, ready_prob=0.5, seed=4)


def test_latency_counts_every_register():
    _, dut = build("lut", mu=2, n_tables=9, lanes=1,
                   pipeline={"table": True, "fetch": True, "tree_every": 2})
    # 9 tables + 1 sign correction term: 4 tree levels, registers after levels 2 and 4.
    assert dut.performance["tree_levels"] == 4
    assert dut.performance["latency_cycles"] == 1 + 1 + 1 + 2
    _, dut = build("lut", mu=2, n_tables=9, lanes=1, act_type="fp16",
                   pipeline={"tree_every": 3})
    # Floats need no correction term: 9 tables, 4 levels, one register after level 3.
    assert dut.performance["latency_cycles"] == 1 + 1
    # A µ = 4 table is built in 3 adder levels, each registered.
    _, dut = build("lut", mu=4, n_tables=1, lanes=1, pipeline={"table": True})
    assert dut.performance["latency_cycles"] == 1 + 3


@pytest.mark.parametrize("kind", KINDS)
def test_one_beat_per_cycle_at_full_rate(kind):
    params, dut = build(kind, mu=3, n_tables=2, lanes=2, pipeline={"fetch": True})
    vectors = golden.vectors(params, 20, seed=3)
    stats = run_vectors(dut, vectors)
    beats = len(vectors["inputs"]["i"])
    assert stats["last_emit"]["o"] - stats["first_accept"]["i"] == \
        beats - 1 + dut.performance["latency_cycles"]
    assert dut.performance["macs_per_cycle"] == 2 * 6


@pytest.mark.parametrize("weight_format", ["key", "code2", "base3"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_invalid_code_flags_only_its_lane_and_dot_product(kind, weight_format):
    params, dut = build(kind, mu=2, n_tables=2, lanes=3, weight_format=weight_format)
    rng = np.random.default_rng(0)

    def transaction(beats):
        return {"a": rng.integers(-128, 128, (beats, 4)),
                "w": golden.encode(rng.integers(-1, 2, (beats, 3, 4)), params)}

    good, bad, after = transaction(2), transaction(2), transaction(1)
    bad["w"][0, 1, 0] = {"key": 0b1000, "code2": 0b10, "base3": 250}[weight_format]
    vectors = golden.to_vectors(params, [good, bad, after])
    assert [beat["err"] for beat in vectors["outputs"]["o"]] == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert vectors["outputs"]["o"][1]["y"][1] == 0
    run_vectors(dut, vectors, valid_prob=0.5, ready_prob=0.5)


PARAMETER_RULES = [
    (dict(mu=0), ValueError, r"^mu must be an integer between 1 and 5, not 0$"),
    (dict(mu=6), ValueError, r"^mu must be an integer between 1 and 5, not 6$"),
    (dict(mu="3"), TypeError, r"^mu must be an integer between 1 and 5, not '3'$"),
    (dict(n_tables=0), ValueError, r"^n_tables must be an integer between 1 and 64, not 0$"),
    (dict(lanes=257), ValueError, r"^lanes must be an integer between 1 and 256, not 257$"),
    (dict(act_type="fp-16"), ValueError,
     r"^act_type must be one of 'int', 'fp16', 'bf16', not 'fp-16'; did you mean 'fp16'\?$"),
    (dict(act_bits=3), ValueError, r"^act_bits must be an integer between 4 and 16, not 3$"),
    (dict(act_bits=8.0), TypeError, r"^act_bits must be an integer between 4 and 16, not 8.0$"),
    (dict(act_type="fp16", act_bits=8), ValueError,
     r"^act_bits must be 16 for act_type 'fp16', not 8$"),
    (dict(act_type="bf16", acc_bits=32), ValueError,
     r"^acc_bits must be 16 for act_type 'bf16', not 32$"),
    (dict(weight_format="keys"), ValueError,
     r"^weight_format must be one of 'key', 'code2', 'base3', 'int', 'fp16', 'bf16', not "
     r"'keys'; did you mean 'key'\?$"),
    (dict(weight_format="int"), ValueError,
     r"^weight_format must be one of 'key', 'code2', 'base3' for ternary_lut, not 'int'$"),
    (dict(max_len=0), ValueError, r"^max_len must be an integer between 1 and 1048576, not 0$"),
    (dict(acc_bits=1), ValueError, r"^acc_bits must be an integer between 2 and 64, not 1$"),
    (dict(pipeline={"fetch": 1}), TypeError, r"^pipeline.fetch must be true or false, not 1$"),
    (dict(pipeline={"tree_every": 10}), ValueError,
     r"^pipeline.tree_every must be an integer between 0 and 9, not 10$"),
    (dict(pipeline={"table": "yes"}), TypeError, r"^pipeline.table must be true or false, "
                                                 r"not 'yes'$"),
    (dict(pipeline={"tabel": True}), ValueError,
     r"^pipeline.tabel is not a parameter of LutPipelineParams; did you mean 'table'\?$"),
    (dict(pipeline=3), TypeError,
     r"^pipeline must be a mapping of LutPipelineParams parameters, not 3$"),
]


@pytest.mark.parametrize("kwargs,error,message", PARAMETER_RULES,
                         ids=[message for _, _, message in PARAMETER_RULES])
def test_parameter_rules(kwargs, error, message):
    with pytest.raises(error, match=message):
        LutParams.from_mapping(kwargs) if isinstance(kwargs.get("pipeline"), dict) \
            else LutParams(**kwargs)
    yaml_message = "params." + message[1:].replace(" must", ": must", 1).replace(
        " is not", ": is not", 1)
    with pytest.raises(ConfigError, match=yaml_message):
        from_mapping({"name": "x", "kind": "ternary_lut", "params": kwargs})


@pytest.mark.parametrize("kwargs,message", [
    (dict(weight_format="fp16"), r"must be 'int' \(the activation type\) or one of 'key', "
                                 r"'code2', 'base3', not 'fp16'"),
    (dict(act_type="fp16", weight_format="bf16"), r"must be 'fp16' \(the activation type\)"),
])
def test_value_weights_match_the_activation_type(kwargs, message):
    with pytest.raises(ConfigError, match=r"params.weight_format: " + message):
        from_mapping({"name": "x", "kind": "ternary_mac", "params": kwargs})
    with pytest.raises(ConfigError, match=r"params.weight_format: must be one of 'key', "
                                          r"'code2', 'base3' for ternary_addsub"):
        from_mapping({"name": "x", "kind": "ternary_addsub",
                      "params": {"weight_format": "int"}})


VALUE_CONFIGS = [
    dict(mu=3, n_tables=2, lanes=3, weight_format="int"),
    dict(mu=1, n_tables=3, lanes=2, act_bits=5, weight_format="int", acc_bits=12,
         pipeline={"fetch": True, "tree_every": 1}),
    dict(mu=2, n_tables=2, lanes=1, act_type="fp16", weight_format="fp16", max_len=8),
    dict(mu=2, n_tables=1, lanes=2, act_type="bf16", weight_format="bf16", max_len=4),
]


@pytest.mark.parametrize("kwargs", VALUE_CONFIGS, ids=ids)
def test_full_width_multiplier_baseline_matches_golden(kwargs):
    params, dut = build("mac", **kwargs)
    vectors = golden.vectors(params, 12, seed=8)
    weights = np.array([beat["w"] for beat in vectors["inputs"]["i"]]).ravel()
    assert len(set(weights.tolist())) > 20  # full-range operands, not only 0 and ±1
    run_vectors(dut, vectors, valid_prob=0.6, ready_prob=0.5, seed=6)


def test_full_width_integer_results_are_exact_for_max_len():
    params = MacParams(weight_format="int", act_bits=8, max_len=100)
    assert params.acc_bits == golden.exact_acc_bits(100, 8, 8) == (100 << 14).bit_length() + 1


def test_lanes_are_identical_units():
    design = from_mapping({"name": "t", "kind": "ternary_lut",
                           "params": {"mu": 2, "n_tables": 3, "lanes": 4, "act_bits": 6}})
    text = amaranth_verilog.convert(design.build(), name="t", emit_src=False)
    tree = deduplicate(text, "t")
    counts = sorted(module.instances for module in tree.modules.values())
    assert 4 in counts and 3 in counts  # four lanes, three tables, each one distinct module


def test_baselines_have_no_table_register():
    with pytest.raises(ConfigError, match=r"params.pipeline.table: is not a parameter of "
                                          r"PipelineParams"):
        from_mapping({"name": "x", "kind": "ternary_addsub",
                      "params": {"pipeline": {"table": True}}})


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match=r"params.lane: is not a parameter of kind "
                                          r"'ternary_mac'; did you mean 'lanes'\?"):
        from_mapping({"name": "x", "kind": "ternary_mac", "params": {"lane": 4}})


@pytest.mark.parametrize("kind", KINDS)
def test_components_take_their_own_parameter_class(kind):
    params_class, core_class = KINDS[kind]
    other = LutParams if params_class is not LutParams else MacParams
    with pytest.raises(TypeError, match=rf"^Params must be a {params_class.__name__}, not "):
        core_class(other())


def test_converter_target_is_checked():
    with pytest.raises(ValueError, match=r"^target must be 'key' or 'code2', not 'base3'$"):
        WeightConverter(LutParams(), "base3")


def test_defaults_are_derived():
    assert LutParams().act_bits == 8
    assert LutParams(act_bits=12, max_len=100).acc_bits == golden.exact_acc_bits(100, 12) == 19
    assert LutParams(act_type="fp16").acc_bits == 16
    assert "table" not in AddSubParams().to_dict()["pipeline"]
