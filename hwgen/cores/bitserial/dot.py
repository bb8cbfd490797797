"""Grouped, scaled dot-product engines: digit-serial (BitMoD-style) and bit-parallel (baseline).

Both engines are the same pipeline — an input register holding the beat, one lane component
per activation, a (optionally pipelined) adder tree, a register — and differ in what a lane
does: :class:`~hwgen.cores.bitserial.lane.DigitLane` multiplies by a slice of the weight's
digits per cycle, :class:`~hwgen.cores.bitserial.lane.MultiplierLane` by the whole weight.
"""
from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.bitserial.accumulate import (GroupScaleAccumulator, beat_sum_layout,
                                              result_layout)
from hwgen.cores.bitserial.decode import BitModTable
from hwgen.cores.bitserial.lane import DigitLane, MultiplierLane
from hwgen.cores.bitserial.params import BitParallelParams, BitSerialParams
from hwgen.cores.common import popcount, signed_width
from hwgen.golden.bitserial import (RADIX_BITS, beat_cycles, beat_sum_bound, digit_count,
                                    plane_bits)

__all__ = ["input_layout", "BitSerialEngine", "BitParallelEngine", "BitSerialDot",
           "BitParallelDot"]


def _planes(p):
    return getattr(p, "planes", False)


def input_layout(p):
    """Payload of ``i``: activations, weight codes (or digit planes), and per-beat/per-group
    side information."""
    fields = {
        "a": data.ArrayLayout(signed(p.act_bits) if p.act_signed else p.act_bits, p.lanes),
        "w": data.ArrayLayout(plane_bits(p) if _planes(p) else p.weight_bits, p.lanes),
    }
    if p.has_prec:
        fields["prec"] = p.weight_bits.bit_length()
    fields["scale"] = p.scale_bits
    if p.weight_format == "bitmod":
        fields["dtype"] = 2
    fields["last"] = 1
    return data.StructLayout(fields)


def _beat_sum_width(p):
    bound = beat_sum_bound(p)
    return signed_width(-bound, bound)


def _tree_levels(count):
    return (count - 1).bit_length()


