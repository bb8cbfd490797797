# amaranth: UnusedElaboratable=no
"""hwgen prove on small configs: the proofs hold, broken cores get counterexamples that
fail in cocotb too. Each proof's time on a 2-core machine is in its comment; the default
selection took 1.9 minutes (1.8 minutes CPU, pytest -n 1), much of it the two Verilator
builds of the replays; every other designs/formal config runs under ``slow``."""
import dataclasses
import json

import pytest
from amaranth import Module, Signal
from amaranth.back import rtlil
from amaranth.lib import wiring

from hwgen import cli
from hwgen.config import Design, from_mapping, load
from hwgen.cores.modred import datapath
from hwgen.flow import verilog
from hwgen.flow.sim import SimulationError
from hwgen.formal import families, prove, replay, sby, trace
from hwgen.formal.harness import LockstepHarness, StreamHarness
from tests.conftest import ROOT

pytestmark = pytest.mark.formal


def _design(root, name):
    return load(root / "designs" / "formal" / f"{name}.yaml")


def _only(results):
    (result,) = results
    return result


def _formal_configs(root, default, without=()):
    """Every config in designs/formal but ``without``; those not in ``default`` run under
    ``slow``."""
    names = sorted(path.stem for path in (root / "designs" / "formal").glob("*.yaml")
                   if path.stem not in without)
    return [name if name in default else pytest.param(name, marks=pytest.mark.slow)
            for name in names]


@pytest.mark.parametrize("name", _formal_configs(ROOT, {"modred_kyber16_lut", "huffman_kv16"}))
def test_stream_rules_are_proved(tmp_path, name):
    # 6–10 s each: k-induction closes (llm_tile_tiny's does not: PDR proves it, 8 s CPU).
    result = _only(prove.prove(_design(ROOT, name), tmp_path, props=["stream"], depth=6))
    assert result.outcome.status == "proved", result.outcome.log[-2000:]


# The LLM tile answers command beats, not packets: it has no answer property.
@pytest.mark.parametrize("name", _formal_configs(
    ROOT, {"ternary_addsub_int4", "modred_kyber16_lut", "huffman_kv16"},
    without={"llm_tile_tiny"}))
def test_answers_within_latency(root, tmp_path, name):
    # PDR proves each for every run, 2–15 s CPU; the NTT's is bounded and takes minutes.
    result = _only(prove.prove(_design(root, name), tmp_path, props=["answer"]))
    if name != "ntt8_q17":
        assert result.outcome.status == "proved", result.outcome.log[-2000:]
        return
    assert result.outcome.status == "bounded", result.outcome.log[-2000:]
    manifest = json.loads(verilog.Emitted(tmp_path, name).manifest.read_text())
    assert result.outcome.depth == prove.default_depth(manifest, "answer")


def test_answer_bound_is_tight(root, tmp_path, monkeypatch):
    # A bound one cycle below the declared latency is broken (the property is not vacuous).
    design = _design(root, "modred_kyber16_lut")
    latency = 3  # the manifest's latency_cycles
    monkeypatch.setattr(prove, "StreamHarness",
                        lambda core, bound: StreamHarness(core, bound=bound and bound - 1))
    result = _only(prove.prove(design, tmp_path, props=["answer"]))
    assert result.outcome.status == "counterexample"
    assert result.outcome.failed == [f"o: no output beat within {latency - 1} ready cycles "
                                     f"of a complete input packet"]


def test_modred_equals_definition(root, tmp_path):
    # About 10 s: a lone beat for every x (bounded to its latency), and every beat of every
    # input sequence against the datapath on its own x (k-induction).
    beat, pipeline = prove.prove(_design(root, "modred_kyber16_lut"), tmp_path,
                                 props=["equivalence"])
    assert (beat.outcome.status, beat.outcome.depth, beat.what) == (
        "bounded", 4, "≡ x mod q (one beat, every x)")
    assert (pipeline.outcome.status, pipeline.what) == (
        "proved", "≡ the datapath on each beat's own x (every input sequence)")


