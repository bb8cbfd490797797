"""The symmetric half table of one activation group, and fetching from it.

Both are written against a number system (:mod:`hwgen.cores.ternary.numbers`), so any
datapath that builds signed partial sums of a group of activations once and selects them by
key can reuse them: the ternary LUT core uses every entry, the bit-plane core
(:mod:`hwgen.cores.bitplane`) only the entries whose weights are all ±1.
"""
import functools
import operator

from amaranth import Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.golden import ternary as golden

__all__ = ["HalfTable", "table_layout", "entry_shapes", "fetch", "select"]


def table_layout(numbers, mu, count=None):
    """The entries of one half table: ``count`` (default ``H``) values of
    ``numbers.sum_shape(mu)``."""
    return data.ArrayLayout(numbers.sum_shape(mu), count or golden.half_size(mu))


def _digits(mu):
    """Nonzero weights of each entry ``v = 1..H``."""
    return {v: int((golden.trits_of_values([v], mu)[0] != 0).sum())
            for v in range(1, golden.half_size(mu) + 1)}


def entry_shapes(numbers, mu):
    """The exact shape of each entry (index ``v − 1``): a sum of as many activations as ``v``
    has nonzero weights. The table's port is uniform (:func:`table_layout`); a reader that
    slices each entry to its shape drops sign-extension copies it would otherwise process."""
    return [numbers.sum_shape(count) for count in _digits(mu).values()]


class HalfTable(wiring.Component):
    """Every signed partial sum a group of µ activations can need, half of them.

    Entry ``v − 1`` (``v = 1..H``, ``H = (3**µ − 1)/2``) is ``Σ_j t_j·a_j`` for the
    balanced-ternary digits ``t_j`` of ``v`` (the patterns whose highest nonzero weight is
    +1; the others are their negations). Entries share adders: with ``v = 3**k + r``, entry
    ``v`` is ``a_k`` when ``r = 0`` and ``a_k ± entry |r|`` otherwise — one adder per entry,
    ``H − µ`` in all (see :func:`hwgen.golden.ternary.build_table`, which this matches bit for
    bit, floats included). Entry ``v`` is ``digits(v) − 1`` adders deep, so the table is built
    in ``µ − 1`` adder levels; each entry is computed at its own exact width.

    With ``values``, the table outputs only those entries, in that order, and builds only
    them and the entries they are built from.

    Parameters
    ----------
    numbers : :class:`~hwgen.cores.ternary.numbers.IntNumbers` or ``FloatNumbers``
    activation_shape : shape of one activation
    mu : int
    pipelined : bool
        Register the build after every adder level (after the activations for µ = 1):
        :meth:`registers` cycles, each register holding only the entries and activations that
        later levels or the output still need, at their exact widths.
    values : list of int, optional
        The entries ``v`` to output (default: all, ``1..H``).

    Members
    -------
    a : ``In(ArrayLayout(activation_shape, mu))``
    entries : ``Out(table_layout(numbers, mu, len(values)))``
    advance : ``In(1)``, only when ``pipelined``: the registers load.

    Latency: :meth:`registers` cycles (0: combinational, the longest path µ − 1 adders).
    """

    def __init__(self, numbers, activation_shape, mu, *, pipelined=False, values=None):
        self._numbers = numbers
        self._mu = mu
        self._pipelined = pipelined
        self._values = list(values or range(1, golden.half_size(mu) + 1))
        members = {"a": In(data.ArrayLayout(activation_shape, mu)),
                   "entries": Out(table_layout(numbers, mu, len(self._values)))}
        if pipelined:
            members["advance"] = In(1)
        super().__init__(members)

    @staticmethod
    def registers_for(mu, pipelined):
        """Register stages of a table of ``mu`` activations built ``pipelined`` or not."""
        return max(1, mu - 1) if pipelined else 0

    def registers(self):
        return self.registers_for(self._mu, self._pipelined)

    def elaborate(self, platform):
        m = Module()
        numbers, mu = self._numbers, self._mu
        top = {v: golden.highest_digit(v) for v in _digits(mu)}
        rest = {v: v - 3 ** top[v] for v in top}
        needed, pending = set(), list(self._values)
        while pending:
            v = pending.pop()
            if v and v not in needed:
                needed.add(v)
                pending.append(abs(rest[v]))
        digits = {v: count for v, count in _digits(mu).items() if v in needed}
        # Activations by ("a", k), entries by v; each level adds the entries one adder deeper.
        known = {("a", k): self.a[k] for k in range(mu)}
        known.update({v: self.a[top[v]] for v in digits if digits[v] == 1})
        for level in range(1, mu):
            for v in (v for v in digits if digits[v] == level + 1):
                lower = known[abs(rest[v])]
                value = numbers.add(m, known[("a", top[v])],
                                    lower if rest[v] > 0 else numbers.negate(lower), f"entry{v}")
                known[v] = Signal(numbers.sum_shape(digits[v]), name=f"entry{v}")
                m.d.comb += known[v].eq(value)
            if self._pipelined:
                later = [v for v in digits if digits[v] > level + 1]
                still = {("a", top[v]) for v in later} | {abs(rest[v]) for v in later}
                still |= set(self._values)
                known = self._register(m, {key: value for key, value in known.items()
                                           if key in still}, f"level{level}")
        if self._pipelined and mu == 1:
            known = self._register(m, known, "level1")
        m.d.comb += [self.entries[index].eq(known[v]) for index, v in enumerate(self._values)]
        return m

    def _register(self, m, values, name):
        registered = {}
        for key, value in values.items():
            label = f"a{key[1]}" if isinstance(key, tuple) else f"entry{key}"
            registered[key] = Signal.like(value, name=f"{name}_{label}")
            with m.If(self.advance):
                m.d.sync += registered[key].eq(value)
        return registered


