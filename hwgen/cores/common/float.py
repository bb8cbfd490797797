"""Combinational IEEE 754 adder and multiplier for small binary formats (fp16, bfloat16, …).

Both round to nearest, ties to even, handle subnormals as operands and results (no flushing),
return infinities on overflow and the canonical quiet NaN for every NaN result; the exact
rules and their bit-exact model are in :mod:`hwgen.golden.float`. Any
:class:`~hwgen.golden.float.FloatFormat` works, so the tests check tiny formats exhaustively.
"""
from amaranth import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.golden.float import FloatFormat

__all__ = ["FloatAdder", "FloatMultiplier", "double", "halve"]


def _named(m, value, name):
    """``value`` through a signal, so that later uses share it instead of copying the
    expression (Amaranth emits an expression once per use)."""
    value = Value.cast(value)
    signal = Signal(value.shape(), name=name)
    m.d.comb += signal.eq(value)
    return signal


def _shift_right_sticky(m, value, distance, name):
    """``value >> distance`` with every bit shifted out ORed into bit 0 (the sticky bit)."""
    width = len(value)
    clamped = Mux(distance > width, width, distance)
    shifted = _named(m, Cat(Const(0, width), value) >> clamped, f"{name}_shifted")
    return _named(m, Cat(shifted[width] | shifted[:width].any(), shifted[width + 1:2 * width]),
                  name)


def _normalize_left(m, value, limit, name):
    """``(value << s, s)`` with ``s = min(leading zeros of value, limit)``.

    A logarithmic shifter: stage ``k`` (a power of two, largest first) shifts by ``k`` when the
    top ``k`` bits are zero and the remaining limit allows it.
    """
    width = len(value)
    takes = []
    step = 1 << (width.bit_length() - 1)
    limit = _named(m, limit, f"{name}_limit{step * 2}")
    while step:
        take = _named(m, (value[width - step:] == 0) & (limit >= step), f"{name}_take{step}")
        value = _named(m, Mux(take, value << step, value)[:width], f"{name}_value{step}")
        limit = _named(m, Mux(take, limit - step, limit), f"{name}_limit{step}")
        takes.append(take)
        step >>= 1
    return value, Cat(*reversed(takes))


def double(fmt, bits):
    """``x + x`` (:func:`hwgen.golden.float.add`) for the bit pattern ``bits``, without an
    adder: the exponent goes up by one (a subnormal's magnitude shifts left), reaching the
    all-ones exponent makes an infinity, a NaN becomes the canonical NaN."""
    man = fmt.man_bits
    magnitude, sign = bits[:fmt.width - 1], bits[fmt.width - 1]
    exponent, fraction = bits[man:fmt.width - 1], bits[:man]
    bumped = magnitude + (1 << man)
    doubled = Mux(exponent == 0, magnitude << 1,
                  Mux(bumped >= fmt.infinity, fmt.infinity, bumped))
    nan = (exponent == fmt.exp_all_ones) & (fraction != 0)
    return Mux(nan, fmt.canonical_nan, Cat(doubled[:fmt.width - 1], sign))


def halve(fmt, bits):
    """``x · 0.5`` (:func:`hwgen.golden.float.mul`) for the bit pattern ``bits``, without a
    multiplier: the exponent goes down by one, or, at the two lowest exponents, the magnitude
    shifts right rounding to nearest even; infinities stay, a NaN becomes the canonical NaN."""
    man = fmt.man_bits
    magnitude, sign = bits[:fmt.width - 1], bits[fmt.width - 1]
    exponent, fraction = bits[man:fmt.width - 1], bits[:man]
    shifted = (magnitude >> 1) + (magnitude[0] & magnitude[1])
    halved = Mux(exponent == fmt.exp_all_ones, magnitude,
                 Mux(exponent <= 1, shifted, magnitude - (1 << man)))
    nan = (exponent == fmt.exp_all_ones) & (fraction != 0)
    return Mux(nan, fmt.canonical_nan, Cat(halved[:fmt.width - 1], sign))


