"""Ternary matrix-vector cores: the LUT core and its two baselines.

All three take the same streams and compute the same dot products (for floats, in the
order :mod:`hwgen.golden.ternary` states for each). They differ in how a lane turns its
weights into terms of the reduction tree:

* :class:`TernaryLutCore`: one half table per group of µ activations, shared by every lane;
  a lane fetches one signed entry per group (L terms);
* :class:`TernaryAddSubCore`: every weight selects ``+a``, ``−a`` or 0 (L·µ terms);
* :class:`TernaryMacCore`: every weight is multiplied with its activation on a multiplier
  (L·µ terms).

Then every lane sums its terms in a balanced tree and accumulates beat sums until ``last``.
"""
import math

from amaranth import Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.ternary.decode import WeightConverter
from hwgen.cores.ternary.layout import activation_shape, input_layout, output_layout, \
    result_shape
from hwgen.cores.ternary.numbers import numbers_for
from hwgen.cores.ternary.params import AddSubParams, LutParams, MacParams
from hwgen.cores.ternary.table import HalfTable, fetch

__all__ = ["TernaryLutCore", "TernaryAddSubCore", "TernaryMacCore"]


class _Stages:
    """Pipeline registers that all load when ``advance`` is high.

    Each :meth:`register` call adds one stage: the data and the beat's side flags (``valid``,
    ``last`` and the per-lane ``invalid`` bits) move through it together.
    """

    def __init__(self, m, advance, *, valid, last, invalid):
        self._m = m
        self._advance = advance
        self.side = {"valid": valid, "last": last, "invalid": invalid}
        self.count = 0

    def _register(self, value, name):
        if isinstance(value, dict):
            return {key: self._register(item, f"{name}_{key}") for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._register(item, f"{name}_{index}") for index, item in enumerate(value)]
        value = Value.cast(value)
        register = Signal(value.shape(), name=name)
        with self._m.If(self._advance):
            self._m.d.sync += register.eq(value)
        return register

    def register(self, data, name):
        self.count += 1
        self.side = self._register(self.side, f"{name}_side")
        return self._register(data, name)


