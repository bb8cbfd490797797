"""One lane of a dot-product engine: a weight code times an activation, or a slice of it.

Every lane of an engine is the same component, so the emitted Verilog holds it once per
distinct configuration and hierarchical synthesis maps it once (see
:mod:`hwgen.flow.hierarchy`); what the lanes share (the runtime precision, the digit slice,
the group's BitMoD special value) comes in on ports.
"""
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.bitserial.decode import BitModTable, extend_code
from hwgen.cores.common import signed_width
from hwgen.golden.bitserial import RADIX_BITS, digit_count, max_abs_activation

__all__ = ["DigitLane", "MultiplierLane"]


def _activation_shape(p):
    return signed(p.act_bits) if p.act_signed else unsigned(p.act_bits)


def _bitmod_ports(table):
    return {"special_mantissa": In(table.mantissa_bits),
            "special_exponent": In(range(table.max_exponent + 1)),
            "special_negative": In(1)}


class _Lane(wiring.Component):
    """Ports every lane has: ``a``, ``code``, and the shared decoding inputs of its format."""

    def __init__(self, params, members, *, plane_bits=None):
        p = params
        self._p = p
        self._bitmod = BitModTable(p.weight_bits) if p.weight_format == "bitmod" else None
        members = {"a": In(_activation_shape(p)), "code": In(plane_bits or p.weight_bits),
                   **members}
        if self._bitmod:
            members.update(_bitmod_ports(self._bitmod))
        elif not plane_bits:  # a digit plane arrives extended to its precision
            members["below_prec"] = In(p.weight_bits)
            if p.weight_format == "int":
                members["sign_at"] = In(p.weight_bits)
        super().__init__(members)

    def _sign_at(self):
        return self.sign_at if self._p.weight_format == "int" else None

    def _decoded(self, m):
        """``(magnitude source, activation, negative)``: BitMoD codes become an odd mantissa
        and the activation shifted by the exponent; other codes are extended from the
        runtime precision by the caller."""
        special = (self.special_mantissa, self.special_exponent, self.special_negative)
        mantissa, exponent, negative = self._bitmod.decode(m, self.code, special, "code")
        shifted = Signal(signed(len(self.a) + self._bitmod.max_exponent + 1), name="shifted")
        m.d.comb += shifted.eq(self.a << exponent)
        return mantissa, shifted, negative


