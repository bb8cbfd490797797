"""Weight-code decoding shared by the bit-serial engine and the bit-parallel baseline."""
from amaranth import Cat, Const, Mux, Signal

from hwgen.golden.bitserial import BITMOD_MAGNITUDES, BITMOD_SPECIALS

__all__ = ["BitModTable", "extend_code"]


def _mantissa_exponent(magnitude):
    """``magnitude`` as ``mantissa << exponent`` with an odd mantissa (0 → (0, 0))."""
    if magnitude == 0:
        return 0, 0
    exponent = (magnitude & -magnitude).bit_length() - 1
    return magnitude >> exponent, exponent


class BitModTable:
    """BitMoD codes as ``(-1)**negative · mantissa · 2**exponent``.

    A bit-serial datapath then walks only the few mantissa bits and shifts the activation by
    the exponent, instead of walking every bit of the magnitude.
    """

    def __init__(self, weight_bits):
        magnitudes = BITMOD_MAGNITUDES[weight_bits]
        self.weight_bits = weight_bits
        self._plain = [_mantissa_exponent(magnitude) for magnitude in magnitudes]
        self._special = [(*_mantissa_exponent(abs(value)), int(value < 0))
                         for value in BITMOD_SPECIALS[weight_bits]]
        every = self._plain + [(mantissa, exponent) for mantissa, exponent, _ in self._special]
        self.mantissa_bits = max(mantissa for mantissa, _ in every).bit_length()
        self.max_exponent = max(exponent for _, exponent in every)

    def special(self, m, dtype, name="special"):
        """Signals ``(mantissa, exponent, negative)`` of the special value for ``dtype``."""
        fields = self._signals(name)
        with m.Switch(dtype):
            for index, (mantissa, exponent, negative) in enumerate(self._special):
                with m.Case(index):
                    m.d.comb += [fields[0].eq(mantissa), fields[1].eq(exponent),
                                 fields[2].eq(negative)]
        return fields

    def decode(self, m, code, special, name):
        """Signals ``(mantissa, exponent, negative)`` of ``code`` given the group's special."""
        mantissa, exponent, negative = self._signals(name)
        index = code[:self.weight_bits - 1]
        sign = code[self.weight_bits - 1]
        with m.If(sign & (index == 0)):
            m.d.comb += [mantissa.eq(special[0]), exponent.eq(special[1]),
                         negative.eq(special[2])]
        with m.Else():
            m.d.comb += negative.eq(sign)
            with m.Switch(index):
                for value, (plain_mantissa, plain_exponent) in enumerate(self._plain):
                    with m.Case(value):
                        m.d.comb += [mantissa.eq(plain_mantissa), exponent.eq(plain_exponent)]
        return mantissa, exponent, negative

    def _signals(self, name):
        return (Signal(self.mantissa_bits, name=f"{name}_mantissa"),
                Signal(range(self.max_exponent + 1), name=f"{name}_exponent"),
                Signal(name=f"{name}_negative"))


def extend_code(code, below_prec, sign_at, width, read_below=None):
    """``code`` read at a runtime precision (2 or more) and extended to ``width`` bits.

    ``below_prec[k]`` is 1 for bit positions under the precision; bits at and above it become
    the sign bit. ``sign_at`` (two's complement codes; None for unsigned ones, whose sign is
    0) is one-hot at the sign bit, the highest bit under the precision. Both are decoded once
    from the precision and shared by every lane, so a lane cannot see that some of their bits
    are constant: this function leaves out the multiplexers it knows are never needed.
    ``read_below(prec)`` is how many low bits of the result are read at ``prec`` (default:
    all); a bit that is under every precision at which it is read passes unchanged.
    """
    precisions = range(2, len(code) + 1)
    read_below = read_below or (lambda prec: width)
    sign = Const(0, 1)
    if sign_at is not None:
        sign = Cat(*[code[k] & sign_at[k] for k in range(1, len(code))]).any()
    extended = []
    for k in range(width):
        if not any(prec <= k < read_below(prec) for prec in precisions):
            extended.append(code[k] if k < len(code) else sign)
        else:
            extended.append(Mux(below_prec[k], code[k], sign) if k < len(code) else sign)
    return Cat(*extended)
