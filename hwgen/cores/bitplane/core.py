"""The bit-plane LUT core: multi-bit weights through shared half tables (T-MAC / LUT Tensor Core).

The tables are the ternary family's (:class:`~hwgen.cores.ternary.table.HalfTable`, only the
entries whose weights are all ±1), the number systems and the reduction tree too
(:mod:`hwgen.cores.ternary.numbers`, :func:`~hwgen.cores.ternary.core.reduce_tree`); what is
new is a lane that turns bit planes into fetches and folds the planes, most significant first,
and the per-group scale after the offset lane's sum is added.
"""
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.bitplane.params import BitplaneParams
from hwgen.cores.common import signed_width
from hwgen.cores.common.pipeline import Stages
from hwgen.cores.ternary.core import reduce_tree
from hwgen.cores.ternary.layout import activation_shape, result_shape
from hwgen.cores.ternary.numbers import numbers_for
from hwgen.cores.ternary.table import HalfTable, select, table_layout
from hwgen.golden import bitplane as golden

__all__ = ["input_layout", "output_layout", "BitplaneLane", "BitplaneCore"]


def _scale_shape(p):
    return unsigned(p.scale_bits)


def input_layout(p):
    """``a``: L·µ activations; ``w``: ``[lane][activation]`` codes of ``weight_bits``; ``prec``:
    the beat's precision; ``scale``: per lane, read on a group's first beat; ``last``."""
    return data.StructLayout({
        "a": data.ArrayLayout(activation_shape(p), p.reduction),
        "w": data.ArrayLayout(data.ArrayLayout(p.weight_bits, p.reduction), p.lanes),
        "prec": golden.prec_bits(p.weight_bits),
        "scale": data.ArrayLayout(_scale_shape(p), p.lanes),
        "last": 1,
    })


def output_layout(p):
    """``y``: one result per lane; ``err``: the dot product had an invalid precision."""
    return data.StructLayout({"y": data.ArrayLayout(result_shape(p), p.lanes), "err": 1})


def _entries(p):
    return 1 << (p.mu - 1)


class _Shapes:
    """Shapes of a lane's sums: the beat value ``X``, the group sum ``G``, the halved
    ``G + G_off`` and the scaled group term (all the float pattern for floats)."""

    def __init__(self, p):
        if p.is_float:
            self.beat = self.group = self.value = self.term = unsigned(p.act_bits)
            return
        beat = golden.beat_bound(p)
        group = beat * p.beats_per_group
        value = p.group_size * (1 << (p.act_bits - 1)) * golden.max_abs_weight(
            p.weight_bits, p.weight_signed)
        self.beat = signed(signed_width(-beat, beat))
        self.group = signed(signed_width(-group, group))
        self.value = signed(signed_width(-value, value))
        self.term = signed(signed_width(-value * ((1 << p.scale_bits) - 1),
                                        value * ((1 << p.scale_bits) - 1)))


