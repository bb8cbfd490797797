"""The float golden model against exact rational arithmetic and against NumPy's float16."""
import fractions
import itertools

import numpy as np
import pytest

from hwgen.golden import float as fp

TINY = [fp.FloatFormat("e3m2", 3, 2), fp.FloatFormat("e4m2", 4, 2), fp.FloatFormat("e2m3", 2, 3)]


def slow_decode(bits, fmt):
    """``(kind, value)``: ('nan', None), ('inf', ±1) or ('finite', (Fraction, negative))."""
    sign = bits >> (fmt.width - 1)
    exponent = (bits >> fmt.man_bits) & fmt.exp_all_ones
    fraction = bits & ((1 << fmt.man_bits) - 1)
    if exponent == fmt.exp_all_ones:
        return ("nan", None) if fraction else ("inf", -1 if sign else 1)
    if exponent == 0:
        value = fractions.Fraction(fraction, 1 << fmt.man_bits) * fractions.Fraction(2) ** (
            1 - fmt.bias)
    else:
        value = (1 + fractions.Fraction(fraction, 1 << fmt.man_bits)) * fractions.Fraction(
            2) ** (exponent - fmt.bias)
    return "finite", (-value if sign else value, bool(sign))


def slow_round(value, negative_zero, fmt):
    """Round a Fraction to the nearest pattern (ties to even) by walking the exponents."""
    sign = fmt.sign_bit if value < 0 or (value == 0 and negative_zero) else 0
    magnitude = abs(value)
    if magnitude == 0:
        return sign
    exponent = 1 - fmt.bias
    while magnitude >= fractions.Fraction(2) ** (exponent + 1):
        exponent += 1
    quantum = fractions.Fraction(2) ** (exponent - fmt.man_bits)
    scaled = magnitude / quantum
    floor = scaled.numerator // scaled.denominator
    remainder = scaled - floor
    up = remainder > fractions.Fraction(1, 2) or (remainder == fractions.Fraction(1, 2)
                                                   and floor % 2 == 1)
    significand = floor + up
    if significand == 2 << fmt.man_bits:
        significand //= 2
        exponent += 1
    if significand < 1 << fmt.man_bits:  # subnormal
        return sign | significand
    biased = exponent + fmt.bias
    if biased >= fmt.exp_all_ones:
        return sign | fmt.infinity
    return sign | (biased << fmt.man_bits) | (significand - (1 << fmt.man_bits))


def slow_add(a, b, fmt):
    (kind_a, va), (kind_b, vb) = slow_decode(a, fmt), slow_decode(b, fmt)
    if "nan" in (kind_a, kind_b) or (kind_a == kind_b == "inf" and va != vb):
        return fmt.canonical_nan
    if kind_a == "inf" or kind_b == "inf":
        inf_sign = va if kind_a == "inf" else vb
        return fmt.infinity | (fmt.sign_bit if inf_sign < 0 else 0)
    total = va[0] + vb[0]
    return slow_round(total, total == 0 and va[1] and vb[1], fmt)


def slow_mul(a, b, fmt):
    (kind_a, va), (kind_b, vb) = slow_decode(a, fmt), slow_decode(b, fmt)
    if "nan" in (kind_a, kind_b):
        return fmt.canonical_nan
    negative = bool((a ^ b) & fmt.sign_bit)
    if "inf" in (kind_a, kind_b):
        other = vb if kind_a == "inf" else va
        if isinstance(other, tuple) and other[0] == 0:
            return fmt.canonical_nan
        return fmt.infinity | (fmt.sign_bit if negative else 0)
    return slow_round(va[0] * vb[0], negative, fmt)


def interesting(fmt):
    """Zeros, subnormals, the normal boundary, one, the largest finite values, infinities, NaNs."""
    man = 1 << fmt.man_bits
    magnitudes = [0, 1, 2, man - 1, man, man + 1, fmt.bias << fmt.man_bits,
                  (fmt.bias << fmt.man_bits) + 1, fmt.max_finite - 1, fmt.max_finite,
                  fmt.infinity, fmt.infinity + 1, fmt.canonical_nan]
    return [m | s for m in magnitudes for s in (0, fmt.sign_bit)]