def _prove_part(design, part, job_dir, *, bmc_depth=None):
    """The proof ``part`` of ``design``'s equivalence, as its job states it, or bounded model
    checking to ``bmc_depth`` steps."""
    found = next(job for job in families.equivalences(design) if job.part == part)
    depth = bmc_depth or found.induction or found.depth
    sby.write_job(job_dir, rtlil.convert(found.harness, name="harness", emit_src=False),
                  top="harness", mode="prove" if found.induction and not bmc_depth else "bmc",
                  depth=depth, engine=found.engine, timeout=300)
    return sby.run(job_dir, depth=depth, timeout=300)


@pytest.mark.parametrize("method", ["lut", "iterative", "hybrid", "barrett", "montgomery",
                                    "special"])
def test_modred_pipeline_is_proved_for_every_method(tmp_path, method):
    # 2–4 s CPU each, k-induction (k = 1); 20-bit x gives the Horner unit two groups.
    modulus = {"special": 8191}.get(method, 3329)
    design = from_mapping({"name": f"modred_{method}", "kind": "modred", "params": {
        "modulus": modulus, "in_bits": 20, "method": method, "tag_bits": 2}})
    outcome = _prove_part(design, "pipeline", tmp_path)
    assert outcome.status == "proved", outcome.log[-2000:]


def test_modred_pipeline_catches_a_lane_of_the_beat_before(tmp_path, monkeypatch):
    # A stage that hands on one lane of the beat before the one it registers.
    original = datapath.StepStage.datapath

    def late_lane(self, m, lanes, *, enable=None):
        values, registered = original(self, m, lanes, enable=enable)
        if enable is None:  # the proof's copy of the step, not the hardware
            return values, registered
        lane = next(iter(values))
        before = Signal(len(values[lane]))
        with m.If(enable & self.i.valid):
            m.d.sync += before.eq(values[lane])
        return {**values, lane: before}, registered

    monkeypatch.setattr(datapath.StepStage, "datapath", late_lane)
    outcome = _prove_part(_design(ROOT, "modred_kyber16_lut"), "pipeline", tmp_path,
                          bmc_depth=6)
    assert outcome.status == "counterexample", outcome.log[-2000:]
    assert outcome.failed


@pytest.mark.parametrize("part", ["engine", "reference_engine"])
def test_bitserial_engines_equal_the_beat_sum_definition(root, tmp_path, part):
    # Each engine against the definition of a beat sum by k-induction (k = 2), for every
    # input sequence: about 1 s CPU each at 2 lanes of int2 weights.
    outcome = _prove_part(_design(root, "bitserial_dot2"), part, tmp_path / part)
    assert outcome.status == "proved", outcome.log[-2000:]


def test_broken_bitserial_engine_is_not_proved(root, tmp_path, monkeypatch):
    # A Horner fold by the wrong shift breaks the definition on the first beat sum.
    from hwgen.cores.bitserial.dot import BitSerialEngine
    monkeypatch.setattr(BitSerialEngine, "_slice_bits", lambda self: 2)
    found = next(job for job in families.equivalences(_design(root, "bitserial_dot2"))
                 if job.part == "engine")
    sby.write_job(tmp_path, rtlil.convert(found.harness, name="harness", emit_src=False),
                  top="harness", mode="bmc", depth=6, engine=found.engine, timeout=300)
    outcome = sby.run(tmp_path, depth=6, timeout=300)
    assert outcome.status == "counterexample", outcome.log[-2000:]


def test_ternary_lut_equals_addsub(root, tmp_path):
    result = _only(prove.prove(_design(root, "ternary_lut_int4"), tmp_path,
                               props=["equivalence"], depth=4))
    assert (result.outcome.status, result.what) == ("bounded", "≡ ternary_addsub")


@pytest.mark.parametrize("name", ["modred_kyber16_lut", "bitserial_dot2", "bitparallel_dot2",
                                  "ternary_lut_int4", "ternary_mac_int4"])
