# amaranth: UnusedElaboratable=no
"""The float adder and multiplier in the Amaranth simulator against the golden model."""
import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from hwgen.cores.common.float import FloatAdder, FloatMultiplier, double, halve
from hwgen.golden import float as fp

# Exponent ranges wider and narrower than the alignment window, so every clamp is exercised.
TINY = [fp.FloatFormat("e4m2", 4, 2), fp.FloatFormat("e2m3", 2, 3)]
OPERATORS = [(FloatAdder, fp.add), (FloatMultiplier, fp.mul)]


def evaluate(component, a, b):
    """``y`` of a combinational operator for each pair of operands."""
    results = []

    async def testbench(ctx):
        for x, y in zip(a, b):
            ctx.set(component.a, int(x))
            ctx.set(component.b, int(y))
            results.append(ctx.get(component.y))

    simulator = Simulator(component)
    simulator.add_testbench(testbench)
    simulator.run()
    return np.array(results)


def special_pairs(fmt):
    man = 1 << fmt.man_bits
    magnitudes = [0, 1, man - 1, man, man + 1, fmt.bias << fmt.man_bits, fmt.max_finite,
                  fmt.max_finite - 1, fmt.infinity, fmt.canonical_nan, fmt.infinity + 1]
    values = [mag | sign for mag in magnitudes for sign in (0, fmt.sign_bit)]
    a, b = np.meshgrid(values, values, indexing="ij")
    return a.ravel(), b.ravel()


def stress_pairs(fmt, count, seed):
    """Random pairs, pairs of nearly opposite values (cancellation) and far-apart pairs."""
    rng = np.random.default_rng(seed)
    mask = (1 << fmt.width) - 1
    a = rng.integers(0, 1 << fmt.width, 3 * count)
    b = np.concatenate([
        rng.integers(0, 1 << fmt.width, count),
        (a[count:2 * count] ^ fmt.sign_bit) + rng.integers(-6, 7, count),
        a[2 * count:] - (rng.integers(1, fmt.man_bits + 6, count) << fmt.man_bits),
    ]) & mask
    return a, b


@pytest.mark.parametrize("fmt", TINY, ids=lambda fmt: fmt.name)
@pytest.mark.parametrize("component,model", OPERATORS, ids=["add", "mul"])
def test_tiny_formats_exhaustively(fmt, component, model):
    a, b = np.meshgrid(fmt.patterns(), fmt.patterns(), indexing="ij")
    got = evaluate(component(fmt), a.ravel(), b.ravel())
    assert got.tolist() == model(a.ravel(), b.ravel(), fmt).tolist()


@pytest.mark.parametrize("fmt", [fp.FP16, fp.BF16], ids=lambda fmt: fmt.name)
@pytest.mark.parametrize("component,model", OPERATORS, ids=["add", "mul"])
def test_16_bit_formats(fmt, component, model):
    a, b = (np.concatenate(pair) for pair in zip(special_pairs(fmt), stress_pairs(fmt, 300, 9)))
    got = evaluate(component(fmt), a, b)
    assert got.tolist() == model(a, b, fmt).tolist()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", [fp.FP16, fp.BF16], ids=lambda fmt: fmt.name)
@pytest.mark.parametrize("component,model", OPERATORS, ids=["add", "mul"])
def test_16_bit_formats_long(fmt, component, model):
    a, b = stress_pairs(fmt, 10_000, 10)
    got = evaluate(component(fmt), a, b)
    assert got.tolist() == model(a, b, fmt).tolist()


@pytest.mark.slow
@pytest.mark.parametrize("component,model", OPERATORS, ids=["add", "mul"])
@pytest.mark.parametrize("fmt", [fp.FloatFormat("e4m3", 4, 3), fp.FloatFormat("e3m3", 3, 3)],
                         ids=lambda fmt: fmt.name)
def test_wider_tiny_formats_exhaustively(fmt, component, model):
    a, b = np.meshgrid(fmt.patterns(), fmt.patterns(), indexing="ij")
    got = evaluate(component(fmt), a.ravel(), b.ravel())
    assert got.tolist() == model(a.ravel(), b.ravel(), fmt).tolist()


def test_rejects_a_format_that_is_not_one():
    with pytest.raises(TypeError, match=r"^Format must be a FloatFormat, not 'fp16'$"):
        FloatAdder("fp16")


def evaluate_unary(function, fmt, patterns):
    """A combinational function of one bit pattern, for each pattern."""
    x = Signal(fmt.width)
    y = Signal(fmt.width)
    m = Module()
    m.d.comb += y.eq(function(fmt, x))
    results = []

    async def testbench(ctx):
        for value in patterns:
            ctx.set(x, int(value))
            results.append(ctx.get(y))

    simulator = Simulator(m)
    simulator.add_testbench(testbench)
    simulator.run()
    return np.array(results)


@pytest.mark.parametrize("fmt", TINY + [fp.FP16, fp.BF16], ids=lambda fmt: fmt.name)
def test_double_and_halve_match_add_and_mul(fmt):
    patterns = fmt.patterns() if fmt.width <= 8 else np.concatenate([
        np.arange(0, 1 << 11), np.arange(fmt.infinity - 2048, fmt.infinity + 16),
        np.random.default_rng(4).integers(0, 1 << fmt.width, 3000)])
    patterns = np.concatenate([patterns, patterns | fmt.sign_bit]) & ((1 << fmt.width) - 1)
    half = fp.from_float64(0.5, fmt)
    assert evaluate_unary(double, fmt, patterns).tolist() == \
        fp.add(patterns, patterns, fmt).tolist()
    assert evaluate_unary(halve, fmt, patterns).tolist() == fp.mul(patterns, half, fmt).tolist()