class _Engine(wiring.Component):
    """The pipeline both engines share.

    ``i`` carries beats of the dot product; ``o`` one integer sum per beat, with the scale of
    the beat's group and whether the beat ends its group or the dot product. A beat is taken
    into an input register (so whatever feeds the engine may move on) and worked on for
    :meth:`cycles` cycles, one slice of its weight digits per cycle, most significant first;
    the next beat is taken on the last of them. The lanes' terms meet in an adder tree
    (registered halfway with ``pipeline_tree``) whose sum is registered; several slices are
    folded in Horner order into the output register, ``acc = R·acc + sum``.

    Latency: :attr:`LATENCY` cycles from the transfer of a one-cycle beat to its sum on
    ``o``; a beat of ``c`` cycles takes ``c − 1`` more.
    """

    PARAMS = None

    @classmethod
    def check_params(cls, params):
        if not isinstance(params, cls.PARAMS):
            raise TypeError(f"Params must be a {cls.PARAMS.__name__}, not {params!r}")

    def __init__(self, params):
        self.check_params(params)
        self._p = params
        self._sum_width = _beat_sum_width(params)
        self._bitmod = BitModTable(params.weight_bits) if params.weight_format == "bitmod" else None
        # The registers that carry a beat from cycle to cycle: attributes rather than locals
        # of elaborate() so that a formal proof can state invariants about them (see
        # hwgen.formal.families.dot).
        self.registers = SimpleNamespace(
            beat=Signal(input_layout(params), name="beat"), held=Signal(name="held"),
            step=Signal(range(self.max_cycles()), name="step"),
            first=Signal(init=1, name="first"),
            position=Signal(range(params.beats_per_group), name="position"),
            scale=Signal(params.scale_bits, name="scale"), dtype=Signal(2, name="dtype"))
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(beat_sum_layout(self._sum_width, params.scale_bits))),
        })

    @property
    def LATENCY(self):
        return 2 + self._p.pipeline_tree

    def cycles(self, prec=None):
        """Cycles spent on a beat at precision ``prec`` (default: ``weight_bits``)."""
        raise NotImplementedError

    def max_cycles(self):
        p = self._p
        if not p.has_prec:
            return self.cycles()
        return max(self.cycles(prec) for prec in range(2, p.weight_bits + 1))

    def _lane(self):
        """A new lane component."""
        raise NotImplementedError

    def _slice_sum(self, m, lanes, register):
        """The slice's sum from the lanes' outputs: the adder tree, with ``register`` applied
        to the partial sums halfway when the tree is pipelined. Digit lanes' negated rows
        get their missing ones here, ``Σ_j (lanes negating row j) · R^j``, as one more term."""
        if isinstance(lanes[0], MultiplierLane):
            return self._tree([lane.product for lane in lanes], register)
        radix_bits = lanes[0].radix_bits
        digits = len(lanes[0].invert)
        correction = Signal(range(len(lanes) * (1 << (radix_bits * digits))))
        m.d.comb += correction.eq(sum(
            popcount([lane.invert[j] for lane in lanes]) << (radix_bits * j)
            for j in range(digits)))
        return self._tree([lane.term for lane in lanes] + [correction], register)

    def _tree(self, terms, register):
        """Balanced adder tree of ``terms``; with ``pipeline_tree`` the partial sums after half
        of its levels pass through ``register``."""
        cut = _tree_levels(len(terms)) // 2 if self._p.pipeline_tree else None
        level, depth = list(terms), 0
        while True:
            if depth == cut:
                level = [register(term, f"tree{depth}_{index}") for index, term in enumerate(level)]
            if len(level) == 1:
                return level[0]
            level = ([level[k] + level[k + 1] for k in range(0, len(level) - 1, 2)]
                     + ([level[-1]] if len(level) % 2 else []))
            depth += 1

    def _track_groups(self, m, beat, done):
        """The held beat's group end, group scale and (bitmod) group dtype.

        A group's scale and dtype are those on its first beat; later beats of the group use
        the latched copies.
        """
        p, r = self._p, self.registers
        first, position, scale, dtype = r.first, r.position, r.scale, r.dtype
        group_end = Signal()
        m.d.comb += group_end.eq((position == p.beats_per_group - 1) | beat.last)
        current_scale = Mux(first, beat.scale, scale)
        current_dtype = Mux(first, beat.dtype, dtype) if self._bitmod else Const(0, 2)
        with m.If(done):
            m.d.sync += [first.eq(group_end), position.eq(Mux(group_end, 0, position + 1)),
                         scale.eq(current_scale), dtype.eq(current_dtype)]
        return group_end, current_scale, current_dtype

    def _decode_cycles(self, m, prec, cycles):
        """Drive ``cycles`` with the cycles of a beat at ``prec`` (1 at an invalid one)."""
        with m.Switch(prec):
            for valid in range(2, self._p.weight_bits + 1):
                with m.Case(valid):
                    m.d.comb += cycles.eq(self.cycles(valid))
            with m.Default():
                m.d.comb += cycles.eq(1)

    def _take_planes(self, m, beat, held, step, advance):
        """Digit planes into the input register, one per cycle: a beat's activations,
        precision and scale are taken with its first plane and held, its weight plane and
        ``last`` with every plane; ``step`` is the held plane's index in its beat."""
        incoming = Signal(range(self.max_cycles()), name="incoming_step")
        cycles = Signal(range(self.max_cycles() + 1), name="incoming_cycles")
        self._decode_cycles(m, Mux(incoming == 0, self.i.p.prec, beat.prec), cycles)
        m.d.comb += self.i.ready.eq(~held | advance)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [beat.w.eq(self.i.p.w), beat.last.eq(self.i.p.last), held.eq(1),
                         step.eq(incoming), incoming.eq(Mux(incoming == cycles - 1, 0,
                                                            incoming + 1))]
            with m.If(incoming == 0):
                m.d.sync += [beat.a.eq(self.i.p.a), beat.prec.eq(self.i.p.prec),
                             beat.scale.eq(self.i.p.scale)]
        with m.Elif(advance):
            m.d.sync += held.eq(0)

    def elaborate(self, platform):
        m = Module()
        p = self._p
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)

        # Input register, and which slice of the held beat's digits is worked on.
        beat, held, step = self.registers.beat, self.registers.held, self.registers.step
        max_cycles = self.max_cycles()
        cycles = Signal(range(max_cycles + 1))
        slice_index = Signal(range(max_cycles))
        final = Signal()
        prec_ok = Signal()
        if p.has_prec:
            m.d.comb += prec_ok.eq((beat.prec >= 2) & (beat.prec <= p.weight_bits))
            self._decode_cycles(m, beat.prec, cycles)
        else:
            m.d.comb += [prec_ok.eq(1), cycles.eq(self.cycles())]
        m.d.comb += [slice_index.eq(cycles - 1 - step), final.eq(slice_index == 0)]
        done = held & advance & final
        if _planes(p):
            self._take_planes(m, beat, held, step, advance)
        else:
            m.d.comb += self.i.ready.eq(~held | (advance & final))
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [beat.eq(self.i.p), held.eq(1)]
            with m.Elif(done):
                m.d.sync += held.eq(0)
            with m.If(held & advance):
                m.d.sync += step.eq(Mux(final, 0, step + 1))
        group_end, scale, dtype = self._track_groups(m, beat, done)

        # Lanes, with what they share.
        if self._bitmod:
            special = self._bitmod.special(m, dtype)
        elif not _planes(p):
            below_prec = Signal(p.weight_bits)
            sign_at = Signal(p.weight_bits)
            m.d.comb += [below_prec.eq(Cat(*[beat.prec > k for k in range(p.weight_bits)])),
                         sign_at.eq(Cat(*[beat.prec == k + 1 for k in range(p.weight_bits)]))]
        lanes = []
        for index in range(p.lanes):
            lane = self._lane()
            m.submodules[f"lane{index}"] = lane
            m.d.comb += [lane.a.eq(beat.a[index]), lane.code.eq(beat.w[index])]
            if hasattr(lane, "below_prec"):
                m.d.comb += lane.below_prec.eq(below_prec)
                if p.weight_format == "int":
                    m.d.comb += lane.sign_at.eq(sign_at)
            elif self._bitmod:
                m.d.comb += [lane.special_mantissa.eq(special[0]),
                             lane.special_exponent.eq(special[1]),
                             lane.special_negative.eq(special[2])]
            if hasattr(lane, "slice"):
                m.d.comb += lane.slice.eq(slice_index)
            if hasattr(lane, "first"):
                m.d.comb += lane.first.eq(step == 0)
            lanes.append(lane)

        # Pipeline registers move together, on `advance`.
        def register(value, name):
            reg = Signal(value.shape(), name=name)
            with m.If(advance):
                m.d.sync += reg.eq(value)
            return reg

        info = Signal(beat_sum_layout(self._sum_width, p.scale_bits))
        control = Signal(data.StructLayout({"valid": 1, "first": 1, "final": 1}))
        m.d.comb += [
            info.scale.eq(scale), info.group_end.eq(group_end), info.last.eq(beat.last),
            info.err.eq(~prec_ok),
            control.valid.eq(held), control.first.eq(step == 0), control.final.eq(final),
        ]
        total = self._slice_sum(m, lanes, register)
        if p.pipeline_tree:
            info, control = register(info, "tree_info"), register(control, "tree_control")

        total = total[:self._sum_width].as_signed()
        if max_cycles == 1:
            with m.If(advance):
                m.d.sync += [self.o.valid.eq(control.valid), self.o.p.eq(info),
                             self.o.p.sum.eq(total)]
            return m

        # Fold the slices in Horner order straight into the output register, which holds the
        # partial sum while ``o.valid`` is low; emit the beat sum after its last slice.
        horner = Signal(signed(self._sum_width))
        m.d.comb += horner.eq(Mux(control.first, total,
                                  (self.o.p.sum << self._slice_bits()) + total))
        with m.If(advance):
            m.d.sync += self.o.valid.eq(control.valid & control.final)
            with m.If(control.valid):
                m.d.sync += [self.o.p.eq(info), self.o.p.sum.eq(horner)]
        return m


