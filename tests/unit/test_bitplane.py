# amaranth: UnusedElaboratable=no
"""The bit-plane LUT core in the Amaranth simulator, and its parameter rules."""
import numpy as np
import pytest

from hwgen.config import ConfigError, from_mapping
from hwgen.cores.bitplane import BitplaneCore, BitplaneParams
from hwgen.flow.pysim import run_vectors
from hwgen.flow.traffic import TrafficError
from hwgen.golden import bitplane as golden

INT_CONFIGS = [
    dict(mu=2, n_tables=2, lanes=2, weight_bits=3),
    dict(mu=3, n_tables=2, lanes=2, weight_bits=4, planes="parallel", weight_signed=False),
    dict(mu=1, n_tables=3, lanes=2, weight_bits=2, group_size=6,
         pipeline=dict(table=True, fetch=True, tree_every=1)),
    dict(mu=4, n_tables=1, lanes=1, weight_bits=1, act_bits=4, acc_bits=10),
    dict(mu=3, n_tables=3, lanes=1, weight_bits=2, planes="parallel", scale_bits=3,
         pipeline=dict(table=True, tree_every=2)),
]
FLOAT_CONFIGS = [
    dict(mu=2, n_tables=2, lanes=1, weight_bits=2, act_type="fp16", group_size=8),
    dict(mu=2, n_tables=1, lanes=1, weight_bits=3, planes="parallel", act_type="bf16",
         weight_signed=False, pipeline=dict(fetch=True)),
]


def ids(kwargs):
    return "-".join(map(str, kwargs.values()))


@pytest.mark.parametrize("kwargs", INT_CONFIGS, ids=ids)
def test_integer_core_matches_golden_under_backpressure(kwargs):
    p = BitplaneParams.from_mapping(kwargs)
    run_vectors(BitplaneCore(p), golden.vectors(p, 12, seed=5), valid_prob=0.6, ready_prob=0.5,
                seed=2)


@pytest.mark.parametrize("kwargs", FLOAT_CONFIGS, ids=ids)
def test_float_core_matches_golden_under_backpressure(kwargs):
    p = BitplaneParams.from_mapping(kwargs)
    run_vectors(BitplaneCore(p), golden.vectors(p, 3, seed=6), valid_prob=0.6, ready_prob=0.5,
                seed=3)


def test_a_wrong_expectation_is_caught():
    p = BitplaneParams(mu=2, n_tables=1, lanes=1, weight_bits=2)
    vectors = golden.to_vectors(p, golden.random_transactions(p, 3, seed=1))
    vectors["outputs"]["o"][1]["y"][0] += 2
    with pytest.raises(TrafficError):
        run_vectors(BitplaneCore(p), vectors)


@pytest.mark.parametrize("planes", ["serial", "parallel"])
def test_throughput_and_latency_are_as_declared(planes):
    p = BitplaneParams(mu=2, n_tables=2, lanes=2, weight_bits=3, planes=planes)
    core = BitplaneCore(p)
    transaction = {"a": np.ones((8, 4), dtype=int), "w": np.ones((8, 2, 4), dtype=int),
                   "prec": np.full(8, 3), "scale": np.ones((8, 2), dtype=int)}
    stats = run_vectors(core, golden.to_vectors(p, [transaction]))
    assert stats["last_accept"]["i"] - stats["first_accept"]["i"] == 7 * core.cycles()
    assert stats["last_emit"]["o"] - stats["last_accept"]["i"] == \
        core.performance["latency_cycles"]


PARAMETER_RULES = [
    (dict(weight_bits=5), ValueError, r"^weight_bits must be an integer between 1 and 4, not 5$"),
    (dict(planes="both"), ValueError, r"^planes must be one of 'serial', 'parallel', not 'both'$"),
    (dict(mu=6), ValueError, r"^mu must be an integer between 1 and 5, not 6$"),
    (dict(group_size=100), ValueError,
     r"^group_size must be a multiple of n_tables·mu \(16\), not 100$"),
    (dict(act_type="fp16", scale_bits=8), ValueError,
     r"^scale_bits must be 16 for act_type 'fp16', not 8$"),
    (dict(act_type="bf16", acc_bits=32), ValueError,
     r"^acc_bits must be 16 for act_type 'bf16', not 32$"),
    (dict(weight_signed="no"), TypeError, r"^weight_signed must be true or false, not 'no'$"),
]


@pytest.mark.parametrize("kwargs,error,message", PARAMETER_RULES,
                         ids=[message for _, _, message in PARAMETER_RULES])
def test_parameter_rules(kwargs, error, message):
    with pytest.raises(error, match=message):
        BitplaneParams(**kwargs)
    yaml_message = "params." + message[1:].replace(" must", ": must", 1)
    with pytest.raises(ConfigError, match=yaml_message):
        from_mapping({"name": "x", "kind": "lut_bitplane_dot", "params": kwargs})


def test_core_rejects_other_params():
    with pytest.raises(TypeError, match=r"^Params must be a BitplaneParams, not 3$"):
        BitplaneCore(3)


def test_defaults():
    p = BitplaneParams()
    assert (p.act_bits, p.scale_bits, p.group_size, p.macs_per_cycle) == (8, 8, 128, 16)
    assert p.acc_bits == golden.exact_acc_bits(4096, 8, 4, True, 8)
    assert BitplaneParams(act_type="fp16").scale_bits == 16
