"""The modular butterfly of the NTT tile, pipelined through a ``modmul`` multiplier."""
import dataclasses

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.modred import ModMul, ModMulParams

__all__ = ["Op", "add_mod", "sub_mod", "half_mod", "Butterfly"]


class Op(enum.Enum, shape=1):
    """What a :class:`Butterfly` computes; ``·`` is the multiplier's product."""
    COOLEY_TUKEY = 0      # x = a + w·b,     y = a − w·b
    GENTLEMAN_SANDE = 1   # x = (a + b) / 2, y = (a − b)·w  (halving: the inverse's scale)


def add_mod(a, b, q):
    """``(a + b) mod q`` for ``a, b < q``. The sign of ``a + b − q`` selects, so no separate
    comparator lengthens the path."""
    total = a + b
    reduced = total - q
    return Mux(reduced[-1], total, reduced)[:len(a)]


def sub_mod(a, b, q):
    """``(a − b) mod q`` for ``a, b < q``: the borrow of ``a − b`` gates the one bits of ``q``
    added back, so no select follows the two adders."""
    difference = a - b
    return (difference + (difference[-1].replicate(len(a)) & q))[:len(a)]


def half_mod(a, q):
    """``a / 2 mod q`` for ``a < q`` (q odd): ``(a + q) >> 1`` when ``a`` is odd, else
    ``a >> 1``; bit 0 gates ``q``, so no select follows the adder."""
    return ((a + (a[0].replicate(len(a)) & q)) >> 1)[:len(a)]


class Butterfly(wiring.Component):
    """One radix-2 butterfly per cycle over Z_q.

    The operands pass an input register, the :class:`~hwgen.cores.modred.ModMul` multiplier,
    and an output register. One modular adder/subtracter serves both directions: it forms the
    Gentleman-Sande sum and difference before the input register, or the Cooley-Tukey sum and
    difference before the output register. Which one is a register, the butterfly's
    direction: it takes ``i.p.op`` (whether or not ``i.valid`` is set) in every cycle the
    pipeline is empty, and holds it while butterflies are in flight. A butterfly of the other
    direction waits (``i.ready`` low) until those have left the multiplier and the direction
    has changed: a change of direction costs a drain of the pipeline, consecutive butterflies
    of one direction flow at full rate, and a caller that presents the next direction while
    the butterfly is empty loses no cycle. The operand that bypasses the multiplier, and
    ``side``, ride through the multiplier's pipeline in its tag (``modmul_params.tag_bits``
    is replaced by their width), so the multiplier alone sets the throughput. With ``method: montgomery`` the product is
    ``a·w·R⁻¹``: callers pass twiddles times ``R``.

    Parameters
    ----------
    modmul_params : :class:`~hwgen.cores.modred.ModMulParams`
    side_shape : shape
        Caller data carried alongside each butterfly, unchanged.

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"a", "b", "w": unsigned(n), "op": Op, "side": side_shape})))``
        ``a, b < q``; ``w`` any value below ``2^n``.
    o : ``Out(stream.Signature(StructLayout({"x", "y": unsigned(n), "side": side_shape})))``
        See :class:`Op`; results in ``[0, q)``.

    Latency: the multiplier's latency plus 2 cycles. Throughput: the multiplier's (one
    butterfly per cycle except for ``method: iterative``) while the direction stays; after a
    change, ``i.ready`` stays low until the last butterfly of the other direction has left
    the multiplier, and one cycle more (at most the latency).
    """

    def __init__(self, modmul_params, side_shape):
        if not isinstance(modmul_params, ModMulParams):
            raise TypeError(f"Modmul params must be a ModMulParams, not {modmul_params!r}")
        self._q = modmul_params.q
        bits = modmul_params.n
        self._bypass_layout = data.StructLayout({"u": unsigned(bits), "side": side_shape})
        # The operand that bypasses the multiplier rides in its tag, through its pipeline
        # registers: no FIFO (distributed RAM, pointers, read select) beside it. The method
        # stays the one resolved for the given parameters, whose derived values fit it.
        self._multiplier = ModMul(dataclasses.replace(
            modmul_params, method=modmul_params.resolved_method,
            tag_bits=self._bypass_layout.size))
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "a": unsigned(bits), "b": unsigned(bits), "w": unsigned(bits), "op": Op,
                "side": side_shape}))),
            "o": Out(stream.Signature(data.StructLayout({
                "x": unsigned(bits), "y": unsigned(bits), "side": side_shape}))),
        })

    @property
    def performance(self):
        figures = self._multiplier.performance
        return {**figures, "latency_cycles": figures["latency_cycles"] + 2}

    def elaborate(self, platform):
        m = Module()
        q = self._q
        m.submodules.multiplier = multiplier = self._multiplier
        staged = Signal.like(self.i.p)
        operand = Signal.like(self.i.p.a)
        bypassed = Signal.like(self.i.p.a)
        staged_valid = Signal()
        bypass_out = data.View(self._bypass_layout, multiplier.o.p.tag)
        # Butterflies in the multiplier (one per pipeline register at most).
        in_flight = Signal(range(self._multiplier.performance["latency_cycles"] + 1))

        # The direction of the butterflies in flight: the shared adder/subtracter works at the
        # input for Gentleman-Sande, at the output for Cooley-Tukey. It changes only when the
        # pipeline is empty, so the selects around the adder/subtracter hang on one flop.
        mode = Signal(Op)
        drained = ~staged_valid & (in_flight == 0)
        with m.If(drained):
            m.d.sync += mode.eq(self.i.p.op)
        a, b = self.i.p.a, self.i.p.b
        product, u = multiplier.o.p.r, bypass_out.u
        at_input = mode == Op.GENTLEMAN_SANDE
        total = add_mod(Mux(at_input, a, u), Mux(at_input, b, product), q)
        difference = sub_mod(Mux(at_input, a, u), Mux(at_input, b, product), q)

        # Input register: the multiplier's operand and the value that bypasses it.
        taken = multiplier.i.ready
        free = ~staged_valid | taken
        m.d.comb += self.i.ready.eq(free & (self.i.p.op == mode))
        with m.If(free):
            m.d.sync += staged_valid.eq(self.i.valid & self.i.ready)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += staged.eq(self.i.p)
            with m.If(at_input):
                m.d.sync += [operand.eq(difference), bypassed.eq(total)]
            with m.Else():
                m.d.sync += [operand.eq(b), bypassed.eq(a)]

        bypass_in = data.View(self._bypass_layout, multiplier.i.p.tag)
        m.d.comb += [
            multiplier.i.valid.eq(staged_valid),
            multiplier.i.p.a.eq(operand),
            multiplier.i.p.b.eq(staged.w),
            bypass_in.u.eq(bypassed),
            bypass_in.side.eq(staged.side),
        ]

        # Output register: the Cooley-Tukey sum and difference, or the halved bypassed sum
        # and the product.
        advance = Signal()
        m.d.comb += [
            advance.eq(~self.o.valid | self.o.ready),
            multiplier.o.ready.eq(advance),
        ]
        m.d.sync += in_flight.eq(in_flight + (staged_valid & taken)
                                 - (multiplier.o.valid & advance))
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(multiplier.o.valid),
                         self.o.p.side.eq(bypass_out.side)]
            with m.If(at_input):
                m.d.sync += [self.o.p.x.eq(half_mod(u, q)), self.o.p.y.eq(product)]
            with m.Else():
                m.d.sync += [self.o.p.x.eq(total), self.o.p.y.eq(difference)]
        return m