class _Operand:
    """The fields and classification of one operand."""

    def __init__(self, m, fmt, bits, name):
        bits = _named(m, bits, name)
        self.sign = bits[fmt.width - 1]
        self.magnitude = bits[:fmt.width - 1]
        exponent = bits[fmt.man_bits:fmt.width - 1]
        fraction = bits[:fmt.man_bits]
        ones, nonzero = exponent.all(), exponent.any()
        self.nan = _named(m, ones & fraction.any(), f"{name}_nan")
        self.inf = _named(m, ones & ~fraction.any(), f"{name}_inf")
        self.zero = _named(m, ~nonzero & ~fraction.any(), f"{name}_zero")
        # Subnormals have exponent 1 and no hidden one.
        self.significand = _named(m, Cat(fraction, nonzero), f"{name}_significand")
        self.exponent = _named(m, Mux(nonzero, exponent, 1), f"{name}_exponent")


class _FloatOperator(wiring.Component):
    """Two operands ``a`` and ``b`` and a result ``y``, all bit patterns of ``fmt``."""

    def __init__(self, fmt):
        if not isinstance(fmt, FloatFormat):
            raise TypeError(f"Format must be a FloatFormat, not {fmt!r}")
        self._fmt = fmt
        super().__init__({"a": In(fmt.width), "b": In(fmt.width), "y": Out(fmt.width)})

    @property
    def format(self):
        return self._fmt

    def _round_and_pack(self, m, exponent, normalized, sign, *, nan, inf, inf_sign, zero,
                        zero_sign):
        """Drive ``y`` from a normalized significand and the specials.

        ``normalized`` holds the significand (``man_bits + 1`` bits, leading one at the top
        unless the result is subnormal, when ``exponent`` is 1) followed by a guard bit and
        bits whose OR is the sticky bit. ``exponent`` is the biased exponent (≥ 1).
        """
        fmt = self._fmt
        man = fmt.man_bits
        width = len(normalized)
        normalized = _named(m, normalized, "normalized")
        kept = normalized[width - man - 1:]
        guard = normalized[width - man - 2]
        sticky = normalized[:width - man - 2].any()
        round_up = guard & (sticky | kept[0])
        # (exponent − 1)·2**man + significand: a subnormal (no leading one, exponent 1) packs
        # with a zero exponent field, and rounding up carries into the exponent.
        packed = Signal(len(exponent) + man + 1)
        m.d.comb += packed.eq(((exponent - 1) << man) + kept + round_up)
        magnitude = Mux(packed >= fmt.infinity, fmt.infinity, packed[:fmt.width - 1])
        with m.If(nan):
            m.d.comb += self.y.eq(fmt.canonical_nan)
        with m.Elif(inf):
            m.d.comb += self.y.eq(Cat(Const(fmt.infinity, fmt.width - 1), inf_sign))
        with m.Elif(zero):
            m.d.comb += self.y.eq(Cat(Const(0, fmt.width - 1), zero_sign))
        with m.Else():
            m.d.comb += self.y.eq(Cat(magnitude, sign))