class BitplaneLane(wiring.Component):
    """One output lane of :class:`BitplaneCore`, or its offset lane.

    Per cycle the lane fetches, from each of the L shared tables, one entry per bit plane it
    works on (one, or all ``weight_bits`` with ``planes="parallel"``), sums each plane's
    fetches in a tree and folds the planes into the beat value ``X`` (``R = 2R + S``, most
    significant first; serially, ``R`` is a register). ``X`` is summed over the group into
    ``group``; one cycle after a group's end the lane halves ``group + offset``, multiplies
    it by the group's scale and, a cycle later, adds it to its dot product.

    The offset lane (``offset=True``) has all-ones codes as constants and stops at ``group``:
    its group sum is every lane's ``offset``.

    Parameters
    ----------
    core : :class:`BitplaneCore`
    offset : bool

    Members
    -------
    tables : ``In(ArrayLayout(table_layout(numbers, mu, 2**(mu−1)), n_tables))``
        The shared tables, at fetch time.
    codes : ``In(ArrayLayout(ArrayLayout(weight_bits, L·µ)))``, not in the offset lane
        This lane's codes of the beat, at input time.
    plane : ``In(range(weight_bits))``, serial planes with ``weight_bits > 1`` only
        The plane to fetch, at input time.
    active, negate : ``In(plane_count)``, at fetch time
        Per fetched plane: it is below the beat's precision (else it adds 0); it is a signed
        weight's top plane (its fetches are negated).
    scale : ``In(scale)``, not in the offset lane: the lane's scale, at input time.
    advance : ``In(1)``: every register of the lane may load (the core's output can move).
    accept, first_plane, final_plane, group_first, group_end : ``In(1)``
        At the end of the lane's pipeline: a plane is accepted, it is the beat's first / final
        plane, the beat is its group's first / last.
    offset : ``In(shapes.group)``, not in the offset lane: the offset lane's ``group``.
    term_valid, term_first, term_last : ``In(1)``, not in the offset lane
        A group term is ready (one cycle after ``group``), it is the dot product's first / last.
    group : ``Out(shapes.group)``: the last group's sum.
    y : ``Out(result_shape)``, not in the offset lane: the last dot product.

    Latency: ``front + fetch + ⌊tree_levels / tree_every⌋`` cycles from ``codes`` to
    ``accept`` (``front``: the core's table registers); ``group`` loads on the accepted final
    plane of a group's last beat, ``y`` two cycles later.
    """

    def __init__(self, core, *, offset=False):
        self._core = core
        self._offset = offset
        p = core.params
        self._shapes = _Shapes(p)
        members = {
            "tables": In(data.ArrayLayout(table_layout(core.numbers, p.mu, _entries(p)),
                                          p.n_tables)),
            "active": In(p.plane_count),
            "negate": In(p.plane_count),
            "advance": In(1),
            "accept": In(1),
            "first_plane": In(1),
            "final_plane": In(1),
            "group_first": In(1),
            "group_end": In(1),
            "group": Out(self._shapes.group),
        }
        if core.serial_select:
            members["plane"] = In(range(p.weight_bits))
        if not offset:
            members.update({
                "codes": In(data.ArrayLayout(p.weight_bits, p.reduction)),
                "scale": In(_scale_shape(p)),
                "offset": In(self._shapes.group),
                "term_valid": In(1),
                "term_first": In(1),
                "term_last": In(1),
                "y": Out(result_shape(p)),
            })
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        core, p, numbers = self._core, self._core.params, self._core.numbers
        stages = Stages(m, self.advance, {})
        if self._offset:
            codes = [Const((1 << p.weight_bits) - 1, p.weight_bits)] * p.reduction
            carried = {}
        else:
            codes = [self.codes[j] for j in range(p.reduction)]
            carried = {"scale": self.scale}
        # Bit planes (plane, activation) of the fetched planes, at input time.
        if core.serial_select:
            bits = [[Signal(p.reduction, name="plane_bits")]]
            m.d.comb += bits[0][0].eq(Cat(code.bit_select(self.plane, 1) for code in codes))
            bits = [[bits[0][0][j] for j in range(p.reduction)]]
        else:
            bits = [[code[q] for code in codes] for q in range(p.plane_count)]
        if not self._offset:  # the offset lane's bits are constants: nothing to register
            carried["bits"] = bits
        for _ in range(core.front_registers()):
            carried = stages.register(carried, "front")
        bits = carried.get("bits", bits)
        sums = [self._plane_sum(m, stages, q, bits[q]) for q in range(p.plane_count)]
        assert stages.count == core.front_registers() + core.lane_registers()
        beat = self._fold(m, sums)
        self._group(m, beat)
        if not self._offset:
            # The scale moves alongside the lane's own stages (plane 0's fetch and tree).
            scale = carried["scale"]
            for index in range(core.lane_registers()):
                scale = stages.hold(scale, f"lane_scale{index}")
            self._scale_and_accumulate(m, scale)
        return m

    def _plane_sum(self, m, stages, q, bits):
        """Plane ``q``'s sum: the tree of its L signed fetches (integers: and the correction)."""
        core, p, numbers = self._core, self._core.params, self._core.numbers
        register = stages.register if q == 0 else stages.hold
        values, negatives = [], []
        for t in range(p.n_tables):
            group = bits[t * p.mu:(t + 1) * p.mu]
            top = group[-1]
            index = Cat(bit ^ ~top for bit in group[:-1]) if p.mu > 1 else Const(0, 1)
            entry = select(m, self.tables[t], index, 0, f"fetch{q}_{t}")
            negative = Signal(name=f"fetch{q}_{t}_negative")
            m.d.comb += negative.eq(~top ^ self.negate[q])
            values.append(entry)
            negatives.append(negative)
        terms = numbers.signed_terms(values, negatives, [self.active[q]] * p.n_tables)
        if p.pipeline.fetch:
            terms = register(terms, f"terms{q}")
        return reduce_tree(m, numbers, terms, p.pipeline.tree_every, register, f"tree{q}_")

    def _fold(self, m, sums):
        """``X``: the planes folded most significant first, ``R = 2R + S`` from ``R = 0``."""
        numbers, shape = self._core.numbers, self._shapes.beat
        if self._core.params.planes == "serial":
            folded = Signal(shape)
            previous = Mux(self.first_plane, 0, folded)
            beat = Signal(shape, name="beat")
            m.d.comb += beat.eq(numbers.add(m, numbers.double(previous), sums[0], "fold"))
            with m.If(self.accept):
                m.d.sync += folded.eq(beat)
            return beat
        result = Const(0, shape)
        for q in reversed(range(len(sums))):
            step = Signal(shape, name=f"fold{q}")
            m.d.comb += step.eq(numbers.add(m, numbers.double(result), sums[q], f"fold{q}"))
            result = step
        return result

    def _group(self, m, beat):
        """Sums the beat values of a group; ``group`` loads on the final plane of its last
        beat."""
        numbers = self._core.numbers
        running = Signal(self._shapes.group)
        total = Signal(self._shapes.group)
        m.d.comb += total.eq(Mux(self.group_first, beat,
                                 numbers.add(m, running, beat, "group_add")))
        with m.If(self.accept & self.final_plane):
            m.d.sync += running.eq(total)
            with m.If(self.group_end):
                m.d.sync += self.group.eq(total)

    def _scale_and_accumulate(self, m, scale):
        p, numbers, shapes = self._core.params, self._core.numbers, self._shapes
        # The group's scale, taken on its first beat's first plane. It is read one cycle
        # after the group's end, before the next group's first beat (accepted at the earliest
        # in that cycle) replaces it.
        group_scale = Signal(_scale_shape(p))
        with m.If(self.accept & self.first_plane & self.group_first):
            m.d.sync += group_scale.eq(scale)
        value = Signal(shapes.value)
        m.d.comb += value.eq(numbers.halve(numbers.add(m, self.group, self.offset, "offset")))
        term = Signal(shapes.term)
        product = (numbers.multiply(m, value, group_scale, "scale") if p.is_float
                   else value * group_scale)
        with m.If(self.advance):
            m.d.sync += term.eq(product)
        accumulator = Signal(result_shape(p))
        total = Signal(result_shape(p))
        m.d.comb += total.eq(Mux(self.term_first, term,
                                 numbers.add(m, accumulator, term, "accumulate")))
        with m.If(self.advance & self.term_valid):
            m.d.sync += accumulator.eq(total)
            with m.If(self.term_last):
                m.d.sync += self.y.eq(total)


