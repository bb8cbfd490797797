# amaranth: UnusedElaboratable=no
"""Bit-serial and bit-parallel dot products in the Amaranth simulator."""
import numpy as np
import pytest

from hwgen.config import ConfigError, from_mapping
from hwgen.cores.bitserial import (BitParallelDot, BitParallelParams, BitSerialDot,
                                  BitSerialParams, DotParams)
from hwgen.flow.pysim import run_vectors
from hwgen.golden import bitserial as golden

CONFIGS = [
    dict(lanes=4, weight_bits=4, group_size=8, max_len=64),
    dict(lanes=3, weight_bits=5, weight_format="uint", act_signed=False, group_size=6,
         max_len=48),
    dict(lanes=4, weight_bits=4, weight_format="bitmod", group_size=8, max_len=64),
    dict(lanes=4, weight_bits=3, weight_format="bitmod", group_size=4, max_len=32),
    dict(lanes=2, weight_bits=2, act_bits=3, group_size=2, max_len=16),
    dict(lanes=2, weight_bits=8, act_bits=16, group_size=4, max_len=32, acc_bits=20),
    dict(lanes=1, weight_bits=6, act_bits=5, group_size=1, max_len=8, scale_bits=1),
]


# (kind, engine options): digit-serial engines one or several digits per cycle, with and
# without a pipelined adder tree, and both bit-parallel multipliers.
ENGINES = [
    ("serial", dict(digit="bit")),
    ("serial", dict(digit="booth4")),
    ("serial", dict(digit="bit", digits_per_cycle=3, pipeline_tree=True)),
    ("serial", dict(digit="booth4", digits_per_cycle=2)),
    ("parallel", dict(multiplier="array")),
    ("parallel", dict(multiplier="booth", pipeline_tree=True)),
]
# Digit-serial engines fed digit planes (int and uint codes only).
PLANE_ENGINES = [
    ("serial", dict(digit="booth4", digits_per_cycle=2, weight_stream="planes")),
    ("serial", dict(digit="booth4", pipeline_tree=True, weight_stream="planes")),
    ("serial", dict(digit="bit", weight_stream="planes")),
    ("serial", dict(digit="bit", digits_per_cycle=3, weight_stream="planes")),
]
PLANE_CONFIGS = [config for config in CONFIGS if config.get("weight_format") != "bitmod"]


def engine_ids(engines):
    return ["-".join(map(str, [kind, *options.values()])) for kind, options in engines]


ENGINE_IDS = engine_ids(ENGINES)


def build(kind, kwargs, options=None):
    options = options or {}
    if kind == "serial":
        params = BitSerialParams(**kwargs, **options)
        return params, BitSerialDot(params)
    params = BitParallelParams(**kwargs, **options)
    return params, BitParallelDot(params)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kwargs: "-".join(map(str, kwargs.values())))
@pytest.mark.parametrize("kind,options", ENGINES, ids=ENGINE_IDS)
def test_matches_golden_under_backpressure(kind, options, kwargs):
    params, dut = build(kind, kwargs, options)
    vectors = golden.vectors(params, 25, seed=11)
    run_vectors(dut, vectors, valid_prob=0.6, ready_prob=0.5, seed=4)


@pytest.mark.parametrize("kwargs", PLANE_CONFIGS,
                         ids=lambda kwargs: "-".join(map(str, kwargs.values())))
@pytest.mark.parametrize("kind,options", PLANE_ENGINES, ids=engine_ids(PLANE_ENGINES))
def test_digit_planes_match_golden_under_backpressure(kind, options, kwargs):
    params, dut = build(kind, kwargs, options)
    vectors = golden.vectors(params, 25, seed=11)
    run_vectors(dut, vectors, valid_prob=0.6, ready_prob=0.5, seed=4)


def one_beat_dot(params, prec=None):
    prec = params.weight_bits if prec is None else prec
    return golden.to_vectors(params, [{
        "a": np.ones((1, params.lanes), dtype=int), "w": np.ones((1, params.lanes), dtype=int),
        "prec": np.array([prec]), "scale": np.array([1]), "dtype": np.array([0])}])


@pytest.mark.parametrize("kind,options", ENGINES + PLANE_ENGINES,
                         ids=engine_ids(ENGINES + PLANE_ENGINES))
def test_declared_latency_is_the_measured_one(kind, options):
    params, dut = build(kind, CONFIGS[0], options)
    stats = run_vectors(dut, one_beat_dot(params))
    latency = stats["last_emit"]["o"] - stats["first_accept"]["i"]
    performance = dut.performance
    assert latency == performance["latency_cycles"]


@pytest.mark.parametrize("digit,digits_per_cycle", [("bit", 1), ("booth4", 1), ("bit", 3),
                                                    ("booth4", 2)])
@pytest.mark.parametrize("weight_format", ["int", "uint"])
@pytest.mark.parametrize("weight_stream", ["codes", "planes"])
def test_cycles_per_beat_follow_the_runtime_precision(digit, digits_per_cycle, weight_format,
                                                      weight_stream):
    params = BitSerialParams(lanes=2, weight_bits=7, weight_format=weight_format, digit=digit,
                             digits_per_cycle=digits_per_cycle, group_size=4, max_len=64,
                             weight_stream=weight_stream)
    dut = BitSerialDot(params)
    for prec, cycles in dut.performance["cycles_per_beat_by_prec"].items():
        beats = 12
        rng = np.random.default_rng(int(prec))
        transaction = {"a": rng.integers(-128, 128, (beats, 2)),
                       "w": rng.integers(0, 128, (beats, 2)), "prec": np.full(beats, int(prec)),
                       "scale": np.full(beats, 3), "dtype": np.zeros(beats, dtype=int)}
        stats = run_vectors(dut, golden.to_vectors(params, [transaction]))
        # With digit planes a beat is one transfer per cycle it takes.
        assert stats["accepted"]["i"] == beats * (int(cycles) if params.planes else 1)
        first, last = stats["first_accept"]["i"], stats["last_emit"]["o"]
        full_precision = dut.performance["cycles_per_beat"]
        assert last - first == ((beats - 1) * cycles + dut.performance["latency_cycles"]
                                - (full_precision - cycles))


