# amaranth: UnusedElaboratable=no
"""The stream checker enforces the handshake rules, in both simulators, not only beat values.

``Relay`` is a one-beat register stage. Its broken variants deliver every beat correctly on
the cycles where a handshake happens, so only the rules can catch them: one drops ``valid``
after a cycle of waiting (and raises it again), the other shows a different payload while
``ready`` is low.
"""
import dataclasses
import random

import pytest
from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen import registry
from hwgen.config import Design
from hwgen.flow import sim
from hwgen.flow.pysim import run_vectors
from hwgen.flow.traffic import Backpressure, StreamRules, TrafficError

LAYOUT = data.StructLayout({"x": 8})
FLAWS = ("none", "drops_valid", "changes_payload")


class Relay(wiring.Component):
    """Register stage: ``o`` repeats ``i`` one cycle later; ``flaw`` breaks the rules."""

    def __init__(self, flaw):
        self._flaw = flaw
        super().__init__({"i": In(stream.Signature(LAYOUT)), "o": Out(stream.Signature(LAYOUT))})

    @property
    def performance(self):
        return {"latency_cycles": 1, "cycles_per_beat": 1}

    def elaborate(self, platform):
        m = Module()
        full = Signal()
        held = Signal(LAYOUT)
        waited = Signal()
        m.d.comb += self.i.ready.eq(~full | self.o.ready)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += full.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [full.eq(1), held.eq(self.i.payload)]
        m.d.sync += waited.eq(self.o.valid & ~self.o.ready)
        m.d.comb += [self.o.valid.eq(full), self.o.payload.eq(held)]
        if self._flaw == "drops_valid":
            m.d.comb += self.o.valid.eq(full & ~waited)
            m.d.sync += waited.eq(full & ~self.o.ready & ~waited)
        elif self._flaw == "changes_payload":
            m.d.comb += self.o.payload.x.eq(Mux(self.o.ready, held.x, ~held.x))
        return m


@dataclasses.dataclass(frozen=True)
class RelayParams:
    flaw: str

    def to_dict(self):
        return {"flaw": self.flaw}


def relay_vectors(params, count, seed):
    rng = random.Random(seed)
    beats = [{"x": rng.randrange(256)} for _ in range(count)]
    return {"inputs": {"i": beats}, "outputs": {"o": beats}}


def relay_design(flaw):
    kind = registry.Kind(name="relay", description="register stage", params=RelayParams,
                         build=lambda params: Relay(params.flaw), vectors=relay_vectors)
    return Design(f"relay_{flaw}", kind, RelayParams(flaw))


RULE_BROKEN = {"drops_valid": "the design dropped valid",
               "changes_payload": "the design changed the payload"}


def test_a_correct_stage_passes_in_the_amaranth_simulator():
    run_vectors(Relay("none"), relay_vectors(None, 300, 1), valid_prob=0.7, ready_prob=0.5)


@pytest.mark.parametrize("flaw", RULE_BROKEN)
def test_a_broken_stage_fails_in_the_amaranth_simulator(flaw):
    with pytest.raises(TrafficError, match=RULE_BROKEN[flaw]):
        run_vectors(Relay(flaw), relay_vectors(None, 300, 1), valid_prob=0.7, ready_prob=0.5)


@pytest.mark.parametrize("flaw", RULE_BROKEN)
def test_a_broken_stage_delivers_right_beats_at_full_rate(flaw):
    # The flaws show only under backpressure: beat values alone never reveal them.
    run_vectors(Relay(flaw), relay_vectors(None, 50, 1))


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("traffic")


@pytest.mark.parametrize("flaw", RULE_BROKEN)
def test_a_broken_stage_fails_in_verilator(flaw, out_dir):
    with pytest.raises(sim.SimulationError, match=RULE_BROKEN[flaw]):
        sim.run(relay_design(flaw), out_dir, count=300)


def test_rules_check_a_driver_too():
    rules = StreamRules("i", "the testbench")
    rules.check(0, valid=1, ready=0, payload=5)
    rules.check(1, valid=1, ready=0, payload=5)
    with pytest.raises(TrafficError, match=r"stream 'i': the testbench changed the payload at "
                                           r"cycle 2 while the beat offered at cycle 0"):
        rules.check(2, valid=1, ready=1, payload=6)


def test_rules_allow_valid_to_drop_after_a_handshake():
    rules = StreamRules("o", "the design")
    for cycle, (valid, ready, payload) in enumerate([(1, 0, 3), (1, 1, 3), (0, 0, 9),
                                                     (1, 1, 4), (1, 0, 7), (1, 1, 7)]):
        rules.check(cycle, valid, ready, payload)


def test_backpressure_has_long_stalls_and_bursts():
    pattern = Backpressure(random.Random(3), 0.5)
    runs, previous, length = [], None, 0
    for _ in range(20000):
        value = pattern.next()
        if value == previous:
            length += 1
        else:
            runs.append((previous, length))
            previous, length = value, 1
    longest = {value: max(length for v, length in runs if v == value) for value in (False, True)}
    # Independent coin flips at 0.5 would give runs of about 14 at most in 20,000 cycles.
    assert longest[False] >= 40 and longest[True] >= 20
    assert Backpressure(random.Random(3), 1.0).next() is True
