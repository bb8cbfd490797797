# amaranth: UnusedElaboratable=no
"""Modular reducers and multipliers in the Amaranth simulator, and their parameter rules."""
import json
import os
import re
import subprocess
import sys

import pytest
from amaranth import Shape
from amaranth.hdl import Fragment

from hwgen.golden import moduli
from hwgen.config import ConfigError, from_mapping
from hwgen.cores.modred import ModMul, ModMulParams, ModReducer, ReducerParams
from hwgen.cores.modred.datapath import StepStage
from hwgen.cost import modred as cost
from hwgen.flow.pysim import run_vectors
from hwgen.flow.verilog import emit, manifest
from hwgen.golden import modred as golden

REAL = [
    dict(modulus="kyber", method="lut"),
    dict(modulus="dilithium", method="lut", k=5, stages=3),
    dict(modulus="goldilocks", method="lut"),
    dict(modulus="bn254_r", method="lut"),
    dict(modulus="kyber", method="lut", table_storage="bram"),
    dict(modulus="kyber", method="iterative"),
    dict(modulus="babybear", method="iterative", k=3),
    dict(modulus="goldilocks", method="iterative", k=8),
    dict(modulus="kyber", method="hybrid"),
    dict(modulus="dilithium", method="hybrid", lut_groups=1, merge_level=0),
    dict(modulus="seal_2048_0", method="hybrid", table_storage="bram"),
    dict(modulus="dilithium", method="hybrid", table_storage="bram", lut_groups=0),
    dict(modulus="goldilocks", method="hybrid", table_storage="bram", lut_groups=2, k=8),
    dict(modulus="secp128r1_n", method="hybrid", lut_groups=24, k=3),
    dict(modulus="kyber", method="barrett"),
    dict(modulus="seal_4096_2", method="barrett", stages=2),
    dict(modulus="bls12_381_p", method="barrett"),
    dict(modulus="falcon", method="montgomery"),
    dict(modulus="goldilocks", method="montgomery", r_bits=64),
    dict(modulus="bn254_p", method="montgomery"),
    dict(modulus="mersenne31", method="special"),
    dict(modulus="goldilocks", method="special"),
    dict(modulus="secp256k1_p", method="special"),
    dict(modulus="curve25519_p", method="special", in_bits=300),
    dict(modulus="kyber", method="auto"),
]


def label(kwargs):
    return "-".join(str(value) for value in kwargs.values())


@pytest.mark.parametrize("kwargs", REAL, ids=label)
def test_real_moduli_match_golden_under_backpressure(kwargs):
    params = ReducerParams(**kwargs)
    run_vectors(ModReducer(params), golden.vectors(params, 12, seed=3), valid_prob=0.6,
                ready_prob=0.5, seed=9)


@pytest.mark.parametrize("kwargs", [
    dict(modulus=13, in_bits=8, method="lut", k=3), dict(modulus=13, in_bits=8, method="iterative"),
    dict(modulus=13, in_bits=8, method="hybrid", k=2, lut_groups=1),
    dict(modulus=13, in_bits=8, method="barrett"), dict(modulus=13, in_bits=8, method="montgomery"),
    dict(modulus=13, in_bits=8, method="special"),
    dict(modulus=1000, in_bits=12, method="lut", table_storage="bram", k=3),
    dict(modulus=1000, in_bits=12, method="hybrid", k=3, merge_level=0),
    dict(modulus=1000, in_bits=12, method="iterative", k=1),
    dict(modulus=1000, in_bits=10, method="barrett"),
], ids=label)
def test_small_moduli_are_exact_for_every_input(kwargs):
    params = ReducerParams(**kwargs)
    vectors = golden.vectors(params, 0, seed=1)
    assert len(vectors["inputs"]["i"]) == 1 << params.in_bits
    run_vectors(ModReducer(params), vectors, valid_prob=0.8, ready_prob=0.7, seed=2)


@pytest.mark.parametrize("kwargs", [
    dict(modulus="kyber", method="barrett"), dict(modulus="dilithium", method="lut"),
    dict(modulus="babybear", method="montgomery"), dict(modulus="goldilocks", method="special"),
    dict(modulus="falcon", method="iterative"), dict(modulus="kyber", method="hybrid"),
], ids=label)
def test_modmul_matches_golden_under_backpressure(kwargs):
    params = ModMulParams(**kwargs)
    run_vectors(ModMul(params), golden.modmul_vectors(params, 20, seed=4), valid_prob=0.6,
                ready_prob=0.5, seed=5)


