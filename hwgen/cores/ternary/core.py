"""Ternary matrix-vector cores: the LUT core and its two baselines.

All three take the same streams and compute the same dot products (for floats, in the
order :mod:`hwgen.golden.ternary` states for each). They differ in what every lane shares and
how a lane turns its weights into terms of its reduction tree:

* :class:`TernaryLutCore`: one half table per group of µ activations, shared by every lane;
  a lane fetches one signed entry per group (L terms);
* :class:`TernaryAddSubCore`: lanes share the activations; every weight selects ``+a``,
  ``−a`` or 0 (L·µ terms);
* :class:`TernaryMacCore`: lanes share the activations; every weight is multiplied with its
  activation on a multiplier (L·µ terms), the weight a 2-bit code or, in a value format, a
  full-width operand.

Every lane is a :class:`Lane` submodule of its own, identical to the others, so hierarchical
synthesis (:mod:`hwgen.flow.hierarchy`) synthesizes one lane (and one half table) and counts
it per instance: a 1,024-MAC core costs the synthesis time of a lane.
"""
import math

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.common.pipeline import Stages
from hwgen.cores.ternary.decode import WeightConverter
from hwgen.cores.ternary.layout import activation_shape, input_layout, lane_weight_layout, \
    output_layout, result_shape
from hwgen.cores.ternary.numbers import numbers_for
from hwgen.cores.ternary.params import AddSubParams, LutParams, MacParams
from hwgen.cores.ternary.table import HalfTable, entry_shapes, fetch, table_layout

__all__ = ["TernaryLutCore", "TernaryAddSubCore", "TernaryMacCore", "Lane", "reduce_tree"]


def reduce_tree(m, numbers, terms, every, register, name="tree"):
    """The terms summed pairwise, (0, 1), (2, 3), …, level by level, in ``numbers``; after
    every ``every`` levels (0: never) the partial sums pass through ``register(values, name)``
    (a pipeline stage, e.g. :meth:`~hwgen.cores.common.pipeline.Stages.register`)."""
    level = 0
    while len(terms) > 1:
        level += 1
        terms = [numbers.add(m, terms[index], terms[index + 1], f"{name}{level}_{index // 2}")
                 for index in range(0, len(terms) - 1, 2)] + (
            [terms[-1]] if len(terms) % 2 else [])
        if every and level % every == 0:
            terms = register(terms, f"{name}{level}")
    return terms[0]