def test_bit_parallel_takes_one_beat_per_cycle():
    params, dut = build("parallel", CONFIGS[0])
    vectors = golden.vectors(params, 20, seed=3)
    stats = run_vectors(dut, vectors)
    beats = len(vectors["inputs"]["i"])
    elapsed = stats["last_emit"]["o"] - stats["first_accept"]["i"]
    assert elapsed == beats - 1 + dut.performance["latency_cycles"]


@pytest.mark.parametrize("weight_stream", ["codes", "planes"])
def test_bad_precision_flags_only_its_own_dot_product(weight_stream):
    params, dut = build("serial", CONFIGS[0], dict(digit="booth4", weight_stream=weight_stream))
    good = {"a": np.full((2, 4), 3), "w": np.full((2, 4), 5), "prec": np.array([4, 4]),
            "scale": np.array([2, 2]), "dtype": np.zeros(2, dtype=int)}
    bad = dict(good, prec=np.array([4, 7]))
    vectors = golden.to_vectors(params, [good, bad, good])
    assert [beat["err"] for beat in vectors["outputs"]["o"]] == [0, 1, 0]
    assert vectors["outputs"]["o"][1]["y"] == 0
    run_vectors(dut, vectors, valid_prob=0.5, ready_prob=0.5)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(lanes=0), ValueError, r"^lanes must be an integer between 1 and 64, not 0$"),
    (dict(lanes="8"), TypeError, r"^lanes must be an integer between 1 and 64, not '8'$"),
    (dict(act_bits=17), ValueError, r"^act_bits must be an integer between 2 and 16, not 17$"),
    (dict(act_signed=1), TypeError, r"^act_signed must be true or false, not 1$"),
    (dict(weight_bits=9), ValueError, r"^weight_bits must be an integer between 2 and 8, not 9$"),
    (dict(weight_format="bitmood"), ValueError,
     r"^weight_format must be one of 'int', 'uint', 'bitmod', not 'bitmood'; "
     r"did you mean 'bitmod'\?$"),
    (dict(weight_format="bitmod", weight_bits=5), ValueError,
     r"^weight_bits must be 3 or 4 for weight_format 'bitmod', not 5$"),
    (dict(lanes=8, group_size=12), ValueError,
     r"^group_size must be a multiple of lanes \(8\), not 12$"),
    (dict(group_size=0), ValueError, r"^group_size must be an integer between 1 and 65536, not 0$"),
    (dict(scale_bits=0), ValueError, r"^scale_bits must be an integer between 1 and 16, not 0$"),
    (dict(max_len=0), ValueError, r"^max_len must be an integer between 1 and 1048576, not 0$"),
    (dict(acc_bits=65), ValueError, r"^acc_bits must be an integer between 2 and 64, not 65$"),
    (dict(digit="booth8"), ValueError,
     r"^digit must be one of 'bit', 'booth4', not 'booth8'; did you mean 'booth4'\?$"),
    (dict(digits_per_cycle=0), ValueError,
     r"^digits_per_cycle must be an integer between 1 and 8, not 0$"),
    (dict(pipeline_tree="yes"), TypeError, r"^pipeline_tree must be true or false, not 'yes'$"),
    (dict(weight_stream="plane"), ValueError,
     r"^weight_stream must be one of 'codes', 'planes', not 'plane'; did you mean 'planes'\?$"),
    (dict(weight_format="bitmod", weight_stream="planes"), ValueError,
     r"^weight_stream must be 'codes' for weight_format 'bitmod', not 'planes'$"),
])
def test_parameter_rules(kwargs, error, message):
    with pytest.raises(error, match=message):
        BitSerialParams(**kwargs)
    yaml_message = "params." + message[1:].replace(" must", ": must", 1)
    with pytest.raises(ConfigError, match=yaml_message.replace("^", "")):
        from_mapping({"name": "x", "kind": "bitserial_dot", "params": kwargs})


def test_components_take_their_own_parameter_class():
    with pytest.raises(TypeError, match=r"^Params must be a BitSerialParams, not "):
        BitSerialDot(DotParams())
    with pytest.raises(TypeError, match=r"^Params must be a BitParallelParams, not \{\}$"):
        BitParallelDot({})
    with pytest.raises(TypeError, match=r"^Params must be a BitParallelParams, not DotParams"):
        BitParallelDot(DotParams())


def test_defaults_are_derived_and_documented():
    params = BitSerialParams(lanes=24)
    assert params.group_size == 144
    assert params.acc_bits == golden.exact_acc_bits(params)
    assert "digit" not in DotParams().to_dict()


def test_multiplier_choice_is_checked():
    with pytest.raises(ValueError, match=r"^multiplier must be one of 'array', 'booth', not "
                                         r"'wallace'$"):
        BitParallelParams(multiplier="wallace")
    with pytest.raises(ConfigError, match=r"params.multiplier: must be one of"):
        from_mapping({"name": "x", "kind": "bitparallel_dot",
                      "params": {"multiplier": "wallace"}})
