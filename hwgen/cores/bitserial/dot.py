"""Grouped, scaled dot-product engines: bit-serial (BitMoD-style) and bit-parallel (baseline)."""
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.bitserial.accumulate import (GroupScaleAccumulator, beat_sum_layout,
                                              result_layout)
from hwgen.cores.bitserial.decode import BitModTable, extend_code
from hwgen.cores.bitserial.params import BitSerialParams, DotParams
from hwgen.cores.common import adder_tree, popcount, signed_width
from hwgen.golden.bitserial import beat_sum_bound

__all__ = ["input_layout", "BitSerialEngine", "BitParallelEngine", "BitSerialDot",
           "BitParallelDot"]


def input_layout(p):
    """Payload of ``i``: activations, weight codes, and per-beat/per-group side information."""
    fields = {
        "a": data.ArrayLayout(signed(p.act_bits) if p.act_signed else unsigned(p.act_bits),
                              p.lanes),
        "w": data.ArrayLayout(unsigned(p.weight_bits), p.lanes),
    }
    if p.has_prec:
        fields["prec"] = unsigned(p.weight_bits.bit_length())
    fields["scale"] = unsigned(p.scale_bits)
    if p.weight_format == "bitmod":
        fields["dtype"] = unsigned(2)
    fields["last"] = 1
    return data.StructLayout(fields)


def _beat_sum_width(p):
    bound = beat_sum_bound(p)
    return signed_width(-bound, bound)


class _Engine(wiring.Component):
    """Common part of both engines: streams, group tracking and the beat-sum register.

    ``i`` carries beats of the dot product; ``o`` carries one integer sum per beat together
    with the scale of the beat's group and whether the beat ends its group or the dot product.
    Subclasses compute the beat sum in :meth:`datapath`.
    """

    PARAMS = DotParams

    @classmethod
    def check_params(cls, params):
        if not isinstance(params, cls.PARAMS):
            raise TypeError(f"Params must be a {cls.PARAMS.__name__}, not {params!r}")

    def __init__(self, params):
        self.check_params(params)
        self._p = params
        self._sum_width = _beat_sum_width(params)
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(beat_sum_layout(self._sum_width, params.scale_bits))),
        })

    def _track_groups(self, m, accepted):
        """The current beat's group end, group scale and (bitmod) group dtype.

        A group's scale and dtype are those on its first beat; later beats of the group use
        the latched copies.
        """
        p = self._p
        first = Signal(init=1)
        position = Signal(range(p.beats_per_group))
        scale = Signal(p.scale_bits)
        dtype = Signal(2)
        group_end = Signal()
        m.d.comb += group_end.eq((position == p.beats_per_group - 1) | self.i.p.last)
        current_scale = Mux(first, self.i.p.scale, scale)
        current_dtype = Mux(first, self.i.p.dtype, dtype) if p.weight_format == "bitmod" else 0
        with m.If(accepted):
            m.d.sync += [first.eq(group_end), position.eq(Mux(group_end, 0, position + 1)),
                         scale.eq(current_scale), dtype.eq(current_dtype)]
        return group_end, current_scale, current_dtype

    def _prec_check(self):
        """Whether the beat's runtime precision is usable (always, for bitmod)."""
        p = self._p
        if not p.has_prec:
            return Const(1, 1)
        return (self.i.p.prec >= 2) & (self.i.p.prec <= p.weight_bits)

    def _below_prec(self, width):
        """Bit ``k`` is set for code bit positions ``k`` under the runtime precision."""
        p = self._p
        return Cat(*[self.i.p.prec > k for k in range(width)]) if p.has_prec else Const(-1, width)


