"""modred ≡ its definition: ``r = x mod q`` (montgomery: ``r = x · R⁻¹ mod q``), for every
input sequence, as two proofs whose conjunction is the claim.

* :class:`SpecHarness` (bounded, as deep as one beat takes): the design answers a lone beat
  with its definition, for every ``x``. Computing ``x mod q`` in the proof would put a
  divider beside the design, which the solver handles worst of all, so the definition is
  used the other way round: the proof picks the quotient and the remainder, ``x = k·q + r``
  with ``r < q``, which reaches every ``x`` exactly once and needs only constant
  multiplications (montgomery: ``x = r·R + k·q``, ``k`` signed, which reaches every ``x``
  with ``x ≡ r·R``).
* :class:`PipelineHarness` (unbounded, k-induction): on every input sequence, stalls
  included, every output beat is what the datapath computes for the ``x`` of the input beat
  it answers. The solver never does modular arithmetic here: it only follows beats through
  the registers.

So every output beat is the definition's answer for its own input beat. Checking the whole
pipeline against the definition by bounded model checking instead puts a full-width
reduction into every step of the proof; at the listed full input widths that ran out of time
after one to three beats.
"""
from amaranth import Module, Signal, signed, unsigned
from amaranth.hdl import Assert, Assume
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from hwgen.cores.modred.reducer import HornerUnit
from hwgen.formal.harness import CORE, DesignHarness, assume_no_reset, probe_ports
from hwgen.golden import modred as golden

__all__ = ["SpecHarness", "PipelineHarness", "expected"]


class SpecHarness(wiring.Component):
    """A :class:`~hwgen.cores.modred.ModReducer` answering one beat, checked against
    ``x = k·q + r``.

    The beat is built from the free input ``spec`` and offered in the first cycle, the only
    one; the output is always ready. The harness asserts that the answer leaves after the
    declared latency with the chosen remainder and the beat's tag. Bounded model checking to
    ``depth`` steps covers every ``x``.
    """

    def __init__(self, core):
        p = core.params
        self._core, self._q, self._n, self._in_bits = core, p.q, p.n, p.in_bits
        self._latency = core.performance["latency_cycles"]
        self._montgomery = p.plan.method == "montgomery"
        self._r_bits = p.plan.r_bits if self._montgomery else 0
        quotient = (signed(max(self._r_bits, self._in_bits - self._n + 1) + 2)
                    if self._montgomery else unsigned(self._in_bits - self._n + 1))
        fields = {"k": quotient, "r": unsigned(self._n), "tag": unsigned(p.tag_bits)}
        super().__init__({"spec": In(data.StructLayout(fields))})

    @property
    def depth(self):
        """Steps from the beat's acceptance to its answer, inclusive."""
        return self._latency + 1

    def elaborate(self, platform):
        m = Module()
        m.submodules[CORE] = core = self._core
        assume_no_reset(m)
        probe_ports(m, core)
        q, spec = self._q, self.spec
        width = len(spec.k) + max(self._n, self._r_bits) + 2
        x = Signal(signed(width))
        scaled = (spec.r << self._r_bits) if self._montgomery else spec.r
        cycle = Signal(range(self._latency + 2))
        with m.If(cycle <= self._latency):
            m.d.sync += cycle.eq(cycle + 1)
        m.d.comb += [
            x.eq(spec.k * q + scaled),
            Assume(spec.r < q),
            Assume((x >= 0) & (x < (1 << self._in_bits))),
            core.i.valid.eq(cycle == 0),
            core.i.p.x.eq(x[:self._in_bits]), core.i.p.tag.eq(spec.tag),
            core.o.ready.eq(1),
        ]
        remainder = Signal(self._n)
        tag = Signal.like(spec.tag)
        with m.If(cycle == 0):
            m.d.sync += [remainder.eq(spec.r), tag.eq(spec.tag)]
        answer = core.o.valid & (cycle == self._latency)
        m.d.comb += [
            Assert(~(core.o.valid & (cycle != self._latency)),
                   f"o: an output beat in another cycle than {self._latency} after the beat"),
            Assert(core.o.valid | (cycle != self._latency),
                   f"o: no answer {self._latency} cycles after the beat"),
            Assert(~answer | (core.o.p.r == remainder),
                   "o: r differs from x mod q" if not self._montgomery
                   else "o: r differs from x · R⁻¹ mod q"),
            Assert(~answer | (core.o.p.tag == tag), "o: tag differs from the beat's"),
        ]
        return m