@pytest.mark.parametrize("fmt", TINY, ids=lambda fmt: fmt.name)
@pytest.mark.parametrize("op,slow", [(fp.add, slow_add), (fp.mul, slow_mul)],
                         ids=["add", "mul"])
def test_tiny_formats_exhaustively(fmt, op, slow):
    patterns = fmt.patterns()
    a, b = np.meshgrid(patterns, patterns, indexing="ij")
    got = op(a.ravel(), b.ravel(), fmt)
    expected = [slow(int(x), int(y), fmt) for x, y in zip(a.ravel(), b.ravel())]
    assert got.tolist() == expected


@pytest.mark.parametrize("fmt", [fp.FP16, fp.BF16], ids=lambda fmt: fmt.name)
@pytest.mark.parametrize("op,slow", [(fp.add, slow_add), (fp.mul, slow_mul)],
                         ids=["add", "mul"])
def test_16_bit_formats_on_random_and_special_pairs(fmt, op, slow):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 1 << 16, 3000)
    # Operands close in magnitude exercise cancellation, far apart the sticky bit.
    b = np.concatenate([rng.integers(0, 1 << 16, 1000),
                        (a[1000:2000] ^ 0x8000) + rng.integers(-40, 40, 1000),
                        a[2000:] - (rng.integers(1, 20, 1000) << fmt.man_bits)]) & 0xFFFF
    specials = np.array(interesting(fmt))
    sa, sb = np.meshgrid(specials, specials, indexing="ij")
    a = np.concatenate([a, sa.ravel()])
    b = np.concatenate([b, sb.ravel()])
    got = op(a, b, fmt)
    assert got.tolist() == [slow(int(x), int(y), fmt) for x, y in zip(a, b)]


def test_fp16_agrees_with_numpy_float16():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 1 << 16, 200_000).astype(np.uint16)
    b = rng.integers(0, 1 << 16, 200_000).astype(np.uint16)
    with np.errstate(all="ignore"):
        total = (a.view(np.float16) + b.view(np.float16)).view(np.uint16)
        product = (a.view(np.float16) * b.view(np.float16)).view(np.uint16)
    for op, reference in ((fp.add, total), (fp.mul, product)):
        got = op(a, b, fp.FP16)
        nan = fp.is_nan(reference, fp.FP16)
        assert (got[~nan] == reference[~nan]).all()
        assert (got[nan] == fp.FP16.canonical_nan).all()


def test_round_trip_through_float64_keeps_every_non_nan_pattern():
    for fmt in (fp.FP16, fp.BF16):
        patterns = fmt.patterns()
        back = fp.from_float64(fp.to_float64(patterns, fmt), fmt)
        nan = fp.is_nan(patterns, fmt)
        assert (back[~nan] == patterns[~nan]).all()
        assert (back[nan] == fmt.canonical_nan).all()


def test_negate_flips_only_the_sign():
    assert fp.negate(np.uint16(0x3C00), fp.FP16) == 0xBC00
    assert fp.negate(np.uint16(0x7E01), fp.FP16) == 0xFE01


def test_format_rejects_impossible_widths():
    with pytest.raises(ValueError, match=r"^float format must have 2..8 exponent and 1..23 "
                                         r"fraction bits, not 9 and 7$"):
        fp.FloatFormat("x", 9, 7)


def test_signed_zero_rules():
    zero, negative_zero, one = 0x0000, 0x8000, 0x3C00
    assert fp.add(negative_zero, negative_zero, fp.FP16) == negative_zero
    assert fp.add(zero, negative_zero, fp.FP16) == zero
    assert fp.add(one, one ^ 0x8000, fp.FP16) == zero
    assert fp.mul(negative_zero, one, fp.FP16) == negative_zero
    assert list(itertools.islice(interesting(fp.FP16), 2)) == [zero, negative_zero]
