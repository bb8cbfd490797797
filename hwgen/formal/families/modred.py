"""modred ≡ its definition: ``r = x mod q`` (montgomery: ``r = x · R⁻¹ mod q``).

Computing ``x mod q`` in the proof would put a divider beside the design, which the solver
handles worst of all. The definition is used the other way round instead: the proof picks the
quotient and the remainder, ``x = k·q + r`` with ``r < q``, which reaches every ``x`` exactly
once and needs only constant multiplications. Montgomery's ``r`` satisfies ``r·R ≡ x``: the
proof also picks ``m`` and ``c`` with ``r·R = m·q + c``, ``c < q`` and feeds ``x = k·q + c``.
"""
from amaranth import Module, Signal, signed, unsigned
from amaranth.hdl import Assert, Assume
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In

from hwgen.formal.harness import CORE, assume_no_reset, probe_ports
from hwgen.formal.properties import stream_rules
from hwgen.golden import modred as golden

__all__ = ["SpecHarness", "expected"]


class SpecHarness(wiring.Component):
    """A :class:`~hwgen.cores.modred.ModReducer` checked against ``x = k·q + r``.

    Every input beat is built from a free choice (``spec`` stream); the harness follows one
    of them, chosen by the free input ``watch`` when it is accepted, to its output beat (the
    reducer answers in order) and asserts that the design's ``r`` is the chosen remainder.
    """

    def __init__(self, core):
        p = core.params
        self._core, self._q, self._n, self._in_bits = core, p.q, p.n, p.in_bits
        self._montgomery = p.plan.method == "montgomery"
        self._r_bits = p.plan.r_bits if self._montgomery else 0
        quotient = (signed(max(self._r_bits, self._in_bits - self._n + 1) + 2)
                    if self._montgomery else unsigned(self._in_bits - self._n + 1))
        fields = {"k": quotient, "r": unsigned(self._n), "tag": unsigned(p.tag_bits)}
        super().__init__({"spec": In(stream.Signature(data.StructLayout(fields))),
                          "watch": In(1), "take": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules[CORE] = core = self._core
        assume_no_reset(m)
        probe_ports(m, core)
        stream_rules(m, self.spec, check=Assume, name="spec")
        q, spec = self._q, self.spec.p
        width = len(spec.k) + max(self._n, self._r_bits) + 2
        x = Signal(signed(width))
        scaled = (spec.r << self._r_bits) if self._montgomery else spec.r
        m.d.comb += [
            x.eq(spec.k * q + scaled),
            Assume(~self.spec.valid | (spec.r < q)),
            Assume(~self.spec.valid | ((x >= 0) & (x < (1 << self._in_bits)))),
            core.i.valid.eq(self.spec.valid), self.spec.ready.eq(core.i.ready),
            core.i.p.x.eq(x[:self._in_bits]), core.i.p.tag.eq(spec.tag),
            core.o.ready.eq(self.take),
        ]

        # Beats in flight ahead of the watched one, counted down as they leave.
        accepted = core.i.valid & core.i.ready
        emitted = core.o.valid & core.o.ready
        in_flight = Signal(8)
        ahead = Signal(8)
        watching = Signal()
        remainder = Signal(self._n)
        m.d.sync += in_flight.eq(in_flight + accepted - emitted)
        m.d.comb += Assume(in_flight < 255)
        with m.If(accepted & self.watch & ~watching):
            m.d.sync += [watching.eq(1), remainder.eq(spec.r),
                         ahead.eq(in_flight - emitted)]
        with m.Elif(watching & emitted):
            m.d.sync += ahead.eq(ahead - 1)
            with m.If(ahead == 0):
                m.d.sync += watching.eq(0)
        m.d.comb += Assert(~(watching & emitted & (ahead == 0)) | (core.o.p.r == remainder),
                           "o: r differs from x mod q" if not self._montgomery
                           else "o: r differs from x · R⁻¹ mod q")
        return m


def expected(params, beats):
    """The output beats the design owes for the accepted input ``beats``."""
    plan = params.plan
    return [{"r": golden.expected(beat["x"], params.q, plan.method, plan.r_bits),
             "tag": beat["tag"]} for beat in beats]
