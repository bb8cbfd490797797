"""Modular reducers (``modred``) and modular multipliers (``modmul``)."""
from types import SimpleNamespace

from amaranth import Cat, Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.modred.datapath import StepStage, horner_acc, lanes_layout, width
from hwgen.cores.modred.params import ModMulParams, ReductionParams

__all__ = ["input_layout", "output_layout", "operands_layout", "HornerUnit", "ModReducer",
           "Multiplier", "ModMul"]


def input_layout(in_bits, tag_bits):
    return data.StructLayout({"x": unsigned(in_bits), "tag": unsigned(tag_bits)})


def output_layout(n, tag_bits):
    return data.StructLayout({"r": unsigned(n), "tag": unsigned(tag_bits)})


def operands_layout(n, tag_bits):
    return data.StructLayout({"a": unsigned(n), "b": unsigned(n), "tag": unsigned(tag_bits)})


class HornerUnit(wiring.Component):
    """The iterative method: one shared table, one ``k``-bit group per cycle, MSB first.

    On acceptance the accumulator takes the top bits of ``x`` with the first group shifted
    in; each further cycle shifts in the next group and folds the bits above ``n`` through
    ``T[t] = (t · 2^n) mod q``. The result is congruent to ``x`` and below ``2^n + q``.

    Parameters
    ----------
    loop : :class:`hwgen.golden.modred.Horner`
        The plan's loop step (its table, ``k`` and the accumulator bound).
    count : int
        Groups per input (the initiation interval).
    in_bits, tag_bits : int

    Members
    -------
    i : ``In(stream.Signature(input_layout(in_bits, tag_bits)))``
    o : ``Out(stream.Signature(lanes_layout({"x": acc_bound}, tag_bits)))``

    Latency: ``count`` cycles. Throughput: one input per ``count`` cycles (the unit accepts
    the next input in the cycle its result leaves).
    """

    def __init__(self, loop, count, *, in_bits, tag_bits):
        self._loop = loop
        self._count = count
        self._in_bits = in_bits
        self._rest_bits = count * loop.k
        # The registers that carry a beat between cycles: attributes rather than locals of
        # elaborate() so that a proof can state invariants about them (see
        # hwgen.formal.families.modred).
        self.registers = SimpleNamespace(
            acc=Signal(width(loop.acc_bound), name="acc"),
            # Groups still to shift in, the next one on top.
            rest=Signal(max(self._rest_bits - loop.k, 1), name="rest"),
            remaining=Signal(range(count), name="remaining"),
            tag=Signal(tag_bits, name="tag"), busy=Signal(name="busy"))
        super().__init__({
            "i": In(stream.Signature(input_layout(in_bits, tag_bits))),
            "o": Out(stream.Signature(lanes_layout({"x": loop.acc_bound}, tag_bits))),
        })

    @property
    def count(self):
        return self._count

    def fold(self, m, x, acc, group):
        """The accumulator after group ``group`` (1 to ``count``, MSB first) of ``x`` is folded
        into ``acc``, the accumulator after the groups before it (for the first group, ignored:
        the top bits of ``x``). One cycle of the unit, added to ``m`` for proofs about its
        registers."""
        k, rest_bits = self._loop.k, self._rest_bits
        if group == 1:
            acc = x[rest_bits:]
        bits = x[rest_bits - group * k:rest_bits - (group - 1) * k]
        return horner_acc(m, Cat(bits, acc), self._loop, name=f"fold{group}")

    def rest(self, x, groups):
        """What the ``rest`` register holds once ``groups`` (1 to ``count − 1``) groups of
        ``x`` are folded in; ``None`` for a unit of one group, which leaves it unused."""
        k, rest_bits = self._loop.k, self._rest_bits
        if rest_bits <= k:
            return None
        return (x[:rest_bits - k] << (k * (groups - 1)))[:len(self.registers.rest)]

    def elaborate(self, platform):
        m = Module()
        loop, k = self._loop, self._loop.k
        rest_bits = self._rest_bits
        acc, rest, remaining = self.registers.acc, self.registers.rest, self.registers.remaining
        tag, busy = self.registers.tag, self.registers.busy
        done = Signal()
        m.d.comb += [done.eq(busy & (remaining == 0)),
                     self.o.valid.eq(done), self.o.p.x.eq(acc), self.o.p.tag.eq(tag),
                     self.i.ready.eq(~busy | (done & self.o.ready))]

        accept = self.i.valid & self.i.ready
        x = self.i.p.x
        # One folding circuit serves the first group (from the input) and the later ones.
        acc_in = Signal(len(acc))
        group = Signal(k)
        with m.If(accept):
            m.d.comb += [acc_in.eq(x[rest_bits:]), group.eq(x[rest_bits - k:rest_bits])]
        with m.Else():
            m.d.comb += [acc_in.eq(acc), group.eq(rest[-k:] if rest_bits > k else 0)]
        folded = horner_acc(m, Cat(group, acc_in), loop, name="acc_next")

        with m.If(accept):
            m.d.sync += [acc.eq(folded), remaining.eq(self._count - 1), busy.eq(1),
                         tag.eq(self.i.p.tag)]
            if rest_bits > k:
                m.d.sync += rest.eq(x[:rest_bits - k])
        with m.Elif(busy & (remaining != 0)):
            m.d.sync += [acc.eq(folded), remaining.eq(remaining - 1)]
            if rest_bits > k:
                m.d.sync += rest.eq(rest << k)
        with m.Elif(done & self.o.ready):
            m.d.sync += busy.eq(0)
        return m