class BitSerialEngine(_Engine):
    """Beat sums with the weight consumed ``digits_per_cycle`` digits per cycle.

    A digit is a weight bit (``digit="bit"``) or a radix-4 Booth digit in {−2..2}
    (``digit="booth4"``); BitMoD codes are walked as their odd mantissa, the activation being
    shifted by the exponent. With ``weight_stream="planes"`` each cycle's slice arrives on
    ``i`` as a digit plane, so the input register holds one plane per lane instead of the
    whole code, and lanes need neither the precision nor a slice select. Cycles per beat (:meth:`cycles`): ⌈digits / digits_per_cycle⌉,
    where ``bit`` has ``prec`` digits (``int``/``uint``) or the mantissa width (``bitmod``:
    3 for 4-bit, 2 for 3-bit codes) and ``booth4`` ⌈prec/2⌉ (``int``), ⌈(prec+1)/2⌉
    (``uint``), 2 (``bitmod``).
    """

    PARAMS = BitSerialParams

    def cycles(self, prec=None):
        p = self._p
        if self._bitmod is not None:
            digits = digit_count(p.digit, "bitmod", self._bitmod.mantissa_bits)
            return -(-digits // p.digits_per_cycle)
        return beat_cycles(p, p.weight_bits if prec is None else prec)

    def _slice_bits(self):
        return RADIX_BITS[self._p.digit] * self._p.digits_per_cycle

    def _lane(self):
        p = self._p
        return DigitLane(p, digit=p.digit, digits=p.digits_per_cycle, slices=self.max_cycles(),
                         planes=p.planes)


class BitParallelEngine(_Engine):
    """Beat sums with one multiplier per lane: the baseline, one beat per cycle.

    ``multiplier="array"``: each lane multiplies its activation by the decoded weight value
    with the narrowest exact ``*`` (:class:`~hwgen.cores.bitserial.lane.MultiplierLane`);
    ``multiplier="booth"``: each lane is a radix-4 Booth multiplier, the digit-serial lane
    given every digit at once, its negated rows' missing ones added once at the tree's root.
    """

    PARAMS = BitParallelParams

    def cycles(self, prec=None):
        return 1

    def _lane(self):
        p = self._p
        if p.multiplier == "array":
            return MultiplierLane(p)
        bits = self._bitmod.mantissa_bits if self._bitmod else p.weight_bits
        return DigitLane(p, digit="booth4", digits=digit_count("booth4", p.weight_format, bits),
                         slices=1)


class _Dot(wiring.Component):
    """An engine (the subclass's ``ENGINE``) followed by the group-scale accumulator.

    Latency (``performance["latency_cycles"]``): cycles from the transfer of the ``last`` beat
    to ``o.valid`` at full precision, a beat's ``cycles_per_beat − 1`` extra cycles included
    (the manifest's contract); a runtime precision of ``c`` cycles per beat is
    ``cycles_per_beat − c`` cycles faster.
    Throughput: one beat per ``cycles_per_beat`` (``cycles_per_beat_by_prec[prec]`` at a
    runtime precision), i.e. ``lanes / cycles`` MACs per cycle.
    """

    def __init__(self, params):
        # Checked before the engine exists, so a rejected call leaves no unused elaboratable.
        self.ENGINE.check_params(params)
        p = params
        self._p = p
        self._engine = self.ENGINE(params)
        self._accumulator = GroupScaleAccumulator(
            beat_bound=beat_sum_bound(p), beats_per_group=p.beats_per_group,
            scale_bits=p.scale_bits, acc_bits=p.acc_bits)
        super().__init__({
            "i": In(stream.Signature(input_layout(p))),
            "o": Out(stream.Signature(result_layout(p.acc_bits))),
        })

    @property
    def params(self):
        return self._p

    @property
    def performance(self):
        engine, p = self._engine, self._p
        cycles = engine.cycles()
        figures = {
            "latency_cycles": engine.LATENCY + GroupScaleAccumulator.LATENCY + cycles - 1,
            "cycles_per_beat": cycles,
            "macs_per_cycle": p.lanes / cycles,
        }
        if p.has_prec:
            figures["cycles_per_beat_by_prec"] = {str(prec): engine.cycles(prec)
                                                  for prec in range(2, p.weight_bits + 1)}
        return figures

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = self._engine
        m.submodules.accumulator = self._accumulator
        wiring.connect(m, wiring.flipped(self.i), self._engine.i)
        wiring.connect(m, self._engine.o, self._accumulator.i)
        wiring.connect(m, self._accumulator.o, wiring.flipped(self.o))
        return m


class BitSerialDot(_Dot):
    """Grouped, scaled dot products with digit-serial weights (bits or radix-4 Booth digits,
    ``digits_per_cycle`` of them per cycle).

    ``y = Σ_groups scale_g · Σ_{k in g} a_k · value(w_k)``, exact, reduced to ``acc_bits``
    (see :mod:`hwgen.golden.bitserial` for the exact semantics and the error rule).

    Parameters
    ----------
    params : :class:`BitSerialParams`

    Members
    -------
    i : ``In(stream.Signature(input_layout(params)))``
        Fields ``a`` (``lanes`` activations), ``w`` (``lanes`` codes), ``prec`` (int/uint),
        ``scale``, ``dtype`` (bitmod) and ``last``.
    o : ``Out(stream.Signature(StructLayout({"y": signed(acc_bits), "err": 1})))``
        One beat per dot product.

    Latency and throughput: see :class:`_Dot` and :meth:`BitSerialEngine.cycles`.
    """

    ENGINE = BitSerialEngine


class BitParallelDot(_Dot):
    """The multiplier-based baseline of :class:`BitSerialDot`: same streams, one beat per cycle.

    Parameters
    ----------
    params : :class:`BitParallelParams`
    """

    ENGINE = BitParallelEngine