class Lane(wiring.Component):
    """One output lane of a ternary core: terms, reduction tree, accumulator, result.

    Parameters
    ----------
    core : the ternary core the lane belongs to; it says what the lane shares with the other
        lanes (``core.shared_layout()``) and how the lane makes its terms
        (``core.lane_terms(m, shared, codes)``).

    Members
    -------
    shared : ``In(core.shared_layout())``
        What every lane receives alike: the half tables, or the activations.
    codes : ``In(lane_weight_layout(params, core.WEIGHTS))``
        This lane's weights of the beat.
    advance : ``In(1)``
        Every pipeline register of the lane loads (the core's output can move).
    accept, first, last, invalid : ``In(1)``
        At the end of the lane's pipeline: a beat is accepted into the accumulator, it is the
        first / last beat of its dot product, one of this lane's codes in it was invalid.
    y, err : ``Out(result_shape(params))``, ``Out(1)``
        The result of the last dot product and its error flag (registers).

    Latency: ``fetch + ⌊tree_levels / tree_every⌋`` cycles from ``codes`` to ``accept``; the
    result registers load on the accepted ``last`` beat.
    """

    def __init__(self, core):
        self._core = core
        p = core.params
        super().__init__({
            "shared": In(core.shared_layout()),
            "codes": In(lane_weight_layout(p, core.weights_format())),
            "advance": In(1),
            "accept": In(1),
            "first": In(1),
            "last": In(1),
            "invalid": In(1),
            "y": Out(result_shape(p)),
            "err": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        core = self._core
        p = core.params
        stages = Stages(m, self.advance, {})
        terms = core.lane_terms(m, self.shared, [self.codes[index]
                                                 for index in range(len(self.codes))])
        if p.pipeline.fetch:
            terms = stages.register(terms, "terms")
        beat_sum = self._reduce(m, stages, terms)
        assert stages.count == core.lane_registers()
        self._accumulate(m, beat_sum)
        return m

    def _reduce(self, m, stages, terms):
        return reduce_tree(m, self._core.numbers, terms, self._core.params.pipeline.tree_every,
                           stages.register)

    def _accumulate(self, m, beat_sum):
        """Sum beat sums until ``last``; ``y`` is 0 where the dot product saw an invalid code."""
        p = self._core.params
        accumulator = Signal(result_shape(p))
        total = Signal(result_shape(p))
        seen_invalid = Signal()
        invalid = seen_invalid | self.invalid
        added = self._core.numbers.add(m, accumulator, beat_sum, "accumulate")
        m.d.comb += total.eq(Mux(self.first, beat_sum, added))
        with m.If(self.accept):
            m.d.sync += [accumulator.eq(total), seen_invalid.eq(~self.last & invalid)]
            with m.If(self.last):
                m.d.sync += [self.y.eq(Mux(invalid, 0, total)), self.err.eq(invalid)]
        return m


class _TernaryCore(wiring.Component):
    """Streams, weight conversion, the lanes and their shared control; subclasses say what the
    lanes share and how a lane makes its terms.

    ``PARAMS`` is the parameter class, ``WEIGHTS`` the code format a lane makes its terms from
    (``"key"`` or ``"code2"``; a value format passes through).
    """

    def __init__(self, params):
        if not isinstance(params, self.PARAMS):
            raise TypeError(f"Params must be a {self.PARAMS.__name__}, not {params!r}")
        self._p = params
        self._numbers = numbers_for(params)
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(output_layout(params))),
        })

    @property
    def params(self):
        return self._p

    @property
    def numbers(self):
        return self._numbers

    def weights_format(self):
        """The weight format a lane receives."""
        return self._p.weight_format if self._p.value_weights else self.WEIGHTS

    def shared_layout(self):
        """What every lane receives alike (default: the beat's activations)."""
        return data.ArrayLayout(activation_shape(self._p), self._p.reduction)

    def _shared(self, m, advance, activations):
        """The parts of :meth:`shared_layout` (a list of values, packed in order) for a beat's
        ``activations``, after :meth:`_front_registers` stages loaded by ``advance``."""
        return activations

    def _term_count(self):
        """Terms per lane entering the reduction tree."""
        raise NotImplementedError  # pragma: no cover - abstract

    def tree_levels(self):
        return math.ceil(math.log2(self._term_count()))

    def _front_registers(self):
        """Pipeline registers before the lanes (shared by all of them)."""
        return 0

    def lane_registers(self):
        """Pipeline registers inside a lane before its accumulator."""
        every = self._p.pipeline.tree_every
        return int(self._p.pipeline.fetch) + (self.tree_levels() // every if every else 0)

    @property
    def performance(self):
        p = self._p
        return {
            "latency_cycles": self._front_registers() + self.lane_registers() + 1,
            "cycles_per_beat": 1,
            "macs_per_cycle": p.macs_per_cycle,
            "activations_per_beat": p.reduction,
            "tree_levels": self.tree_levels(),
        }

    def elaborate(self, platform):
        m = Module()
        p = self._p
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]
        if p.value_weights:
            codes, invalid = self.i.p.w, Const(0, p.lanes)
        else:
            m.submodules.weights = weights = WeightConverter(p, self.WEIGHTS)
            m.d.comb += weights.w.eq(self.i.p.w)
            codes, invalid = weights.out, weights.invalid
        stages = Stages(m, advance, {"valid": self.i.valid, "last": self.i.p.last, "invalid": invalid})
        shared = Cat(*self._shared(m, advance, [self.i.p.a[index]
                                                for index in range(p.reduction)]))
        codes = [Value.cast(codes[lane]) for lane in range(p.lanes)]
        for _ in range(self._front_registers()):
            codes = stages.register(codes, "codes")
        lanes = [Lane(self) for _ in range(p.lanes)]
        for _ in range(self.lane_registers()):
            stages.register([], "lane")
        side = stages.side
        first = Signal(init=1)
        accept = advance & side["valid"]
        with m.If(advance):
            m.d.sync += self.o.valid.eq(side["valid"] & side["last"])
        with m.If(accept):
            m.d.sync += first.eq(side["last"])
        for index, lane in enumerate(lanes):
            m.submodules[f"lane{index}"] = lane
            m.d.comb += [lane.shared.eq(shared), lane.codes.eq(codes[index]),
                         lane.advance.eq(advance), lane.accept.eq(accept), lane.first.eq(first),
                         lane.last.eq(side["last"]), lane.invalid.eq(side["invalid"][index]),
                         self.o.p.y[index].eq(lane.y), self.o.p.err[index].eq(lane.err)]
        assert stages.count == self.performance["latency_cycles"] - 1
        return m

