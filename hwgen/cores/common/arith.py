"""Combinational arithmetic helpers that several families build their datapaths from."""
from amaranth import Const, Value

__all__ = ["adder_tree", "popcount", "signed_width"]


def signed_width(lo, hi):
    """Bits of the smallest two's complement shape holding every integer in ``[lo, hi]``."""
    return max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length()) + 1


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