def test_replay_expectations_match_the_golden_vectors(root, name):
    # What a replay expects from accepted input beats is what the golden vectors say.
    design = _design(root, name)
    vectors = design.kind.vectors(design.params, 20, 5)
    assert families.expected(design, vectors["inputs"]["i"]) == vectors["outputs"]


def test_lockstep_rejects_different_designs(root):
    a = _design(root, "ternary_lut_int4").build()
    b = _design(root, "modred_kyber16_lut").build()
    with pytest.raises(ValueError, match="Lockstep designs must have the same signature"):
        LockstepHarness(a, b)


def _broken(design, wrap):
    kind = dataclasses.replace(design.kind, build=lambda params: wrap(design.kind.build(params)))
    return Design(name=f"broken_{design.name}", kind=kind, params=design.params)


def test_wrong_table_entry_is_caught_and_replays(root, tmp_path, monkeypatch):
    original = datapath.table

    def one_entry_off(m, index, entries, **kwargs):
        entries = list(entries)
        entries[3] += 1
        return original(m, index, entries, **kwargs)

    monkeypatch.setattr(datapath, "table", one_entry_off)
    design = _design(root, "modred_kyber16_lut")
    design = Design(name="broken_modred", kind=design.kind, params=design.params)
    # The pipeline proof compares the hardware with the same (wrong) table: it holds.
    result, pipeline = prove.prove(design, tmp_path, props=["equivalence"])
    assert pipeline.outcome.status == "proved"
    assert result.outcome.status == "counterexample"
    assert result.outcome.failed == ["o: r differs from x mod q"]
    assert result.outcome.trace.exists()
    document = json.loads(result.replay.read_text())
    assert document["expected"]["o"], "the replay lists the beats the golden model owes"
    with pytest.raises(SimulationError, match="the golden model says"):
        replay.run(verilog.Emitted(tmp_path, design.name), result.replay)


class DropsValidWhenStalled(wiring.Component):
    """A design that withdraws its output beat after one stalled cycle."""

    def __init__(self, core):
        self._core = core
        super().__init__(dict(core.signature.members))

    @property
    def performance(self):
        return self._core.performance

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._core
        wiring.connect(m, wiring.flipped(self.i), inner.i)
        stalled = Signal()
        m.d.sync += stalled.eq(self.o.valid & ~self.o.ready)
        m.d.comb += [self.o.payload.eq(inner.o.payload), inner.o.ready.eq(self.o.ready),
                     self.o.valid.eq(inner.o.valid & ~stalled)]
        return m


def test_dropped_valid_is_caught_and_replays(root, tmp_path):
    design = _broken(_design(root, "huffman_kv16"), DropsValidWhenStalled)
    result = _only(prove.prove(design, tmp_path, props=["stream"]))
    assert result.outcome.status == "counterexample"
    assert result.outcome.failed == ["o: valid dropped before the beat was taken"]
    with pytest.raises(SimulationError, match="the design dropped valid"):
        replay.run(verilog.Emitted(tmp_path, design.name), result.replay)


def test_trace_reads_design_ports(tmp_path):
    vcd = tmp_path / "t.vcd"
    vcd.write_text("$scope module harness $end\n$var wire 1 n0 dut__i__valid $end\n"
                   "$var wire 4 n1 dut__i__payload $end\n$var wire 1 n2 other $end\n"
                   "$upscope $end\n$enddefinitions $end\n#0\nb1 n0\nb0101 n1\nb1 n2\n#5\n"
                   "#10\nb0 n0\nbx n1\n#15\n#20\n")
    assert trace.read(vcd) == [{"i__valid": 1, "i__payload": 5}, {"i__valid": 0,
                                "i__payload": None}, {"i__valid": 0, "i__payload": None}]


