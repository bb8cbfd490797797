"""The symmetric half table of one activation group, and fetching from it.

Both are written against a number system (:mod:`hwgen.cores.ternary.numbers`), so any
datapath that builds signed partial sums of a group of activations once and selects them by
key (the ternary LUT core, a bit-plane table engine) can reuse them.
"""
import functools
import operator

from amaranth import Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.golden import ternary as golden

__all__ = ["HalfTable", "table_layout", "fetch"]


def table_layout(numbers, mu):
    """The entries of one half table: ``H`` values of ``numbers.sum_shape(mu)``."""
    return data.ArrayLayout(numbers.sum_shape(mu), golden.half_size(mu))


class HalfTable(wiring.Component):
    """Every signed partial sum a group of µ activations can need, half of them.

    Entry ``v − 1`` (``v = 1..H``, ``H = (3**µ − 1)/2``) is ``Σ_j t_j·a_j`` for the
    balanced-ternary digits ``t_j`` of ``v`` (the patterns whose highest nonzero weight is
    +1; the others are their negations). Entries share adders: with ``v = 3**k + r``, entry
    ``v`` is ``a_k`` when ``r = 0`` and ``a_k ± entry |r|`` otherwise — one adder per entry,
    ``H − µ`` in all (see :func:`hwgen.golden.ternary.build_table`, which this matches bit for
    bit, floats included).

    Parameters
    ----------
    numbers : :class:`~hwgen.cores.ternary.numbers.IntNumbers` or ``FloatNumbers``
    activation_shape : shape of one activation
    mu : int

    Members
    -------
    a : ``In(ArrayLayout(activation_shape, mu))``
    entries : ``Out(ArrayLayout(numbers.sum_shape(mu), H))``

    Latency: 0 cycles (combinational); the longest path is µ − 1 adders.
    """

    def __init__(self, numbers, activation_shape, mu):
        self._numbers = numbers
        self._mu = mu
        super().__init__({
            "a": In(data.ArrayLayout(activation_shape, mu)),
            "entries": Out(table_layout(numbers, mu)),
        })

    def elaborate(self, platform):
        m = Module()
        numbers, mu = self._numbers, self._mu
        entries = {}
        for v in range(1, golden.half_size(mu) + 1):
            k = golden.highest_digit(v)
            rest = v - 3 ** k
            if rest == 0:
                value = self.a[k]
            else:
                lower = entries[abs(rest)]
                value = numbers.add(m, self.a[k], lower if rest > 0 else numbers.negate(lower),
                                    f"entry{v}")
            digits = sum(1 for t in golden.trits_of_values([v], mu)[0] if t)
            entries[v] = Signal(numbers.sum_shape(digits), name=f"entry{v}")
            m.d.comb += [entries[v].eq(value), self.entries[v - 1].eq(entries[v])]
        return m


def fetch(m, entries, key, mu, name):
    """``(entry, negative, nonzero)`` that ``key`` selects from a half table's ``entries``
    (indexable, ``H`` equally wide values); the zero group selects 0, and ``negative`` is
    already 0 for it, so ``nonzero`` is the constant 1 (kept for the interface of
    :meth:`~hwgen.cores.ternary.numbers.IntNumbers.signed_terms`).

    The selection is an AND-OR over the decoded magnitude: entry ``v`` is ANDed with
    ``|key| == v`` and the ``H`` results are ORed. A tree of ``H`` two-input multiplexers per
    bit costs about 3.5 gate equivalents per entry and bit; the AND-OR costs about 2, and the
    decoder (``H`` lines) is shared by every bit of the entry.
    """
    magnitude, sign = key[:golden.mag_bits(mu)], key[golden.mag_bits(mu)]
    width = len(entries[0])
    selected = [entries[v - 1] & (magnitude == v).replicate(width)
                for v in range(1, golden.half_size(mu) + 1)]
    entry = Signal(width, name=name)
    m.d.comb += entry.eq(functools.reduce(operator.or_, selected))
    negative = Signal(name=f"{name}_negative")
    m.d.comb += negative.eq(sign & (magnitude != 0))
    return entry.as_signed() if entries[0].shape().signed else entry, negative, Const(1, 1)
