"""The modular butterfly of the NTT tile, pipelined through a ``modmul`` multiplier."""
from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
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
    """``(a − b) mod q`` for ``a, b < q``, selected by the sign of ``a − b``."""
    difference = a - b
    return Mux(difference[-1], difference + q, difference)[:len(a)]


def half_mod(a, q):
    """``a / 2 mod q`` for ``a < q`` (q odd): ``a >> 1`` when ``a`` is even, else
    ``(a + q) >> 1``."""
    return Mux(a[0], (a + q) >> 1, a >> 1)[:len(a)]


class Butterfly(wiring.Component):
    """One radix-2 butterfly per cycle over Z_q.

    The operands pass an input register (where the Gentleman-Sande sum and difference are
    formed), the :class:`~hwgen.cores.modred.ModMul` multiplier, and an output register
    (where the Cooley-Tukey sum and difference are formed). Operands that bypass the
    multiplier wait in a FIFO as deep as the multiplier holds results, so the multiplier
    alone sets the throughput. With
    ``method: montgomery`` the product is ``a·w·R⁻¹``: callers pass twiddles times ``R``.

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
    butterfly per cycle except for ``method: iterative``).
    """

    def __init__(self, modmul_params, side_shape):
        if not isinstance(modmul_params, ModMulParams):
            raise TypeError(f"Modmul params must be a ModMulParams, not {modmul_params!r}")
        self._q = modmul_params.q
        self._multiplier = ModMul(modmul_params)
        bits = modmul_params.n
        self._bypass_layout = data.StructLayout({"u": unsigned(bits), "op": Op,
                                                 "side": side_shape})
        # Registered FIFO output: the read multiplexer stays out of the output adders' path.
        self._bypass = SyncFIFOBuffered(width=self._bypass_layout.size,
                                        depth=self._multiplier.performance["latency_cycles"] + 1)
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
        m.submodules.bypass = bypass = self._bypass

        # Input register: the multiplier's operand and the value that bypasses it.
        staged = Signal.like(self.i.p)
        operand = Signal.like(self.i.p.a)
        bypassed = Signal.like(self.i.p.a)
        staged_valid = Signal()
        taken = multiplier.i.ready & bypass.w_rdy
        m.d.comb += self.i.ready.eq(~staged_valid | taken)
        with m.If(self.i.ready):
            m.d.sync += staged_valid.eq(self.i.valid)
        a, b = self.i.p.a, self.i.p.b
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [staged.eq(self.i.p), bypassed.eq(a)]
            with m.If(self.i.p.op == Op.COOLEY_TUKEY):
                m.d.sync += operand.eq(b)
            with m.Else():
                m.d.sync += [operand.eq(sub_mod(a, b, q)), bypassed.eq(add_mod(a, b, q))]

        bypass_in = data.View(self._bypass_layout, bypass.w_data)
        m.d.comb += [
            multiplier.i.valid.eq(staged_valid & bypass.w_rdy),
            multiplier.i.p.a.eq(operand),
            multiplier.i.p.b.eq(staged.w),
            bypass.w_en.eq(staged_valid & taken),
            bypass_in.u.eq(bypassed),
            bypass_in.op.eq(staged.op),
            bypass_in.side.eq(staged.side),
        ]

        # Output register: the Cooley-Tukey sum and difference, or the halved bypassed sum
        # and the product.
        bypass_out = data.View(self._bypass_layout, bypass.r_data)
        product, u = multiplier.o.p.r, bypass_out.u
        advance = Signal()
        m.d.comb += [
            advance.eq(~self.o.valid | self.o.ready),
            multiplier.o.ready.eq(advance & bypass.r_rdy),
            bypass.r_en.eq(multiplier.o.valid & advance),
        ]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(multiplier.o.valid & bypass.r_rdy),
                         self.o.p.side.eq(bypass_out.side)]
            with m.If(bypass_out.op == Op.COOLEY_TUKEY):
                m.d.sync += [self.o.p.x.eq(add_mod(u, product, q)),
                             self.o.p.y.eq(sub_mod(u, product, q))]
            with m.Else():
                m.d.sync += [self.o.p.x.eq(half_mod(u, q)), self.o.p.y.eq(product)]
        return m
