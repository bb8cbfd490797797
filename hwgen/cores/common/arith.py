"""Combinational arithmetic helpers that several families build their datapaths from."""
from amaranth import Const, Value

from hwgen.golden.arith import signed_width

__all__ = ["adder_tree", "popcount", "signed_width"]


def adder_tree(terms):
    """Sum of ``terms`` as a balanced binary tree (depth ⌈log2 n⌉, not n − 1).

    Each level widens by one bit, so the result cannot overflow whatever the operands.
    """
    level = [Value.cast(term) for term in terms]
    if not level:
        return Const(0, 1)
    while len(level) > 1:
        pairs = [level[index] + level[index + 1] for index in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def popcount(bits):
    """Number of set bits among ``bits`` (a Value or an iterable of 1-bit values)."""
    return adder_tree(list(Value.cast(bits)) if isinstance(bits, Value) else list(bits))
