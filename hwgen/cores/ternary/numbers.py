"""The arithmetic a ternary datapath is built from: exact integers or IEEE floats.

The table, the reduction tree and the accumulator are written once against this interface;
:func:`numbers_for` picks the implementation for a parameter set.
"""
from amaranth import Cat, Const, Mux, Signal, signed, unsigned

from hwgen.cores.common import popcount, signed_width
from hwgen.cores.common.float import FloatAdder, FloatMultiplier, double, halve
from hwgen.golden.float import FORMATS

__all__ = ["IntNumbers", "FloatNumbers", "numbers_for"]


class IntNumbers:
    """Two's complement integers; every addition widens, so nothing overflows before the
    accumulator (which wraps at ``acc_bits``)."""

    def __init__(self, act_bits):
        self.act_bits = act_bits

    def sum_shape(self, count):
        """Shape holding any sum of ``count`` activations (each weighted by ±1)."""
        bound = count << (self.act_bits - 1)
        return signed(signed_width(-bound, bound))

    def add(self, m, x, y, name):
        return x + y

    def negate(self, x):
        return -x

    def double(self, x):
        return x << 1

    def halve(self, x):
        """``x / 2`` for an even ``x``."""
        return x >> 1

    def signed_terms(self, values, negatives, nonzeros):
        """``v``, ``−v`` or 0 per value, plus a correction term.

        A negated value is its one's complement (``−v − 1``, no incrementer per term); the
        missing ones are added back once, as the count of negated terms.
        """
        terms = [Mux(nonzero, Mux(negative, ~value, value), 0)
                 for value, negative, nonzero in zip(values, negatives, nonzeros)]
        return terms + [popcount([negative & nonzero
                                  for negative, nonzero in zip(negatives, nonzeros)])]

    def correction_terms(self):
        return 1

    def times(self, m, x, code, name):
        """``x · w`` for a two's complement weight code ``w`` on an array multiplier: one
        partial product per weight bit, the sign bit's subtracted."""
        # Partial products rather than `*`: Yosys would give every `*`, however narrow, an
        # 18×18 DSP block on ECP5 (and a MAC16 on iCE40), hiding the multipliers from the
        # LUT counts the kinds are compared by; an act_bits × 2 product is two partial
        # products and one subtractor in any technology.
        rows = [Mux(bit, x, 0) << index for index, bit in enumerate(code)]
        product = Signal(signed(self.act_bits + len(code)), name=name)
        m.d.comb += product.eq(sum(rows[:-1]) - rows[-1])
        return product

    def multiply(self, m, x, y, name):
        """The exact product of two ``act_bits``-wide values (a full multiplier; synthesis maps
        it to DSP blocks on FPGAs, which the reports count as their own column)."""
        product = Signal(signed(2 * self.act_bits), name=name)
        m.d.comb += product.eq(x * y)
        return product


class FloatNumbers:
    """IEEE bit patterns: additions and products on :mod:`hwgen.cores.common.float` units,
    negation by flipping the sign bit."""

    def __init__(self, fmt):
        self.fmt = fmt

    def sum_shape(self, count):
        return unsigned(self.fmt.width)

    def add(self, m, x, y, name):
        adder = FloatAdder(self.fmt)
        m.submodules[name] = adder
        m.d.comb += [adder.a.eq(x), adder.b.eq(y)]
        return adder.y

    def negate(self, x):
        return Cat(x[:self.fmt.width - 1], ~x[self.fmt.width - 1])

    def double(self, x):
        return double(self.fmt, x)

    def halve(self, x):
        return halve(self.fmt, x)

    def signed_terms(self, values, negatives, nonzeros):
        """``v``, ``−v`` or +0 per value (a sign flip is exact: no correction)."""
        return [Mux(nonzero, Cat(value[:self.fmt.width - 1], value[self.fmt.width - 1] ^ negative),
                    0)
                for value, negative, nonzero in zip(values, negatives, nonzeros)]

    def correction_terms(self):
        return 0

    def weight(self, code):
        """The 2-bit two's complement weight code as a float: 0, 1.0, −1.0 (or −2.0)."""
        fmt = self.fmt
        nonzero = code[0] | code[1]
        exponent = Mux(nonzero, fmt.bias + (code == 0b10), 0)
        return Cat(Const(0, fmt.man_bits), exponent[:fmt.exp_bits], code[1])

    def times(self, m, x, code, name):
        """``x`` times a 2-bit weight code, on an IEEE multiplier fed 0 or ±1.0 (synthesis folds
        it to a sign flip and special cases)."""
        return self.multiply(m, x, self.weight(code), name)

    def multiply(self, m, x, y, name):
        """The IEEE product of two bit patterns, on a full multiplier."""
        multiplier = FloatMultiplier(self.fmt)
        m.submodules[name] = multiplier
        m.d.comb += [multiplier.a.eq(x), multiplier.b.eq(y)]
        return multiplier.y


def numbers_for(p):
    return FloatNumbers(FORMATS[p.act_type]) if p.is_float else IntNumbers(p.act_bits)