class ModReducer(wiring.Component):
    """``r = x mod q`` (``montgomery``: ``r = x · R⁻¹ mod q``) for every ``x < 2^in_bits``.

    The datapath is the plan of :mod:`hwgen.golden.modred` for the chosen method, cut into
    pipeline stages (:class:`StepStage`); the iterative method puts its :class:`HornerUnit`
    in front.

    Parameters
    ----------
    params : :class:`ReducerParams` (or the reduction part of :class:`ModMulParams`)

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"x": unsigned(in_bits), "tag": unsigned(tag_bits)})))``
    o : ``Out(stream.Signature(StructLayout({"r": unsigned(n), "tag": unsigned(tag_bits)})))``
        ``r`` fully reduced to ``[0, q)``; ``tag`` passes through unchanged.

    Latency: ``stages`` cycles (plus one per group for ``iterative``), see :attr:`performance`.
    Throughput: one result per cycle; ``iterative``: one per ``⌈(in_bits − n)/k⌉`` cycles.
    """

    def __init__(self, params):
        if not isinstance(params, ReductionParams):
            raise TypeError(f"Params must be a ReducerParams, not {params!r}")
        self._p = params
        self._plan = plan = params.plan
        self._units = []
        if plan.loop:
            self._units.append(HornerUnit(plan.loop, plan.loop_count, in_bits=params.in_bits,
                                          tag_bits=params.tag_bits))
        start = 0
        for cut in params.cuts:
            self._units.append(StepStage(plan.steps[start:cut + 1], plan.bounds[start:cut + 2],
                                         tag_bits=params.tag_bits,
                                         storage=params.table_storage))
            start = cut + 1
        super().__init__({
            "i": In(stream.Signature(input_layout(params.in_bits, params.tag_bits))),
            "o": Out(stream.Signature(output_layout(params.n, params.tag_bits))),
        })

    @property
    def params(self):
        return self._p

    @property
    def units(self):
        """The units in stream order: the :class:`HornerUnit` (iterative method), then the
        :class:`StepStage` pipeline."""
        return tuple(self._units)

    @property
    def performance(self):
        plan, p = self._plan, self._p
        interval = plan.cycles_per_beat
        figures = {
            "q": plan.q,
            "q_hex": hex(plan.q),
            "method": plan.method,
            "latency_cycles": len(p.cuts) + plan.loop_count,
            "cycles_per_beat": interval,
            "initiation_interval": interval,
            "results_per_cycle": 1 / interval,
        }
        if plan.method == "montgomery":
            figures["montgomery_r_bits"] = plan.r_bits
            figures["montgomery_r"] = 1 << plan.r_bits
        return figures

    def elaborate(self, platform):
        m = Module()
        for index, unit in enumerate(self._units):
            m.submodules[f"unit{index}"] = unit
        wiring.connect(m, wiring.flipped(self.i), self._units[0].i)
        for before, after in zip(self._units, self._units[1:]):
            wiring.connect(m, before.o, after.i)
        wiring.connect(m, self._units[-1].o, wiring.flipped(self.o))
        return m


class Multiplier(wiring.Component):
    """``x = a · b``, registered.

    Members
    -------
    i : ``In(stream.Signature(operands_layout(n, tag_bits)))``
    o : ``Out(stream.Signature(input_layout(2n, tag_bits)))``

    Latency: 1 cycle. Throughput: one product per cycle while ``o`` is ready.
    """

    def __init__(self, n, tag_bits):
        super().__init__({
            "i": In(stream.Signature(operands_layout(n, tag_bits))),
            "o": Out(stream.Signature(input_layout(2 * n, tag_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.p.x.eq(self.i.p.a * self.i.p.b),
                         self.o.p.tag.eq(self.i.p.tag)]
        return m


class ModMul(wiring.Component):
    """``r = a · b mod q`` (``montgomery``: ``a · b · R⁻¹ mod q``): a :class:`Multiplier`
    streaming into a :class:`ModReducer` with ``in_bits = 2n``.

    Parameters
    ----------
    params : :class:`ModMulParams`

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"a": unsigned(n), "b": unsigned(n), "tag": …})))``
        Any operands below ``2^n`` (not only below ``q``).
    o : ``Out(stream.Signature(StructLayout({"r": unsigned(n), "tag": …})))``

    Latency: the reducer's plus 1 cycle. Throughput: the reducer's.
    """

    def __init__(self, params):
        if not isinstance(params, ModMulParams):
            raise TypeError(f"Params must be a ModMulParams, not {params!r}")
        self._p = params
        self._multiplier = Multiplier(params.n, params.tag_bits)
        self._reducer = ModReducer(params)
        super().__init__({
            "i": In(stream.Signature(operands_layout(params.n, params.tag_bits))),
            "o": Out(stream.Signature(output_layout(params.n, params.tag_bits))),
        })

    @property
    def params(self):
        return self._p

    @property
    def performance(self):
        figures = dict(self._reducer.performance)
        figures["latency_cycles"] += 1
        return figures

    def elaborate(self, platform):
        m = Module()
        m.submodules.multiplier = self._multiplier
        m.submodules.reducer = self._reducer
        wiring.connect(m, wiring.flipped(self.i), self._multiplier.i)
        wiring.connect(m, self._multiplier.o, self._reducer.i)
        wiring.connect(m, self._reducer.o, wiring.flipped(self.o))
        return m
