"""Bit-exact model of IEEE 754 addition and multiplication in small binary formats.

Values are unsigned integers holding the bit patterns (``uint16`` for ``fp16`` and ``bf16``).
The rules, which the hardware in :mod:`hwgen.cores.common.float` implements:

* rounding is round to nearest, ties to even;
* subnormals are full members of the format, as operands and as results (gradual
  underflow): nothing is flushed to zero;
* a result too large for the format is an infinity of the right sign;
* every NaN result is the canonical quiet NaN (sign 0, exponent all ones, only the top
  fraction bit set), whatever NaN payloads the operands carried; ``inf − inf`` and
  ``0 · inf`` are NaN;
* zeros are signed as IEEE says under round to nearest: ``x + (−x) = +0``,
  ``(−0) + (−0) = −0``, and a product's sign is the XOR of its operands' signs.

How it is computed: both operands are decoded exactly into float64, added or multiplied
there and rounded once to the format with ``np.rint`` (ties to even). The float64 product of
two such values is exact (at most 2·(man_bits+1) ≤ 53 significand bits and no overflow or
underflow for ``exp_bits ≤ 8``); their float64 sum is exact for ``fp16`` and rounded at 53
bits otherwise, which cannot change a second rounding to ``man_bits + 1 ≤ 25`` bits
(double rounding is innocuous when 53 ≥ 2·p + 2).
"""
import dataclasses

import numpy as np

__all__ = ["FloatFormat", "FP16", "BF16", "FORMATS", "to_float64", "from_float64", "add",
           "mul", "negate", "is_nan"]


@dataclasses.dataclass(frozen=True)
class FloatFormat:
    """An IEEE 754 binary interchange-style format: sign, ``exp_bits``, ``man_bits``."""
    name: str
    exp_bits: int
    man_bits: int

    def __post_init__(self):
        if not 2 <= self.exp_bits <= 8 or not 1 <= self.man_bits <= 23:
            raise ValueError(f"float format must have 2..8 exponent and 1..23 fraction bits, "
                             f"not {self.exp_bits} and {self.man_bits}")

    @property
    def width(self):
        return 1 + self.exp_bits + self.man_bits

    @property
    def bias(self):
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def exp_all_ones(self):
        return (1 << self.exp_bits) - 1

    @property
    def sign_bit(self):
        return 1 << (self.width - 1)

    @property
    def infinity(self):
        """Bit pattern of +inf (OR :attr:`sign_bit` for −inf)."""
        return self.exp_all_ones << self.man_bits

    @property
    def canonical_nan(self):
        return self.infinity | (1 << (self.man_bits - 1))

    @property
    def max_finite(self):
        return self.infinity - 1

    def patterns(self):
        """Every bit pattern of the format, in order."""
        return np.arange(1 << self.width, dtype=np.int64)


FP16 = FloatFormat("fp16", 5, 10)
BF16 = FloatFormat("bf16", 8, 7)
FORMATS = {fmt.name: fmt for fmt in (FP16, BF16)}


def _fields(bits, fmt):
    bits = np.asarray(bits, dtype=np.int64)
    return (bits >> (fmt.width - 1)) & 1, (bits >> fmt.man_bits) & fmt.exp_all_ones, \
        bits & ((1 << fmt.man_bits) - 1)


def is_nan(bits, fmt):
    _, exponent, fraction = _fields(bits, fmt)
    return (exponent == fmt.exp_all_ones) & (fraction != 0)


def to_float64(bits, fmt):
    """The exact value of each pattern as float64 (NaNs become float64 NaN)."""
    sign, exponent, fraction = _fields(bits, fmt)
    significand = np.where(exponent == 0, fraction, fraction + (1 << fmt.man_bits))
    scale = np.maximum(exponent, 1) - fmt.bias - fmt.man_bits
    magnitude = np.ldexp(significand.astype(np.float64), scale)
    special = exponent == fmt.exp_all_ones
    magnitude = np.where(special, np.where(fraction == 0, np.inf, np.nan), magnitude)
    return np.where(sign == 1, -magnitude, magnitude)


def from_float64(x, fmt):
    """``x`` rounded to the format (nearest, ties to even), as bit patterns.

    NaN becomes the canonical NaN; magnitudes beyond the largest finite value after rounding
    become infinities.
    """
    x = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x)
    finite = np.isfinite(magnitude)
    safe = np.where(finite, magnitude, 0.0)
    _, frexp_exponent = np.frexp(safe)  # safe = f · 2**frexp_exponent, 0.5 ≤ f < 1
    exponent = np.maximum(frexp_exponent.astype(np.int64) - 1, 1 - fmt.bias)
    exponent = np.where(safe == 0, 1 - fmt.bias, exponent)
    quantum = exponent - fmt.man_bits
    significand = np.rint(np.ldexp(safe, -quantum)).astype(np.int64)
    # (biased exponent − 1) · 2**man_bits + significand with its leading one: a significand
    # rounded up to 2**(man_bits+1) carries into the exponent, a subnormal one (exponent
    # clamped at 1 − bias, no leading one) packs with a zero exponent field.
    packed = ((exponent + fmt.bias - 1) << fmt.man_bits) + significand
    packed = np.minimum(packed, fmt.infinity)
    packed = np.where(finite, packed, fmt.infinity)
    bits = np.where(np.signbit(x), packed | fmt.sign_bit, packed)
    return np.where(np.isnan(x), fmt.canonical_nan, bits)


def _rounded(result, fmt):
    return from_float64(result, fmt).astype(np.uint16 if fmt.width <= 16 else np.uint32)


def add(a, b, fmt):
    """``a + b`` for bit patterns ``a`` and ``b`` (broadcast), as bit patterns."""
    with np.errstate(invalid="ignore"):
        return _rounded(to_float64(a, fmt) + to_float64(b, fmt), fmt)


def mul(a, b, fmt):
    """``a · b`` for bit patterns ``a`` and ``b`` (broadcast), as bit patterns."""
    with np.errstate(invalid="ignore"):
        return _rounded(to_float64(a, fmt) * to_float64(b, fmt), fmt)


def negate(bits, fmt):
    """``−x``: the sign bit flipped (exact, NaN payloads kept), as hardware does it."""
    bits = np.asarray(bits)
    return bits ^ np.asarray(fmt.sign_bit, dtype=bits.dtype)