def one_input(params):
    return {"inputs": {"i": [{"x": 12345 % (1 << params.in_bits), "tag": 7}]},
            "outputs": {"o": [{"r": golden.expected(12345 % (1 << params.in_bits), params.q,
                                                    params.resolved_method, params.r_bits),
                               "tag": 7}]}}


@pytest.mark.parametrize("method", golden.METHODS)
@pytest.mark.parametrize("stages", [None, 1])
def test_declared_latency_and_interval_are_the_measured_ones(method, stages):
    params = ReducerParams(modulus=13 if method == "special" else "kyber", method=method,
                           stages=stages)
    dut = ModReducer(params)
    stats = run_vectors(dut, one_input(params))
    assert stats["last_emit"]["o"] - stats["first_accept"]["i"] == \
        dut.performance["latency_cycles"]
    beats = 9
    vectors = golden.vectors(params, 0, seed=0)
    vectors = {"inputs": {"i": vectors["inputs"]["i"][:beats]},
               "outputs": {"o": vectors["outputs"]["o"][:beats]}}
    stats = run_vectors(dut, vectors)
    interval = dut.performance["initiation_interval"]
    assert interval == (3 if method == "iterative" else 1)
    assert stats["last_emit"]["o"] - stats["first_accept"]["i"] == \
        (beats - 1) * interval + dut.performance["latency_cycles"]


def test_modmul_adds_one_cycle_for_the_multiplier():
    params = ModMulParams(modulus="kyber", method="lut")
    dut = ModMul(params)
    vectors = {"inputs": {"i": [{"a": 3000, "b": 3001, "tag": 1}]},
               "outputs": {"o": [{"r": 3000 * 3001 % 3329, "tag": 1}]}}
    stats = run_vectors(dut, vectors)
    assert stats["last_emit"]["o"] - stats["first_accept"]["i"] == \
        dut.performance["latency_cycles"] == dut._reducer.performance["latency_cycles"] + 1


@pytest.mark.parametrize("kwargs", [dict(method="lut"), dict(method="hybrid", merge_level=0),
                                    dict(method="barrett"), dict(method="iterative")], ids=label)
def test_register_widths_are_the_golden_bounds(kwargs):
    params = ReducerParams(modulus="dilithium", **kwargs)
    dut = ModReducer(params)
    Fragment.get(dut, None)
    stages = [unit for unit in dut._units if isinstance(unit, StepStage)]
    assert len(stages) == params.stages
    for stage, cut in zip(stages, params.cuts):
        for name, bound in params.plan.bounds[cut + 1].items():
            assert Shape.cast(stage.o.p.shape()[name].shape).width == max(1, bound.bit_length())


def test_stages_spread_over_the_steps():
    params = ReducerParams(modulus="goldilocks", method="lut")
    steps = len(params.plan.steps)
    assert params.stages == steps and params.cuts == list(range(steps))
    for stages in range(1, steps + 1):
        cuts = ReducerParams(modulus="goldilocks", method="lut", stages=stages).cuts
        assert len(cuts) == stages and cuts[-1] == steps - 1


def test_bram_lookups_end_their_stage():
    params = ReducerParams(modulus="kyber", method="lut", table_storage="bram", stages=3)
    folds = [index for index, step in enumerate(params.plan.steps)
             if isinstance(step, golden.Fold)]
    assert set(folds) <= set(params.cuts)


def test_auto_picks_the_cheapest_by_the_cost_model():
    for name in ("kyber", "mersenne31", "goldilocks", "bn254_p"):
        params = ReducerParams(modulus=name)
        q, in_bits = params.q, params.in_bits
        scores = {}
        for method in cost.candidates(q, in_bits, "logic"):
            mapping = ReducerParams(modulus=name, method=method).to_dict()
            figures = cost.predict("modred", mapping)
            scores[method] = figures["generic.ge"] * figures["cycles_per_beat"]
        assert params.resolved_method == min(scores, key=scores.get)
        assert "montgomery" not in scores
    assert "special" not in cost.candidates(moduli.lookup("babybear"), 62, "logic")
    assert ReducerParams(modulus="kyber", table_storage="bram").resolved_method in (
        "lut", "hybrid")


def test_manifest_declares_method_latency_and_montgomery_r():
    design = from_mapping({"name": "m", "kind": "modred",
                           "params": {"modulus": "falcon", "method": "montgomery"}})
    component = design.build()
    Fragment.get(component, None)
    described = manifest(design, component)
    assert described["montgomery_r"] == 1 << described["montgomery_r_bits"] == 1 << 15
    assert described["method"] == "montgomery" and described["initiation_interval"] == 1
    assert described["streams"]["i"]["fields"]["x"]["width"] == 28
    assert described["streams"]["o"]["fields"]["r"]["width"] == 14
    assert described["params"]["in_bits"] == 28
    # A named modulus's value, so that a testbench can check results from the manifest alone.
    assert described["params"]["modulus"] == "falcon"
    assert described["q"] == 12289 and described["q_hex"] == "0x3001"