class DigitLane(_Lane):
    """``digits`` weight digits of one slice times the activation, as one shifted sum.

    The code (extended from the runtime precision, or a BitMoD mantissa) is cut into
    ``slices`` slices of ``digits`` digits; ``slice`` picks one (0 is the least significant).
    Each digit selects 0, ``A`` or ``2A`` (Booth), possibly negated. A negated row enters the
    sum as its one's complement and sets its bit of ``invert``: the engine adds the missing
    ones once for all lanes, so no lane needs an incrementer.

    ``term = Σ_j row_j · R^j`` with ``R`` = 2 (``bit``) or 4 (``booth4``), and the slice's
    value times ``A`` is ``term + Σ_j invert_j · R^j``.

    With ``planes`` the lane is given the slice itself, a digit plane (see
    :func:`hwgen.golden.bitserial.digit_planes`), instead of the whole code: it has no
    precision inputs and no slice select.

    Members
    -------
    a, code : ``In``
        The activation and the weight code (``planes``: the digit plane).
    below_prec : ``In(weight_bits)``
        ``int``/``uint``: bit ``k`` is set for code bits under the runtime precision.
    sign_at : ``In(weight_bits)``
        ``int``: one-hot at the sign bit of the runtime precision.
    special_mantissa, special_exponent, special_negative : ``In``
        ``bitmod``: the group's special value.
    slice : ``In(range(slices))``
        When ``slices > 1``, without ``planes``.
    first : ``In(1)``
        ``digit="bit"``, ``int`` and ``slices > 1``: the slice is the most significant one of
        the beat, whose top bit is the (negative) sign bit.
    term : ``Out(signed(...))``, invert : ``Out(digits)``
    """

    def __init__(self, params, *, digit, digits, slices, planes=False):
        p = params
        self._digit = digit
        self._digits = digits
        self._slices = slices
        self._planes = planes
        self.radix_bits = RADIX_BITS[digit]
        radix = 1 << self.radix_bits
        bitmod = BitModTable(p.weight_bits) if p.weight_format == "bitmod" else None
        top = max_abs_activation(p.act_bits, p.act_signed) << (bitmod.max_exponent if bitmod
                                                               else 0)
        largest_digit = 2 if digit == "booth4" else 1
        bound = (top * largest_digit + 1) * (radix ** digits - 1) // (radix - 1)
        self._row_width = signed_width(-top * largest_digit - 1, top * largest_digit)
        members = {"term": Out(signed(signed_width(-bound, bound))), "invert": Out(digits)}
        window_bits = digits * self.radix_bits + (digit == "booth4")
        if slices > 1:
            if not planes:
                members["slice"] = In(range(slices))
            if digit == "bit" and p.weight_format == "int":
                members["first"] = In(1)
        super().__init__(params, members, plane_bits=window_bits if planes else None)

    def elaborate(self, platform):
        m = Module()
        p = self._p
        radix_bits = RADIX_BITS[self._digit]
        width = self._slices * self._digits * radix_bits
        lane_negative = Const(0, 1)
        activation = self.a
        if self._planes:
            window = self.code
        else:
            if self._bitmod:
                mantissa, activation, lane_negative = self._decoded(m)
                source = Cat(mantissa, Const(0, width - len(mantissa)))
            else:
                # Bits read at a precision: those of the slices its beat walks.
                slice_bits = self._digits * radix_bits

                def read_below(prec):
                    digits = digit_count(self._digit, p.weight_format, prec)
                    return -(-digits // self._digits) * slice_bits

                source = extend_code(self.code, self.below_prec, self._sign_at(), width,
                                     read_below)
            # Materialized once: every digit below reads these bits.
            extended = Signal(width, name="extended")
            m.d.comb += extended.eq(source)

            # The slice's bits (Booth: with the bit below the slice, which its lowest digit
            # reads).
            window_bits = self._digits * radix_bits + (radix_bits == 2)
            padded = Cat(Const(0, 1), extended) if radix_bits == 2 else extended
            window = Signal(window_bits, name="window")
            if self._slices == 1:
                m.d.comb += window.eq(padded[:window_bits])
            else:
                step = self._digits * radix_bits
                with m.Switch(self.slice):
                    for index in range(self._slices):
                        with m.Case(index):
                            m.d.comb += window.eq(padded[index * step:index * step + window_bits])
        if self._digit == "bit" and p.weight_format == "int":
            top_negative = self.first if self._slices > 1 else Const(1, 1)
        else:
            top_negative = Const(0, 1)
        rows, inverts = [], []
        for j in range(self._digits):
            if self._digit == "bit":
                one, two = window[j], Const(0, 1)
                negative = top_negative if j == self._digits - 1 else Const(0, 1)
            else:
                low, middle, high = window[2 * j], window[2 * j + 1], window[2 * j + 2]
                one = middle ^ low
                two = (high & ~middle & ~low) | (~high & middle & low)
                negative = high
            selected = Signal(signed(self._row_width), name=f"selected{j}")
            invert = Signal(name=f"invert{j}")
            row = Signal(signed(self._row_width), name=f"row{j}")
            m.d.comb += [
                selected.eq(Mux(one, activation, Mux(two, activation << 1, 0))),
                invert.eq(negative ^ lane_negative),
                row.eq(Mux(invert, ~selected, selected)),
            ]
            rows.append(row << (radix_bits * j))
            inverts.append(invert)
        m.d.comb += [self.term.eq(sum(rows[1:], rows[0])), self.invert.eq(Cat(*inverts))]
        return m


class MultiplierLane(_Lane):
    """``product = a · value(code)`` with a multiplier of the narrowest exact width.

    ``int`` codes are ``weight_bits``-bit two's complement operands (a signed activation
    meets a ``act_bits × weight_bits`` multiplier); ``uint`` codes against a signed
    activation need one more bit; BitMoD codes are decoded to their signed value.

    Members: ``a``, ``code``, ``below_prec``, ``sign_at`` or the ``special_*`` inputs as
    :class:`DigitLane`, and ``product : Out(signed(...))``.
    """

    def __init__(self, params):
        p = params
        self._value_shape = self.value_shape(p)
        value_bits = self._value_shape.width - self._value_shape.signed
        value_top = 1 << value_bits
        a_top = max_abs_activation(p.act_bits, p.act_signed)
        super().__init__(params, {
            "product": Out(signed(signed_width(-a_top * value_top, a_top * value_top)))})

    @staticmethod
    def value_shape(p):
        if p.weight_format == "bitmod":
            table = BitModTable(p.weight_bits)
            largest = ((1 << table.mantissa_bits) - 1) << table.max_exponent
            return signed(signed_width(-largest, largest))
        if p.weight_format == "int":
            return signed(p.weight_bits)
        return unsigned(p.weight_bits) if not p.act_signed else signed(p.weight_bits + 1)

    def elaborate(self, platform):
        m = Module()
        p = self._p
        value = Signal(self._value_shape, name="value")
        if self._bitmod:
            mantissa, exponent, negative = self._bitmod.decode(
                m, self.code, (self.special_mantissa, self.special_exponent,
                               self.special_negative), "code")
            magnitude = mantissa << exponent
            m.d.comb += value.eq(Mux(negative, -magnitude, magnitude))
        else:
            m.d.comb += value.eq(extend_code(self.code, self.below_prec, self._sign_at(),
                                             len(value)))
        m.d.comb += self.product.eq(self.a * value)
        return m