class _TernaryCore(wiring.Component):
    """Streams, weight conversion, reduction tree, accumulator; subclasses make the terms.

    ``PARAMS`` is the parameter class, ``WEIGHTS`` the format the terms are made from
    (``"key"`` or ``"code2"``).
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

    def _term_count(self):
        """Terms per lane entering the reduction tree."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _front_registers(self):
        """Pipeline registers before the reduction tree."""
        return int(self._p.pipeline.fetch)

    def tree_levels(self):
        return math.ceil(math.log2(self._term_count()))

    def _tree_registers(self):
        every = self._p.pipeline.tree_every
        return self.tree_levels() // every if every else 0

    @property
    def performance(self):
        p = self._p
        return {
            "latency_cycles": self._front_registers() + self._tree_registers() + 1,
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
        m.submodules.weights = weights = WeightConverter(p, self.WEIGHTS)
        m.d.comb += weights.w.eq(self.i.p.w)
        stages = _Stages(m, advance, valid=self.i.valid, last=self.i.p.last,
                         invalid=weights.invalid)
        activations = [self.i.p.a[index] for index in range(p.reduction)]
        codes = [[weights.out[lane][index] for index in range(len(weights.out[lane]))]
                 for lane in range(p.lanes)]
        lanes = self._terms(m, stages, activations, codes)
        if p.pipeline.fetch:
            lanes = stages.register(lanes, "terms")
        sums = self._reduce(m, stages, lanes)
        self._accumulate(m, advance, stages.side, sums)
        assert stages.count == self.performance["latency_cycles"] - 1
        return m

    def _reduce(self, m, stages, lanes):
        """Each lane's terms summed pairwise, (0, 1), (2, 3), …, level by level."""
        every = self._p.pipeline.tree_every
        level = 0
        while len(lanes[0]) > 1:
            level += 1
            lanes = [[self._numbers.add(m, terms[index], terms[index + 1],
                                        f"lane{lane}_tree{level}_{index // 2}")
                      for index in range(0, len(terms) - 1, 2)]
                     + ([terms[-1]] if len(terms) % 2 else [])
                     for lane, terms in enumerate(lanes)]
            if every and level % every == 0:
                lanes = stages.register(lanes, f"tree{level}")
        return [terms[0] for terms in lanes]

    def _accumulate(self, m, advance, side, sums):
        """Sum beat sums until ``last``; emit ``y`` (0 where a lane saw an invalid code)."""
        p = self._p
        first = Signal(init=1)
        seen_invalid = Signal(p.lanes)
        invalid = Signal(p.lanes)
        m.d.comb += invalid.eq(seen_invalid | side["invalid"])
        accepted = advance & side["valid"]
        with m.If(advance):
            m.d.sync += self.o.valid.eq(side["valid"] & side["last"])
        with m.If(accepted):
            m.d.sync += [first.eq(side["last"]),
                         seen_invalid.eq(Mux(side["last"], 0, invalid))]
        for lane, beat_sum in enumerate(sums):
            accumulator = Signal(result_shape(p), name=f"lane{lane}_acc")
            total = Signal(result_shape(p), name=f"lane{lane}_total")
            added = self._numbers.add(m, accumulator, beat_sum, f"lane{lane}_accumulate")
            m.d.comb += total.eq(Mux(first, beat_sum, added))
            with m.If(accepted):
                m.d.sync += accumulator.eq(total)
                with m.If(side["last"]):
                    m.d.sync += [self.o.p.y[lane].eq(Mux(invalid[lane], 0, total)),
                                 self.o.p.err[lane].eq(invalid[lane])]


class TernaryLutCore(_TernaryCore):
    """Ternary dot products through shared half tables (LUT Tensor Core / T-MAC style).

    ``y[k] = Σ_j t[k][j]·a[j]`` over the beats of a dot product, for ``lanes`` weight columns
    at once; see :mod:`hwgen.golden.ternary` for keys, the table's canonical order, the
    formats, the float order of operations and the error rule.

    Per beat, each of the L groups of µ activations builds a half table
    (:class:`~hwgen.cores.ternary.table.HalfTable`, ``(3**µ − 1)/2`` entries from ``H − µ``
    shared adders); every lane turns each group's key into one fetch (a multiplexer over the
    table, a sign flip, 0 for the zero group) and sums its L fetched entries in a tree.

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
    the ``last`` beat to ``o.valid`` (the pipeline knobs each count 1 when set;
    ``tree_levels = ⌈log2(L + 1)⌉`` for integers, whose tree also adds the sign correction,
    ``⌈log2 L⌉`` for floats).
    Throughput: one beat per cycle while ``o`` is ready: ``lanes · L · µ`` MACs per cycle.
    """

    PARAMS = LutParams
    WEIGHTS = "key"

    def _term_count(self):
        return self._p.n_tables + self._numbers.correction_terms()

    def _front_registers(self):
        return int(self._p.pipeline.table) + super()._front_registers()

    def _terms(self, m, stages, activations, codes):
        p = self._p
        tables = []
        for group in range(p.n_tables):
            table = HalfTable(self._numbers, activation_shape(p), p.mu)
            m.submodules[f"table{group}"] = table
            m.d.comb += [table.a[j].eq(activations[group * p.mu + j]) for j in range(p.mu)]
            tables.append([table.entries[index] for index in range(len(table.entries))])
        if p.pipeline.table:
            registered = stages.register({"tables": tables, "keys": codes}, "table")
            tables, codes = registered["tables"], registered["keys"]
        lanes = []
        for lane, keys in enumerate(codes):
            fetched = [fetch(m, table, key, p.mu, f"lane{lane}_fetch{group}")
                       for group, (table, key) in enumerate(zip(tables, keys))]
            lanes.append(self._numbers.signed_terms(*zip(*fetched)))
        return lanes


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

    def _terms(self, m, stages, activations, codes):
        return [self._numbers.signed_terms(activations, [code[1] for code in lane],
                                           [code[0] for code in lane])
                for lane in codes]


class TernaryMacCore(_TernaryCore):
    """The multiplier-based baseline: one multiplier per weight (activation × 2-bit weight).

    Integers: an ``act_bits`` × 2-bit two's complement multiplier. Floats: an IEEE multiplier
    (:class:`~hwgen.cores.common.float.FloatMultiplier`) with the weight converted to 0,
    ±1.0. Each lane sums its L·µ products in a tree.

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

    def _terms(self, m, stages, activations, codes):
        return [[self._numbers.times(m, activation, code, f"lane{lane}_mul{index}")
                 for index, (activation, code) in enumerate(zip(activations, lane_codes))]
                for lane, lane_codes in enumerate(codes)]