class TernaryLutCore(_TernaryCore):
    """Ternary dot products through shared half tables (LUT Tensor Core / T-MAC style).

    ``y[k] = Σ_j t[k][j]·a[j]`` over the beats of a dot product, for ``lanes`` weight columns
    at once; see :mod:`hwgen.golden.ternary` for keys, the table's canonical order, the
    formats, the float order of operations and the error rule.

    Per beat, each of the L groups of µ activations builds a half table
    (:class:`~hwgen.cores.ternary.table.HalfTable`, ``(3**µ − 1)/2`` entries from ``H − µ``
    shared adders); every lane turns each group's key into one fetch (an AND-OR selection from
    the table, a sign flip, 0 for the zero group) and sums its L fetched entries in a tree.

    Parameters
    ----------
    params : :class:`~hwgen.cores.ternary.params.LutParams`

    Members
    -------
    i : ``In(stream.Signature(input_layout(params)))``
        ``a`` (L·µ activations), ``w`` (``[lane][code]`` in ``weight_format``), ``last``.
    o : ``Out(stream.Signature(output_layout(params)))``
        ``y`` (one result per lane: ``signed(acc_bits)``, or the float's bit pattern) and
        ``err`` (one bit per lane), one beat per dot product.

    Latency: ``1 + table + fetch + ⌊tree_levels / tree_every⌋`` cycles from the transfer of
    the ``last`` beat to ``o.valid`` (``table`` counts ``max(1, µ − 1)`` when set: a register
    after every adder level of the table build; ``fetch`` counts 1 when set;
    ``tree_levels = ⌈log2(L + 1)⌉`` for integers, whose tree also adds the sign correction,
    ``⌈log2 L⌉`` for floats).
    Throughput: one beat per cycle while ``o`` is ready: ``lanes · L · µ`` MACs per cycle.
    """

    PARAMS = LutParams
    WEIGHTS = "key"

    def _term_count(self):
        return self._p.n_tables + self._numbers.correction_terms()

    def _front_registers(self):
        return HalfTable.registers_for(self._p.mu, self._p.pipeline.table)

    def shared_layout(self):
        return data.ArrayLayout(table_layout(self._numbers, self._p.mu), self._p.n_tables)

    def _shared(self, m, advance, activations):
        p = self._p
        tables = []
        for group in range(p.n_tables):
            table = HalfTable(self._numbers, activation_shape(p), p.mu,
                              pipelined=p.pipeline.table)
            m.submodules[f"table{group}"] = table
            m.d.comb += [table.a[j].eq(activations[group * p.mu + j]) for j in range(p.mu)]
            if p.pipeline.table:
                m.d.comb += table.advance.eq(advance)
            tables.append(table.entries)
        return tables

    def lane_terms(self, m, tables, keys):
        shapes = entry_shapes(self._numbers, self._p.mu)
        fetched = [fetch(m, tables[group], key, self._p.mu, f"fetch{group}", shapes)
                   for group, key in enumerate(keys)]
        return self._numbers.signed_terms(*zip(*fetched))


class TernaryAddSubCore(_TernaryCore):
    """The multiplier-free direct baseline: every weight selects ``+a``, ``−a`` or 0.

    Same streams and results as :class:`TernaryLutCore` (for floats, the order stated in
    :mod:`hwgen.golden.ternary`). Each lane sums its L·µ selected terms in a tree.

    Parameters
    ----------
    params : :class:`~hwgen.cores.ternary.params.AddSubParams`

    Latency: ``1 + fetch + ⌊tree_levels / tree_every⌋`` cycles from the transfer of the
    ``last`` beat to ``o.valid`` (``tree_levels = ⌈log2(L·µ + 1)⌉`` for integers,
    ``⌈log2(L·µ)⌉`` for floats).
    Throughput: one beat per cycle: ``lanes · L · µ`` MACs per cycle.
    """

    PARAMS = AddSubParams
    WEIGHTS = "code2"

    def _term_count(self):
        return self._p.reduction + self._numbers.correction_terms()

    def lane_terms(self, m, activations, codes):
        return self._numbers.signed_terms([activations[j] for j in range(len(activations))],
                                          [code[1] for code in codes],
                                          [code[0] for code in codes])


class TernaryMacCore(_TernaryCore):
    """The multiplier-based baselines: one multiplier per weight.

    With a ternary code format (``key``, ``code2``, ``base3``) the weight reaches the
    multiplier as a 2-bit code: integers on an ``act_bits`` × 2-bit two's complement
    multiplier, floats on an IEEE multiplier
    (:class:`~hwgen.cores.common.float.FloatMultiplier`) whose second operand is 0 or ±1.0 —
    after flattening, synthesis folds that multiplier into a sign flip and special-case logic,
    so this is a multiplier for ternary weights, not a general one. With a value format
    (``int``, ``fp16``, ``bf16``: the activation type) each weight is a full operand, as an
    engine that dequantizes weights and multiplies is fed: an ``act_bits × act_bits`` exact
    integer multiplier, or a full IEEE multiplier of the activation format. Each lane sums its
    L·µ products in a tree.

    Parameters
    ----------
    params : :class:`~hwgen.cores.ternary.params.MacParams`

    Latency: ``1 + fetch + ⌊⌈log2(L·µ)⌉ / tree_every⌋`` cycles from the transfer of the
    ``last`` beat to ``o.valid``.
    Throughput: one beat per cycle: ``lanes · L · µ`` MACs per cycle.
    """

    PARAMS = MacParams
    WEIGHTS = "code2"

    def _term_count(self):
        return self._p.reduction

    def lane_terms(self, m, activations, weights):
        multiply = self._numbers.multiply if self._p.value_weights else self._numbers.times
        return [multiply(m, activations[index], weight, f"mul{index}")
                for index, weight in enumerate(weights)]