def fetch(m, entries, key, mu, name, shapes=None):
    """``(entry, negative, nonzero)`` that ``key`` selects from a half table's ``entries``
    (indexable, ``H`` equally wide values); the zero group selects 0, and ``negative`` is
    already 0 for it, so ``nonzero`` is the constant 1 (kept for the interface of
    :meth:`~hwgen.cores.ternary.numbers.IntNumbers.signed_terms`).

    The selection is an AND-OR over the decoded magnitude: entry ``v`` is ANDed with
    ``|key| == v`` and the ``H`` results are ORed. A tree of ``H`` two-input multiplexers per
    bit costs about 3.5 gate equivalents per entry and bit; the AND-OR costs about 2, and the
    decoder (``H`` lines) is shared by every bit of the entry. With ``shapes`` (see
    :func:`entry_shapes`) each entry is selected at its exact width and the OR sign-extends:
    the bits above an entry's width reuse its selected sign bit instead of ANDing copies.
    """
    magnitude, sign = key[:golden.mag_bits(mu)], key[golden.mag_bits(mu)]
    entry = select(m, entries, magnitude, 1, name, shapes)
    negative = Signal(name=f"{name}_negative")
    m.d.comb += negative.eq(sign & (magnitude != 0))
    return entry, negative, Const(1, 1)


def select(m, entries, index, first, name, shapes=None):
    """Entry ``index − first`` of ``entries`` (indexable, equally wide values) as an AND-OR;
    an ``index`` outside ``first .. first + len(entries) − 1`` selects 0. ``shapes``: see
    :func:`fetch`."""
    shape = entries[0].shape()
    shapes = shapes or [shape] * len(entries)
    selected = []
    for position, exact in enumerate(shapes):
        line = index == first + position
        value = entries[position][:exact.width] & line.replicate(exact.width)
        selected.append(value.as_signed() if exact.signed else value)
    entry = Signal(shape, name=name)
    m.d.comb += entry.eq(functools.reduce(operator.or_, selected))
    return entry