@pytest.mark.parametrize("lines, depth", [
    # smtbmc names the step it is checking, which is not established yet.
    (["SBY 1:00:00 [proof] engine_0: ##   0:00:05  Checking assertions in step 6..."], 6),
    # bmc3 prints a frame once it holds: frames 0..6 are seven steps.
    (["SBY 1:00:00 [proof] engine_0: 5 + : Var =  3351. Cla =  13066. Conf = 7.  0.1 sec",
      "SBY 1:00:00 [proof] engine_0: 6 + : Var =  4074. Cla =  15990. Conf = 9.  0.2 sec"], 7),
])
def test_a_run_out_of_time_reports_the_steps_established(tmp_path, lines, depth):
    log = "\n".join([*lines, "SBY 1:00:00 [proof] DONE (TIMEOUT, rc=8)"])
    outcome = sby._outcome(log, tmp_path, depth=10, seconds=1.0)
    assert (outcome.status, outcome.depth) == ("timeout", depth)


def test_cli_prove_rejects_bad_depth(root, capsys):
    config = root / "designs" / "formal" / "modred_kyber16_lut.yaml"
    assert cli.main(["prove", str(config), "--depth", "0"]) == 2
    assert "--depth must be a positive number of steps, not 0" in capsys.readouterr().err


def test_cli_prove_reports(root, tmp_path, capsys):
    config = root / "designs" / "formal" / "ternary_addsub_int4.yaml"
    assert cli.main(["prove", str(config), "--out", str(tmp_path), "--depth", "4"]) == 0
    out = capsys.readouterr().out
    assert "| ternary_addsub_int4 | stream: stream rules | proved (k-induction) | yices |" in out
    assert "| ternary_addsub_int4 | answer: packets answered within 1 cycles | proved (PDR) " \
           "| pdr |" in out
    assert "| ternary_addsub_int4 | equivalence:" not in out


STREAMS = {"streams": {
    "i": {"dir": "in", "payload_width": 4, "fields": {"x": {"lsb": 0, "width": 4, "signed": False}}},
    "o": {"dir": "out", "payload_width": 4, "fields": {"r": {"lsb": 0, "width": 4, "signed": False}}},
}}


def _cycle(i_valid=0, i_ready=1, o_valid=0, o_ready=1, payload=0):
    return {"i__valid": i_valid, "i__ready": i_ready, "i__payload": payload,
            "o__valid": o_valid, "o__ready": o_ready, "o__payload": payload}


def test_replay_checker_applies_the_answer_bound():
    from hwgen.testbenches.replay_tb import Checker
    checker = Checker(STREAMS, None, bound=2)
    checker.observe(_cycle(i_valid=1))
    checker.observe(_cycle())
    checker.observe(_cycle())
    with pytest.raises(AssertionError, match="no output beat within 2 ready cycles"):
        checker.observe(_cycle())


def test_replay_checker_rejects_unrequested_beats_and_wrong_values():
    from hwgen.testbenches.replay_tb import Checker
    with pytest.raises(AssertionError, match="output beat without an input packet"):
        Checker(STREAMS, None, bound=2).observe(_cycle(o_valid=1))
    checker = Checker(STREAMS, {"o": [{"r": 5}]}, bound=None)
    checker.observe(_cycle(i_valid=1, payload=3))
    with pytest.raises(AssertionError, match=r"beat 0 is \{'r': 3\}, the golden model says"):
        checker.observe(_cycle(o_valid=1, payload=3))


def test_cli_prove_with_boolector_and_a_relative_out_dir(root, tmp_path, monkeypatch, capsys):
    # sby starts the solver from its own working directory: the solver's shim must not be
    # found through a relative path.
    monkeypatch.chdir(tmp_path)
    config = root / "designs" / "formal" / "ternary_addsub_int4.yaml"
    assert cli.main(["prove", str(config), "--prop", "answer", "--engine", "boolector",
                     "--depth", "3"]) == 0
    assert "| bounded to depth 3 | boolector |" in capsys.readouterr().out


def test_value_weight_mac_has_no_add_sub_equivalence(root):
    # A full-width multiplier baseline takes weights as values, which no add/sub core accepts.
    design = load(root / "designs" / "ternary_mac_fp16_full.yaml")
    assert families.equivalences(design) == []