def test_cost_model_reads_manifest_params_without_the_hardware():
    for kind, cls in (("modred", ReducerParams), ("modmul", ModMulParams)):
        params = cls(modulus="dilithium", method="hybrid")
        assert cost.features(kind, params.to_dict())["table_bits"] > 0
    auto = ReducerParams(modulus="bn254_p").to_dict()
    assert cost.features("modred", auto) == cost.features(
        "modred", {**auto, "method": ReducerParams(modulus="bn254_p").resolved_method})


def test_modmul_ports():
    design = from_mapping({"name": "m", "kind": "modmul", "params": {"modulus": "goldilocks"}})
    component = design.build()
    Fragment.get(component, None)
    fields = manifest(design, component)["streams"]["i"]["fields"]
    assert [fields[name]["width"] for name in ("a", "b", "tag")] == [64, 64, 8]


MODULUS_RULE = ("must be an integer between 3 and 2^16384 or the name of a modulus in "
                "hwgen.golden.moduli")


@pytest.mark.parametrize("kind,kwargs,error,message", [
    ("modred", dict(modulus=3.5), TypeError, f"modulus {MODULUS_RULE}, not 3.5"),
    ("modred", dict(modulus=2), ValueError, f"modulus {MODULUS_RULE}, not 2"),
    ("modred", dict(modulus="goldilock"), ValueError,
     f"modulus {MODULUS_RULE}, not 'goldilock'; did you mean 'goldilocks'?"),
    ("modred", dict(modulus="kyber", in_bits=11), ValueError,
     "in_bits must be at least the modulus width (12 bits), not 11"),
    ("modred", dict(in_bits=1), ValueError,
     "in_bits must be an integer between 2 and 65536, not 1"),
    ("modred", dict(method="barret"), ValueError,
     "method must be one of 'auto', 'lut', 'iterative', 'hybrid', 'barrett', 'montgomery', "
     "'special', not 'barret'; did you mean 'barrett'?"),
    ("modred", dict(modulus=1000, method="montgomery"), ValueError,
     "modulus must be odd for method 'montgomery', not 1000"),
    ("modmul", dict(modulus=4096, method="montgomery"), ValueError,
     "modulus must be odd for method 'montgomery', not 4096"),
    ("modred", dict(modulus="babybear", method="special"), ValueError,
     "modulus must be 2^n − c with c small enough that 4 folds reduce 62-bit inputs below 3q "
     "for method 'special', not 2013265921"),
    ("modred", dict(method="barrett", table_storage="bram"), ValueError,
     "table_storage must be 'logic' for method 'barrett', not 'bram'"),
    ("modred", dict(table_storage="rom"), ValueError,
     "table_storage must be one of 'logic', 'bram', not 'rom'"),
    ("modred", dict(k=0), ValueError, "k must be an integer between 1 and 12, not 0"),
    ("modred", dict(modulus="kyber", method="hybrid", lut_groups=4), ValueError,
     "lut_groups must be at most 3 (the 4-bit groups above the modulus width), not 4"),
    ("modred", dict(lut_groups=-1), ValueError,
     "lut_groups must be an integer between 0 and 16384, not -1"),
    ("modred", dict(modulus="kyber", method="hybrid", lut_groups=3, merge_level=3), ValueError,
     "merge_level must be at most 2 (the levels of the adder tree over 3 tables), not 3"),
    ("modred", dict(merge_level=65), ValueError,
     "merge_level must be an integer between 0 and 64, not 65"),
    ("modred", dict(modulus="kyber", r_bits=11), ValueError,
     "r_bits must be at least the modulus width (12 bits), not 11"),
    ("modred", dict(r_bits=True), TypeError,
     "r_bits must be an integer between 2 and 65536, not True"),
    ("modred", dict(modulus="kyber", method="lut", stages=99), ValueError,
     "stages must be between 1 and 6 for this configuration, not 99"),
    ("modred", dict(modulus="kyber", method="lut", table_storage="bram", stages=1), ValueError,
     "stages must be between 3 and 6 for this configuration, not 1"),
    ("modred", dict(stages=0), ValueError, "stages must be an integer between 1 and 4096, not 0"),
    ("modred", dict(tag_bits=65537), ValueError,
     "tag_bits must be an integer between 1 and 65536, not 65537"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 8 else None)
def test_parameter_rules(kind, kwargs, error, message):
    cls = ModMulParams if kind == "modmul" else ReducerParams
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        cls(**kwargs)
    name, rule = message.split(" ", 1)
    with pytest.raises(ConfigError, match="^" + re.escape(f"params.{name}: {rule}") + "$"):
        from_mapping({"name": "x", "kind": kind, "params": kwargs})


def test_modmul_has_no_in_bits_and_components_check_their_params():
    with pytest.raises(ConfigError, match=r"^params\.in_bits: is not a parameter of kind "
                                          r"'modmul'"):
        from_mapping({"name": "x", "kind": "modmul", "params": {"in_bits": 8}})
    with pytest.raises(TypeError, match=r"^Params must be a ReducerParams, not \{\}$"):
        ModReducer({})
    with pytest.raises(TypeError, match=r"^Params must be a ModMulParams, not "):
        ModMul(ReducerParams())


def test_cost_features_count_only_table_bits_that_need_logic():
    def features(**kwargs):
        return cost.features("modred", ReducerParams(**kwargs).to_dict())

    # Mersenne tables hold rotations of the index: every output bit is an index bit or 0.
    mersenne = features(modulus="mersenne31", method="lut")
    assert mersenne["table_bits"] > 0 and mersenne["table_lut4"] == 0
    dense = features(modulus="bn254_p", method="lut")
    assert dense["table_lut4"] > 10000
    bram = features(modulus="kyber", method="lut", table_storage="bram")
    assert bram["bram_bits"] > 0 and bram["table_bits"] == 0
    iterative = features(modulus="bn254_p", method="iterative")
    assert iterative["table_bits"] < dense["table_bits"] / 10


def _register_bits(params):
    """Flop bits the hardware's pipeline stages declare: lanes, tag and valid."""
    dut = ModReducer(params)
    Fragment.get(dut, None)
    return sum(Shape.cast(unit.o.p.shape()).width + 1
               for unit in dut._units if isinstance(unit, StepStage))


def test_cost_flops_are_the_pipeline_registers_synthesis_keeps():
    # Dense tables added at once (the all-chain hybrid) and Barrett: every register bit is a
    # distinct, live net, so each is a flop (Yosys keeps 6,537 and 809 of them at 128 bits).
    for method, extra in (("hybrid", {"lut_groups": 0}), ("barrett", {})):
        params = ReducerParams(modulus="secp128r1_n", method=method, **extra)
        assert cost.features("modred", params.to_dict())["flops"] == _register_bits(params)
    # Mersenne tables are rotations of the index: their zero columns need no flop (Yosys
    # keeps 324 of the 568 register bits).
    params = ReducerParams(modulus="mersenne31", method="lut")
    assert cost.features("modred", params.to_dict())["flops"] == 324 < _register_bits(params)
    # Montgomery's low r_bits of x and of m·q are never read once x is carried along.
    params = ReducerParams(modulus="falcon", method="montgomery")
    assert cost.features("modred", params.to_dict())["flops"] < _register_bits(params)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["iterative", "barrett", "montgomery"])
def test_a_1024_bit_modulus(method):
    params = ReducerParams(modulus="modp1024", method=method)
    run_vectors(ModReducer(params), golden.vectors(params, 8, seed=6), valid_prob=0.7,
                ready_prob=0.7, seed=1)


def test_verilog_is_byte_identical_across_processes(tmp_path):
    config = {"name": "red", "kind": "modred", "params": {
        "modulus": "kyber", "method": "hybrid", "table_storage": "bram", "stages": 6}}
    (tmp_path / "red.yaml").write_text(json.dumps(config))
    # This process hashes strings with a random seed; the other one with seed 0.
    subprocess.run([sys.executable, "-m", "hwgen", "verilog", str(tmp_path / "red.yaml"),
                    "--out", str(tmp_path / "other")], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    here = emit(from_mapping(config), tmp_path / "here")
    assert here.verilog.read_bytes() == (tmp_path / "other" / "red" / "red.v").read_bytes()


def test_simulation_leaves_the_int_digit_limit_as_it_found_it():
    # The simulator lifts it to compile wide masks; config checks rely on it afterwards.
    before = sys.get_int_max_str_digits()
    params = ReducerParams(modulus=13, in_bits=8, method="lut", k=3)
    run_vectors(ModReducer(params), golden.vectors(params, 4, seed=1), seed=1)
    assert sys.get_int_max_str_digits() == before != 0