class BitSerialEngine(_Engine):
    """Beat sums with the weight consumed one digit per cycle, most significant digit first.

    Every cycle each lane adds ``digit · A`` to a shared adder tree, where ``A`` is the lane's
    activation (shifted by the weight's exponent for ``bitmod``) and the digit is a weight bit
    (``digit="bit"``) or a radix-4 Booth digit in {−2..2} (``digit="booth4"``). The tree sum
    is folded in Horner order, ``acc = R·acc + tree``. Negative terms are one's complements
    whose missing ones are added once at the root, so no lane needs an incrementer.

    The input beat is held (not accepted) until its last digit, so codes and activations are
    read straight from the stream and need no registers here.

    Cycles per beat (``digits``): ``bit``: ``prec`` (``int``/``uint``) or the mantissa width
    (``bitmod``: 3 for 4-bit, 2 for 3-bit codes); ``booth4``: ⌈prec/2⌉ (``int``),
    ⌈(prec+1)/2⌉ (``uint``), 2 (``bitmod``).
    Latency: 2 cycles from the transfer of a beat to its sum on ``o``.
    """
    LATENCY = 2
    PARAMS = BitSerialParams

    def __init__(self, params):
        super().__init__(params)
        p = params
        self._bitmod = BitModTable(p.weight_bits) if p.weight_format == "bitmod" else None
        self._radix_log2 = 2 if p.digit == "booth4" else 1

    def digits(self, prec=None):
        """Cycles spent on a beat at precision ``prec`` (default: ``weight_bits``)."""
        p = self._p
        if self._bitmod is not None:
            bits = self._bitmod.mantissa_bits + (1 if p.digit == "booth4" else 0)
        else:
            prec = p.weight_bits if prec is None else prec
            bits = prec + (1 if p.digit == "booth4" and p.weight_format == "uint" else 0)
        return -(-bits // 2) if p.digit == "booth4" else bits

    def _digit_count(self):
        """Cycles for the current beat, from its runtime precision (1 for a bad precision)."""
        p = self._p
        if self._bitmod is not None:
            return Const(self.digits())
        prec = self.i.p.prec
        if p.digit == "booth4":
            count = (prec + (2 if p.weight_format == "uint" else 1)) >> 1
        else:
            count = prec
        return Mux(self._prec_check(), count, 1)

    def elaborate(self, platform):
        m = Module()
        p = self._p
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)

        max_digits = self.digits()
        step = Signal(range(max_digits + 1))
        digit_count = Signal(range(max_digits + 1))
        position = Signal(range(max_digits))  # digit index, counted down to 0
        final = Signal()
        m.d.comb += [digit_count.eq(self._digit_count()),
                     position.eq(digit_count - 1 - step),
                     final.eq(position == 0)]
        m.d.comb += self.i.ready.eq(advance & final)
        accepted = self.i.valid & self.i.ready
        group_end, scale, dtype = self._track_groups(m, accepted)

        terms, inverts = [], []
        special = self._bitmod.special(m, dtype) if self._bitmod else None
        for lane in range(p.lanes):
            activation = self.i.p.a[lane]
            code = self.i.p.w[lane]
            lane_negative = Const(0, 1)
            if self._bitmod:
                mantissa, exponent, lane_negative = self._bitmod.decode(m, code, special,
                                                                        f"lane{lane}")
                activation = activation << exponent
                source = mantissa
            else:
                source = code
            if p.digit == "bit":
                bit = source.bit_select(position, 1)
                magnitude_one, magnitude_two = bit, Const(0, 1)
                digit_negative = ((position == self.i.p.prec - 1) if p.weight_format == "int"
                                  else Const(0, 1))
            else:
                width = 2 * max_digits
                if self._bitmod:
                    extended = Cat(source, Const(0, width - len(source)))
                else:
                    extended = extend_code(source, self._below_prec(p.weight_bits),
                                           p.weight_format == "int", width)
                window = Cat(Const(0, 1), extended).bit_select(position * 2, 3)
                low, middle, high = window[0], window[1], window[2]
                magnitude_one = middle ^ low
                magnitude_two = (high & ~middle & ~low) | (~high & middle & low)
                digit_negative = high
            selected = Signal(signed(self._sum_width), name=f"lane{lane}_selected")
            invert = Signal(name=f"lane{lane}_invert")
            m.d.comb += [
                selected.eq(Mux(magnitude_one, activation,
                                Mux(magnitude_two, activation << 1, 0))),
                invert.eq(digit_negative ^ lane_negative),
            ]
            terms.append(Mux(invert, ~selected, selected))
            inverts.append(invert)
        tree = adder_tree(terms + [popcount(inverts)])

        # Register the tree sum with its digit position and the beat's side information.
        stage_valid = Signal()
        stage_tree = Signal(signed(self._sum_width))
        stage_first = Signal()
        stage_final = Signal()
        stage_info = Signal(beat_sum_layout(self._sum_width, p.scale_bits))
        with m.If(advance):
            m.d.sync += stage_valid.eq(self.i.valid)
            with m.If(self.i.valid):
                m.d.sync += [
                    step.eq(Mux(final, 0, step + 1)),
                    stage_tree.eq(tree),
                    stage_first.eq(step == 0),
                    stage_final.eq(final),
                    stage_info.scale.eq(scale),
                    stage_info.group_end.eq(group_end),
                    stage_info.last.eq(self.i.p.last),
                    stage_info.err.eq(~self._prec_check()),
                ]

        # Fold digits in Horner order; emit the beat sum after its last digit.
        horner = Signal(signed(self._sum_width))
        beat_acc = Signal(signed(self._sum_width))
        m.d.comb += horner.eq(Mux(stage_first, stage_tree,
                                  (beat_acc << self._radix_log2) + stage_tree))
        with m.If(advance):
            m.d.sync += self.o.valid.eq(stage_valid & stage_final)
            with m.If(stage_valid):
                m.d.sync += beat_acc.eq(horner)
                with m.If(stage_final):
                    m.d.sync += [self.o.p.eq(stage_info), self.o.p.sum.eq(horner)]
        return m