class PipelineHarness(DesignHarness):
    """Every output beat of a :class:`~hwgen.cores.modred.ModReducer` is its datapath's
    result for the input beat it answers, on every input sequence.

    Ghost registers follow each beat through the units, moving when the unit's own registers
    do, and carry its history: its ``x`` and every value the units before have registered
    for it (and the :class:`HornerUnit`'s accumulator after each group). Asserted, for every
    unit holding a beat: each value of the history is the datapath's step applied to the
    values before it, the unit's registers are its step applied to the history (for the
    Horner unit, after as many groups as it has folded), and its tag is the beat's. The last
    unit's beat is the output, so its lanes are the whole datapath applied to ``x``.

    Each assertion applies one step to ghost values which, one cycle earlier, were the very
    registers that step's hardware read: the solver only matches copies of one step's logic
    fed equal values, never reasons about the arithmetic, and the assertions together are
    1-inductive (k-induction proves them for every input sequence).

    Block-RAM tables (a registered read inside a step) are not covered (:meth:`covers`).
    """

    @staticmethod
    def covers(params):
        return params.table_storage == "logic"

    def __init__(self, core):
        if not self.covers(core.params):
            raise ValueError(f"Reducer must have its tables in logic, not "
                             f"{core.params.table_storage!r}")
        super().__init__(core)

    def check(self, m, core):
        # A beat's history on its way into the next unit, as lane dicts (the first: x), the
        # definition of every value after the first, and the beat's tag.
        history, definitions, tag = [{"x": core.i.p.x}], [], core.i.p.tag
        for index, unit in enumerate(core.units):
            name = f"unit{index}"
            ghost = [{lane: Signal(len(value), name=f"{name}_history{position}_{lane}")
                      for lane, value in lanes.items()} for position, lanes in enumerate(history)]
            ghost_tag = Signal(len(tag), name=f"{name}_tag")
            if isinstance(unit, HornerUnit):
                holds, moves = unit.registers.busy, unit.i.valid & unit.i.ready
                own_tag = unit.registers.tag
            else:
                holds, moves = unit.o.valid, ~unit.o.valid | unit.o.ready
                own_tag = unit.o.p.tag
            with m.If(moves):
                m.d.sync += [ghost_tag.eq(tag), *(
                    ghost_lanes[lane].eq(value) for lanes, ghost_lanes in zip(history, ghost)
                    for lane, value in lanes.items())]
            for position, define in enumerate(definitions, start=1):
                _equal(m, holds, ghost[position], define(m, ghost[:position]),
                       f"{name}: the history of its beat is not the datapath's")
            m.d.comb += Assert(~holds | (own_tag == ghost_tag), f"{name}: tag differs from "
                                                                f"its beat's")
            if isinstance(unit, HornerUnit):
                steps, registered = self._horner(m, unit, ghost)
            else:
                steps = [lambda m, history, unit=unit: unit.datapath(m, history[-1])[0]]
                registered = [{lane: unit.o.p[lane] for lane in unit.o.p.shape().members
                               if lane != "tag"}]
                _equal(m, holds, registered[0], steps[0](m, ghost),
                       f"{name}: its registers are not its steps on its beat's history")
            history, tag = ghost + registered, ghost_tag
            definitions += steps

    def _horner(self, m, unit, ghost):
        """The Horner unit's assertions; returns the definitions of the values it adds to a
        beat's history (its accumulator after each group) and those values: ghosts of the
        accumulator after each group but the last, then the output register."""
        registers, count = unit.registers, unit.count
        busy, remaining = registers.busy, registers.remaining
        x = ghost[0]["x"]
        done = Signal(range(count + 1), name="horner_groups_done")
        m.d.comb += [done.eq(count - remaining),
                     Assert(~busy | (remaining < count),
                            "Horner unit: more groups remaining than a beat has")]
        partial = [Signal(len(registers.acc), name=f"horner_acc{group}")
                   for group in range(1, count)]
        with m.If(busy & (remaining != 0)):
            with m.Switch(done):
                for group, value in enumerate(partial, start=1):
                    with m.Case(group):
                        m.d.sync += value.eq(registers.acc)
        steps = [lambda m, history, group=group: {"x": unit.fold(
                     m, history[0]["x"], history[-1]["x"], group)}
                 for group in range(1, count + 1)]
        accumulators = [{"x": value} for value in partial] + [{"x": registers.acc}]
        for group, define in enumerate(steps, start=1):
            value = Signal(len(registers.acc), name=f"horner_want{group}")
            m.d.comb += [
                value.eq(define(m, ghost + accumulators[:group - 1])["x"]),
                Assert(~(busy & (done == group)) | (registers.acc == value),
                       f"Horner unit: accumulator after group {group} differs"),
            ]
            if group == count:
                continue
            # Once the unit is past a group, its ghost holds that group's accumulator.
            m.d.comb += Assert(~(busy & (done > group)) | (partial[group - 1] == value),
                               f"Horner unit: history after group {group} differs")
            rest = unit.rest(x, group)
            if rest is not None:
                m.d.comb += Assert(~(busy & (done == group)) | (registers.rest == rest),
                                   f"Horner unit: groups left after group {group} differ")
        return steps, accumulators[:-1] + [{"x": unit.o.p.x}]


def _equal(m, when, values, wanted, message):
    for lane, value in values.items():
        want = Signal(len(value), name=f"want_{lane}")
        m.d.comb += [want.eq(wanted[lane]), Assert(~when | (value == want), message)]


def expected(params, beats):
    """The output beats the design owes for the accepted input ``beats``."""
    plan = params.plan
    return [{"r": golden.expected(beat["x"], params.q, plan.method, plan.r_bits),
             "tag": beat["tag"]} for beat in beats]
