"""The symmetric half table of one activation group, and fetching from it."""
from amaranth import Cat, Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.golden import ternary as golden

__all__ = ["HalfTable", "fetch"]


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
            "entries": Out(data.ArrayLayout(numbers.sum_shape(mu), golden.half_size(mu))),
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
    """``(entry, negative, nonzero)`` that ``key`` selects from a table's ``entries`` (a list of
    equally wide values); the zero group selects 0."""
    magnitude, sign = key[:golden.mag_bits(mu)], key[golden.mag_bits(mu)]
    shape = entries[0].shape()
    entry = Signal(shape, name=name)
    m.d.comb += entry.eq(Cat(Const(0, shape.width), *entries).word_select(magnitude,
                                                                          shape.width))
    return entry, sign, magnitude != 0