class FloatAdder(_FloatOperator):
    """``y = a + b``, correctly rounded (nearest, ties to even), combinational.

    Parameters
    ----------
    fmt : :class:`~hwgen.golden.float.FloatFormat`

    Members
    -------
    a, b : ``In(fmt.width)``
        Operand bit patterns.
    y : ``Out(fmt.width)``
        The sum's bit pattern, as :func:`hwgen.golden.float.add` defines it.

    The larger-magnitude operand is found by comparing encodings; the smaller one's
    significand is aligned with a guard, a round and a sticky bit, added or subtracted, and
    normalized (right by one on a carry, left by a logarithmic shifter otherwise, never below
    the smallest exponent, which makes subnormal results).

    Latency: 0 cycles (combinational). Throughput: one addition per cycle.
    """

    def elaborate(self, platform):
        m = Module()
        fmt = self._fmt
        a, b = _Operand(m, fmt, self.a, "a"), _Operand(m, fmt, self.b, "b")
        swap = _named(m, b.magnitude > a.magnitude, "swap")
        big = _Operand(m, fmt, Mux(swap, self.b, self.a), "big")
        small = _Operand(m, fmt, Mux(swap, self.a, self.b), "small")

        window = fmt.man_bits + 4  # significand, guard, round, sticky
        distance = Signal(fmt.exp_bits)
        m.d.comb += distance.eq(big.exponent - small.exponent)
        big_aligned = Cat(Const(0, 3), big.significand)
        small_aligned = _shift_right_sticky(m, Cat(Const(0, 3), small.significand), distance,
                                            "small_aligned")
        subtract = a.sign ^ b.sign
        total = Signal(window + 1)  # |big| ≥ |small|, so the difference is never negative
        m.d.comb += total.eq(Mux(subtract, big_aligned - small_aligned,
                                 big_aligned + small_aligned))

        carry = total[window]
        carried = Cat(total[0] | total[1], total[2:])  # right by one, keeping the sticky bit
        shifted, shift = _normalize_left(m, total[:window], big.exponent - 1, "normalize")
        exponent = Signal(fmt.exp_bits + 1)
        m.d.comb += exponent.eq(Mux(carry, big.exponent + 1, big.exponent - shift))
        self._round_and_pack(m, exponent, Mux(carry, carried, shifted), big.sign,
                             nan=a.nan | b.nan | (a.inf & b.inf & subtract),
                             inf=a.inf | b.inf, inf_sign=big.sign,
                             zero=total == 0, zero_sign=a.sign & b.sign)
        return m


class FloatMultiplier(_FloatOperator):
    """``y = a · b``, correctly rounded (nearest, ties to even), combinational.

    Parameters
    ----------
    fmt : :class:`~hwgen.golden.float.FloatFormat`

    Members
    -------
    a, b : ``In(fmt.width)``
        Operand bit patterns.
    y : ``Out(fmt.width)``
        The product's bit pattern, as :func:`hwgen.golden.float.mul` defines it.

    The significands (hidden one included, subnormals without) are multiplied exactly; the
    product is normalized left (never below the smallest exponent) or, for results below the
    normal range, shifted right into a subnormal with a sticky bit, then rounded.

    Latency: 0 cycles (combinational). Throughput: one multiplication per cycle.
    """

    def elaborate(self, platform):
        m = Module()
        fmt = self._fmt
        a, b = _Operand(m, fmt, self.a, "a"), _Operand(m, fmt, self.b, "b")
        product = Signal(2 * fmt.man_bits + 2)
        m.d.comb += product.eq(a.significand * b.significand)
        # Biased exponent of the result if the product's leading one were its top bit.
        top_exponent = Signal(signed(fmt.exp_bits + 3))
        m.d.comb += top_exponent.eq(a.exponent + b.exponent - (fmt.bias - 1))
        subnormal = _named(m, top_exponent < 1, "subnormal")

        shifted, shift = _normalize_left(m, product, Mux(subnormal, 0, top_exponent - 1),
                                         "normalize")
        exponent = Signal(fmt.exp_bits + 2)
        m.d.comb += exponent.eq(Mux(subnormal, 1, top_exponent - shift))
        underflow = Signal(fmt.exp_bits + 2)
        m.d.comb += underflow.eq(Mux(subnormal, 1 - top_exponent, 0))
        normalized = Mux(subnormal, _shift_right_sticky(m, product, underflow, "subnormal"),
                         shifted)
        sign = a.sign ^ b.sign
        self._round_and_pack(m, exponent, normalized, sign,
                             nan=a.nan | b.nan | (a.inf & b.zero) | (a.zero & b.inf),
                             inf=a.inf | b.inf, inf_sign=sign,
                             zero=a.zero | b.zero, zero_sign=sign)
        return m