class BitParallelEngine(_Engine):
    """Beat sums with one multiplier per lane: the baseline, one beat per cycle.

    Each lane decodes its code to an integer value (runtime precision, BitMoD table) and
    multiplies; an adder tree sums the lanes into a register.
    Latency: 1 cycle from the transfer of a beat to its sum on ``o``.
    """
    LATENCY = 1

    def __init__(self, params):
        super().__init__(params)
        p = params
        self._bitmod = BitModTable(p.weight_bits) if p.weight_format == "bitmod" else None

    def elaborate(self, platform):
        m = Module()
        p = self._p
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]
        group_end, scale, dtype = self._track_groups(m, self.i.valid & self.i.ready)

        special = self._bitmod.special(m, dtype) if self._bitmod else None
        products = []
        for lane in range(p.lanes):
            code = self.i.p.w[lane]
            if self._bitmod:
                mantissa, exponent, negative = self._bitmod.decode(m, code, special,
                                                                   f"lane{lane}")
                magnitude = mantissa << exponent
                value = Mux(negative, -magnitude, magnitude)
            else:
                extended = extend_code(code, self._below_prec(p.weight_bits),
                                       p.weight_format == "int", p.weight_bits + 1)
                value = extended.as_signed()
            products.append(self.i.p.a[lane] * value)
        tree = adder_tree(products)

        with m.If(advance):
            m.d.sync += self.o.valid.eq(self.i.valid)
            with m.If(self.i.valid):
                m.d.sync += [
                    self.o.p.sum.eq(tree),
                    self.o.p.scale.eq(scale),
                    self.o.p.group_end.eq(group_end),
                    self.o.p.last.eq(self.i.p.last),
                    self.o.p.err.eq(~self._prec_check()),
                ]
        return m


class _Dot(wiring.Component):
    """An engine (the subclass's ``ENGINE``) followed by the group-scale accumulator."""

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

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = self._engine
        m.submodules.accumulator = self._accumulator
        wiring.connect(m, wiring.flipped(self.i), self._engine.i)
        wiring.connect(m, self._engine.o, self._accumulator.i)
        wiring.connect(m, self._accumulator.o, wiring.flipped(self.o))
        return m


class BitSerialDot(_Dot):
    """Grouped, scaled dot products with bit-serial (or radix-4 Booth) weights.

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

    Latency: 5 cycles from the transfer of the ``last`` beat to ``o.valid``.
    Throughput: one beat per ``digits(prec)`` cycles (see :class:`BitSerialEngine`), i.e.
    ``lanes / digits`` MACs per cycle.
    """

    ENGINE = BitSerialEngine

    @property
    def performance(self):
        engine = self._engine
        p = self._p
        cycles = engine.digits()
        figures = {
            "latency_cycles": engine.LATENCY + GroupScaleAccumulator.LATENCY,
            "cycles_per_beat": cycles,
            "macs_per_cycle": p.lanes / cycles,
        }
        if p.has_prec:
            figures["cycles_per_beat_by_prec"] = {str(prec): engine.digits(prec)
                                                  for prec in range(2, p.weight_bits + 1)}
        return figures


class BitParallelDot(_Dot):
    """The multiplier-based baseline of :class:`BitSerialDot`: same streams, one beat per cycle.

    Latency: 4 cycles from the transfer of the ``last`` beat to ``o.valid``.
    Throughput: one beat (``lanes`` MACs) per cycle.
    """

    ENGINE = BitParallelEngine

    @property
    def performance(self):
        return {
            "latency_cycles": BitParallelEngine.LATENCY + GroupScaleAccumulator.LATENCY,
            "cycles_per_beat": 1,
            "macs_per_cycle": float(self._p.lanes),
        }
