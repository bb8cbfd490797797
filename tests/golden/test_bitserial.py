"""The bit-serial golden model against a plain Python loop, and its width rule."""
import itertools

import numpy as np
import pytest

from hwgen.cores.bitserial import BitSerialParams
from hwgen.golden import bitserial as golden


def slow_value(code, weight_format, weight_bits, prec, dtype):
    """Obviously-correct decoding, one code at a time."""
    if weight_format == "bitmod":
        sign, index = code >> (weight_bits - 1), code & ((1 << (weight_bits - 1)) - 1)
        if sign and index == 0:
            return {4: [10, -10, 16, -16], 3: [3, -3, 6, -6]}[weight_bits][dtype]
        magnitude = {4: [0, 1, 2, 3, 4, 6, 8, 12], 3: [0, 1, 2, 4]}[weight_bits][index]
        return -magnitude if sign else magnitude
    low = code % (1 << prec)
    if weight_format == "int" and low >= 1 << (prec - 1):
        return low - (1 << prec)
    return low


def slow_dot(p, transaction):
    beats = len(transaction["a"])
    per_group = p.group_size // p.lanes
    for prec in transaction["prec"]:
        if p.weight_format != "bitmod" and not 2 <= prec <= p.weight_bits:
            return 0, 1
    total = 0
    for first in range(0, beats, per_group):
        group_sum = 0
        for beat in range(first, min(first + per_group, beats)):
            for lane in range(p.lanes):
                group_sum += int(transaction["a"][beat][lane]) * slow_value(
                    int(transaction["w"][beat][lane]), p.weight_format, p.weight_bits,
                    int(transaction["prec"][beat]), int(transaction["dtype"][first]))
        total += int(transaction["scale"][first]) * group_sum
    total %= 1 << p.acc_bits
    return (total - (1 << p.acc_bits) if total >= 1 << (p.acc_bits - 1) else total), 0


@pytest.mark.parametrize("weight_format,weight_bits", [("int", 2), ("int", 5), ("uint", 3),
                                                       ("uint", 8), ("bitmod", 3), ("bitmod", 4)])
def test_every_code_decodes_as_specified(weight_format, weight_bits):
    precisions = [weight_bits] if weight_format == "bitmod" else range(2, weight_bits + 1)
    for prec, dtype, code in itertools.product(precisions, range(4), range(1 << weight_bits)):
        got = golden.weight_values([code], weight_format, weight_bits, prec, dtype)[0]
        assert got == slow_value(code, weight_format, weight_bits, prec, dtype)


@pytest.mark.parametrize("kwargs", [
    dict(lanes=4, weight_bits=4, group_size=8, max_len=64),
    dict(lanes=3, weight_bits=6, weight_format="uint", act_signed=False, group_size=6),
    dict(lanes=4, weight_bits=4, weight_format="bitmod", group_size=12, scale_bits=3),
    dict(lanes=2, weight_bits=8, group_size=2, acc_bits=12),
])
def test_dot_product_matches_a_plain_loop(kwargs):
    p = BitSerialParams(**kwargs)
    cases = golden.directed(p) + golden.random_transactions(p, 200, seed=5)
    assert any(golden.dot_product(p, case)[1] for case in cases) == (p.weight_format != "bitmod")
    for case in cases:
        assert golden.dot_product(p, case) == slow_dot(p, case)


def test_default_acc_bits_is_exact_at_the_extremes():
    p = BitSerialParams(lanes=4, act_bits=8, weight_bits=4, scale_bits=8, max_len=64,
                        group_size=8)
    extreme = -(1 << 7) * -(1 << 3) * 255 * 64
    assert p.acc_bits == extreme.bit_length() + 1
    case = {"a": np.full((16, 4), -128), "w": np.full((16, 4), 8), "prec": np.full(16, 4),
            "scale": np.full(16, 255), "dtype": np.zeros(16, dtype=int)}
    assert golden.dot_product(p, case) == (extreme, 0)


def test_wrap_is_twos_complement():
    assert golden.wrap(127, 8) == 127
    assert golden.wrap(128, 8) == -128
    assert golden.wrap(-129, 8) == 127
    assert golden.wrap(3 << 40, 8) == 0


def test_vectors_are_directed_then_random():
    p = BitSerialParams(lanes=2, weight_bits=3, group_size=4, max_len=16)
    directed = golden.to_vectors(p, golden.directed(p))
    both = golden.vectors(p, 10, seed=1)
    assert both["inputs"]["i"][:len(directed["inputs"]["i"])] == directed["inputs"]["i"]
    assert len(both["outputs"]["o"]) == len(directed["outputs"]["o"]) + 10
    assert golden.vectors(p, 10, seed=1) == both


@pytest.mark.parametrize("digit,digits_per_cycle", [("booth4", 1), ("booth4", 2), ("bit", 1),
                                                    ("bit", 3)])
@pytest.mark.parametrize("weight_format", ["int", "uint"])
def test_digit_planes_spell_every_value(digit, digits_per_cycle, weight_format):
    weight_bits = 7
    p = BitSerialParams(weight_bits=weight_bits, weight_format=weight_format, digit=digit,
                        digits_per_cycle=digits_per_cycle, weight_stream="planes")
    for prec, code in itertools.product(range(2, weight_bits + 1), range(1 << weight_bits)):
        value = slow_value(code, weight_format, weight_bits, prec, 0)
        planes = [int(plane) for plane in golden.digit_planes(p, value, prec)]
        assert len(planes) == golden.beat_cycles(p, prec)
        assert all(0 <= plane < 1 << golden.plane_bits(p) for plane in planes)
        total = 0
        for index, plane in enumerate(planes):
            if digit == "booth4":
                # Digit j of a plane reads bits 2j (the one below), 2j+1 and 2j+2.
                digits = [((plane >> (2 * j)) & 1) + ((plane >> (2 * j + 1)) & 1)
                          - 2 * ((plane >> (2 * j + 2)) & 1) for j in range(digits_per_cycle)]
                radix = 4
            else:
                digits = [(plane >> j) & 1 for j in range(digits_per_cycle)]
                if weight_format == "int" and index == 0:
                    digits[-1] = -digits[-1]
                radix = 2
            total = total * radix ** digits_per_cycle + sum(
                digit_value * radix ** j for j, digit_value in enumerate(digits))
        assert total == value, (prec, code, planes)
        # Booth planes overlap: each plane's lowest bit is the next plane's top bit.
        if digit == "booth4":
            for upper, lower in zip(planes, planes[1:]):
                assert upper & 1 == lower >> (2 * digits_per_cycle)
            assert planes[-1] & 1 == 0