class BitplaneCore(wiring.Component):
    """Multi-bit weights times int, fp16 or bf16 activations through shared tables.

    ``y[k] = Σ_groups scale_g[k] · Σ_j a_j · value(w[k][j])`` over the beats of a dot product,
    for ``lanes`` weight columns at once; see :mod:`hwgen.golden.bitplane` for the bit planes,
    the table, the offset, the float order of operations and the error rule.

    Per beat, each of the L groups of µ activations builds a table of ``2**(µ−1)`` signed
    sums (a :class:`~hwgen.cores.ternary.table.HalfTable` restricted to the ±1 patterns,
    ``2**µ − 2`` shared adders); every lane (:class:`BitplaneLane`) fetches one entry per table
    and plane, and an offset lane with constant all-ones codes supplies T-MAC's
    weight-independent term. With ``planes="serial"`` a beat takes ``prec`` cycles, one plane
    each, most significant first (``i.ready`` rises on the last); with ``"parallel"`` every
    lane fetches all ``weight_bits`` planes in one cycle (planes at or above ``prec`` add 0).

    Parameters
    ----------
    params : :class:`~hwgen.cores.bitplane.params.BitplaneParams`

    Members
    -------
    i : ``In(stream.Signature(input_layout(params)))``
        ``a`` (L·µ activations), ``w`` (``[lane][activation]`` codes), ``prec`` (1..weight_bits),
        ``scale`` (per lane; the value on a group's first beat counts), ``last``. The payload
        is read while ``i.valid`` is held (the stream contract) until its last plane.
    o : ``Out(stream.Signature(output_layout(params)))``
        ``y`` (one result per lane: ``signed(acc_bits)``, or the float's bit pattern) and
        ``err`` (a beat of the dot product had an invalid ``prec``; every ``y`` is then 0),
        one beat per dot product.

    Latency: ``3 + table + fetch + ⌊tree_levels / tree_every⌋`` cycles from the transfer of
    the ``last`` beat to ``o.valid`` (``table`` counts ``max(1, µ − 1)`` when set;
    ``tree_levels = ⌈log2(L + 1)⌉`` for integers, ``⌈log2 L⌉`` for floats).
    Throughput: while ``o`` is ready, one beat per ``prec`` cycles (serial; an invalid
    ``prec`` takes one) or per cycle (parallel): ``lanes · L · µ / cycles`` MACs per cycle.
    """

    def __init__(self, params):
        if not isinstance(params, BitplaneParams):
            raise TypeError(f"Params must be a BitplaneParams, not {params!r}")
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

    @property
    def serial_select(self):
        """Lanes pick one plane of their codes per cycle."""
        return self._p.planes == "serial" and self._p.weight_bits > 1

    def front_registers(self):
        return HalfTable.registers_for(self._p.mu, self._p.pipeline.table)

    def tree_levels(self):
        return (self._p.n_tables + self._numbers.correction_terms() - 1).bit_length()

    def lane_registers(self):
        every = self._p.pipeline.tree_every
        return int(self._p.pipeline.fetch) + (self.tree_levels() // every if every else 0)

    def cycles(self, prec=None):
        """Cycles a beat takes at ``prec`` (default ``weight_bits``)."""
        return 1 if self._p.planes == "parallel" else (prec or self._p.weight_bits)

    @property
    def performance(self):
        p = self._p
        return {
            "latency_cycles": self.front_registers() + self.lane_registers() + 3,
            "cycles_per_beat": self.cycles(),
            "cycles_per_beat_by_prec": {str(prec): self.cycles(prec)
                                        for prec in range(1, p.weight_bits + 1)},
            "macs_per_cycle": p.macs_per_cycle,
            "activations_per_beat": p.reduction,
            "tree_levels": self.tree_levels(),
        }

    def elaborate(self, platform):
        m = Module()
        p = self._p
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)
        beat = self.i.p
        prec_ok = Signal()
        m.d.comb += prec_ok.eq((beat.prec >= 1) & (beat.prec <= p.weight_bits))

        # Which planes this cycle works on.
        step = Signal(range(p.weight_bits))
        first_plane, final_plane = Signal(), Signal()
        plane = Signal(range(p.weight_bits))
        active, negate = Signal(p.plane_count), Signal(p.plane_count)
        if p.planes == "serial":
            m.d.comb += [first_plane.eq(step == 0), final_plane.eq(~prec_ok | (plane == 0)),
                         plane.eq(beat.prec - 1 - step), active.eq(1),
                         negate.eq(p.weight_signed & first_plane)]
            with m.If(self.i.valid & advance):
                m.d.sync += step.eq(Mux(final_plane, 0, step + 1))
        else:
            m.d.comb += [first_plane.eq(1), final_plane.eq(1),
                         active.eq(Cat(beat.prec > q for q in range(p.weight_bits))),
                         negate.eq(Cat(p.weight_signed & (beat.prec == q + 1)
                                       for q in range(p.weight_bits)))]
        m.d.comb += self.i.ready.eq(advance & final_plane)

        stages = Stages(m, advance, {
            "valid": self.i.valid, "first_plane": first_plane, "final_plane": final_plane,
            "last": beat.last, "err": ~prec_ok, "active": active, "negate": negate})
        tables = []
        for group in range(p.n_tables):
            table = HalfTable(self._numbers, activation_shape(p), p.mu,
                              pipelined=p.pipeline.table, values=golden.table_values(p.mu))
            m.submodules[f"table{group}"] = table
            m.d.comb += [table.a[j].eq(beat.a[group * p.mu + j]) for j in range(p.mu)]
            if p.pipeline.table:
                m.d.comb += table.advance.eq(advance)
            tables.append(table.entries)
        for _ in range(self.front_registers()):
            stages.register([], "front")
        fetch_side = stages.side
        for _ in range(self.lane_registers()):
            stages.register([], "lane")
        side = stages.side
        accept = advance & side["valid"]

        group_first, group_end = self._track_groups(m, accept, side)
        # Group and term stages: valid, last and the dot product's error move along.
        seen_err = Signal()
        err = seen_err | side["err"]
        with m.If(accept):
            m.d.sync += seen_err.eq(~(side["final_plane"] & side["last"]) & err)
        grouped = Signal(data.StructLayout({"valid": 1, "last": 1, "err": 1}))
        term = Signal.like(grouped)
        term_first = Signal(init=1)
        dot_err = Signal()
        m.d.comb += self.o.p.err.eq(dot_err)
        with m.If(advance):
            m.d.sync += [grouped.valid.eq(accept & side["final_plane"] & group_end),
                         grouped.last.eq(side["last"]), grouped.err.eq(err), term.eq(grouped),
                         self.o.valid.eq(term.valid & term.last)]
            with m.If(term.valid):
                m.d.sync += term_first.eq(term.last)
                with m.If(term.last):
                    m.d.sync += dot_err.eq(term.err)

        lanes = [BitplaneLane(self, offset=True)] + [BitplaneLane(self) for _ in range(p.lanes)]
        for index, lane in enumerate(lanes):
            m.submodules["offset_lane" if index == 0 else f"lane{index - 1}"] = lane
            m.d.comb += [lane.tables[t].eq(tables[t]) for t in range(p.n_tables)]
            m.d.comb += [lane.active.eq(fetch_side["active"]), lane.negate.eq(fetch_side["negate"]),
                         lane.advance.eq(advance), lane.accept.eq(accept),
                         lane.first_plane.eq(side["first_plane"]),
                         lane.final_plane.eq(side["final_plane"]),
                         lane.group_first.eq(group_first), lane.group_end.eq(group_end)]
            if self.serial_select:
                m.d.comb += lane.plane.eq(plane)
            if index:
                k = index - 1
                m.d.comb += [lane.codes.eq(beat.w[k]), lane.scale.eq(beat.scale[k]),
                             lane.offset.eq(lanes[0].group), lane.term_valid.eq(term.valid),
                             lane.term_first.eq(term_first), lane.term_last.eq(term.last),
                             self.o.p.y[k].eq(Mux(dot_err, 0, lane.y))]
        return m

    def _track_groups(self, m, accept, side):
        """Whether the accepted beat is its group's first and last (a group also ends at
        ``last``)."""
        p = self._p
        first = Signal(init=1)
        position = Signal(range(p.beats_per_group))
        end = Signal()
        m.d.comb += end.eq((position == p.beats_per_group - 1) | side["last"])
        with m.If(accept & side["final_plane"]):
            m.d.sync += [first.eq(end), position.eq(Mux(end, 0, position + 1))]
        return first, end
