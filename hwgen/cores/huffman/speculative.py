"""The parts of a speculative parallel Huffman decoder, for any canonical length-limited code.

A word of ``width`` bits is decoded at every bit position at once and the positions where
codewords really start are found afterwards (after Ecco). The parts know nothing of blocks,
headers or dequantization, so another entropy decoder (for example of BF16 exponents) is
built from the same pieces:

* :func:`code_tables` / :func:`code_tables_layout`: what a lookup needs of a canonical code
  (left-justified ends of each length's codes, the rank offset per length, the symbols).
* :class:`CodeLookup`: the codeword length, symbol and validity at each position of a
  segment, from ``max_code_len``-bit windows.
* :class:`SegmentWalker`: a segment walked from every entry state: its exit state and the
  positions where codewords start, per entry state. The *state* of a position is the number
  of bits left of the codeword it lies in (0: a codeword starts there).
* :func:`resolve_entries`: a log-depth tree of state-map compositions, then the one state
  carried from word to word, then the entry state of every segment.
* :func:`compact`: a log-depth tree of :class:`CompactNode` that packs the symbols of the
  started positions in order, up to the first bad codeword.

Every segment's lookup and walker are modules of their own with identical contents, so
hierarchical synthesis makes each once. The trees take a :class:`~hwgen.cores.common.
pipeline.Stages` and put a register after every ``every`` levels.
"""
import math

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["pick", "shift_units", "code_tables_layout", "code_tables", "state_count", "CodeCompare", "CodeLookup", "segment_lookups", "SegmentWalker",
           "ComposeNode", "CompactNode", "tree_heights", "resolve_levels", "resolve_entries",
           "compact_levels", "compact"]


def pick(options, index):
    """``options[index]`` (0 past the end) by a tree of 2:1 multiplexers, one level per bit
    of ``index`` (``word_select`` would scale the index by a multiplication)."""
    options = list(options)
    for bit in range(len(index)):
        options = [Mux(index[bit], options[k + 1] if k + 1 < len(options) else 0, options[k])
                   for k in range(0, len(options), 2)]
    return options[0] if options else Const(0, 1)


def shift_units(value, amount, unit, width):
    """``value`` shifted left by ``amount`` units of ``unit`` bits, cut to ``width`` bits: a
    shifter of one 2:1 multiplexer level per bit of ``amount`` (``amount * unit`` would make
    a multiplier)."""
    result = value[:width] if len(value) >= width else Cat(value, Const(0, width - len(value)))
    for bit in range(len(amount)):
        distance = unit << bit
        if distance >= width:
            result = Mux(amount[bit], 0, result)
            continue
        result = Mux(amount[bit], Cat(Const(0, distance), result[:width - distance]), result)
    return result


def _length_bits(max_len):
    """Width of ``length − 1``."""
    return max(1, (max_len - 1).bit_length())


def code_tables_layout(sym_bits, max_len):
    """``limits[l-1]``: the left-justified end of the codes of length ``l`` (a window of
    ``max_len`` bits holds a code of length ``l`` when it is below ``limits[l-1]`` and at
    least ``limits[l-2]``), at most ``2**max_len``; ``deltas[l-1]``: ``offset − first`` of
    length ``l`` modulo ``2**sym_bits`` (a code's rank is ``code + delta``); ``symbols`` in
    canonical order."""
    return data.StructLayout({
        "limits": data.ArrayLayout(unsigned(max_len + 1), max_len),
        "deltas": data.ArrayLayout(unsigned(sym_bits), max_len),
        "symbols": data.ArrayLayout(unsigned(sym_bits), 1 << sym_bits),
    })


def code_tables(codebook, sym_bits):
    """:func:`code_tables_layout` values of a :class:`~hwgen.golden.kvformat.Codebook`, and
    whether it is a prefix code over ``2**sym_bits`` symbols (as a runtime load computes
    them entry by entry)."""
    max_len = codebook.max_len
    limits, deltas = [], []
    code = index = 0
    for length, count in enumerate(codebook.counts, start=1):
        end = code + count
        limits.append(min(end << (max_len - length), 1 << max_len))
        deltas.append((index - code) % (1 << sym_bits))
        code, index = end << 1, index + count
    symbols = [symbol % (1 << sym_bits) for symbol in codebook.symbols]
    symbols += [0] * ((1 << sym_bits) - len(symbols))
    prefix_code = code <= 1 << (max_len + 1) and index <= 1 << sym_bits
    return {"limits": limits, "deltas": deltas, "symbols": symbols[:1 << sym_bits]}, prefix_code


def state_count(max_len, segment_bits):
    """States a segment boundary can be in: bits left of a codeword (up to ``max_len − 1``)
    or of a fixed-length field that ends inside a segment (up to ``segment_bits − 1``)."""
    return max(max_len, segment_bits)


def _table_members(sym_bits, max_len, books):
    """The ``tables`` (runtime) or ``book`` (fixed tables) member of a lookup unit."""
    if books is None:
        return {"tables": In(code_tables_layout(sym_bits, max_len))}
    return {"book": In(range(max(len(books), 2)))}


def _selected_tables(m, unit, sym_bits, max_len, books):
    """The tables a lookup unit uses: its ``tables`` input, or its ``book``'s constants."""
    if books is None:
        return unit.tables
    layout = code_tables_layout(sym_bits, max_len)
    tables = Signal(layout)
    with m.Switch(unit.book):
        for number, book in enumerate(books):
            with m.Case(number):
                m.d.comb += tables.eq(layout.const(book))
    return tables


def _windows(bits, positions, max_len):
    """The ``max_len``-bit window at each position of ``bits`` (first position in the MSB)."""
    return [bits[positions - 1 - position:positions - 1 - position + max_len]
            for position in range(positions)]


def _at_least(window, tables):
    """Bit ``l``: ``window`` is at least the end of the codes of length ``l + 1``."""
    return Cat(*[window >= tables.limits[length] for length in range(len(tables.limits))])


class CodeCompare(wiring.Component):
    """The comparisons of a :class:`CodeLookup` at each of ``positions`` positions, as a unit
    of their own, so that a register can split the lookup after them
    (``CodeLookup(compared=True)`` takes the rest).

    Members
    -------
    bits, tables or book : as :class:`CodeLookup`
    at_least : ``Out(ArrayLayout(unsigned(max_len), positions))``: bit ``l`` of a position is
        set when its window is at least the end of the codes of length ``l + 1``.

    Combinational: ``max_len`` comparisons (carry chains) per position.
    """

    def __init__(self, sym_bits, max_len, positions, books=None):
        self._w, self._max_len, self._positions, self._books = sym_bits, max_len, positions, books
        super().__init__({"bits": In(positions + max_len - 1),
                          **_table_members(sym_bits, max_len, books),
                          "at_least": Out(data.ArrayLayout(unsigned(max_len), positions))})

    def elaborate(self, platform):
        m = Module()
        tables = _selected_tables(m, self, self._w, self._max_len, self._books)
        for position, window in enumerate(_windows(self.bits, self._positions, self._max_len)):
            m.d.comb += self.at_least[position].eq(_at_least(window, tables))
        return m


class CodeLookup(wiring.Component):
    """The codeword at each of ``positions`` consecutive bit positions.

    Parameters
    ----------
    sym_bits, max_len : int
        Symbol width and longest codeword.
    positions : int
    books : list of dict or None
        Fixed tables (:func:`code_tables` values), selected by ``book``; ``None``: the tables
        come in on ``tables``.
    compared : bool
        The comparisons come in on ``at_least`` (from a :class:`CodeCompare`, possibly
        registered) instead of being made here.

    Members
    -------
    bits : ``In(positions + max_len − 1)``
        The bits from the first position on, first bit in the MSB (zeros past the data).
    book : ``In(range(len(books)))`` (fixed tables) or ``tables``: ``In(code_tables_layout)``
    at_least : ``In(ArrayLayout(unsigned(max_len), positions))``, only if ``compared``.
    length : ``Out(ArrayLayout(unsigned(⌈log2 max_len⌉), positions))``, length − 1.
    symbol : ``Out(ArrayLayout(unsigned(sym_bits), positions))``
    invalid : ``Out(positions)``: the window matches no code (length is then ``max_len``).

    Combinational. The length is a thermometer of ``max_len`` comparisons; the symbol one
    add of the per-length ``delta`` and one table read.
    """

    def __init__(self, sym_bits, max_len, positions, books=None, *, compared=False):
        self._w, self._max_len, self._positions, self._books = sym_bits, max_len, positions, books
        self._compared = compared
        members = {"bits": In(positions + max_len - 1),
                   **_table_members(sym_bits, max_len, books)}
        if compared:
            members["at_least"] = In(data.ArrayLayout(unsigned(max_len), positions))
        members.update({
            "length": Out(data.ArrayLayout(unsigned(_length_bits(max_len)), positions)),
            "symbol": Out(data.ArrayLayout(unsigned(sym_bits), positions)),
            "invalid": Out(positions),
        })
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        w, longest, count = self._w, self._max_len, self._positions
        tables = _selected_tables(m, self, w, longest, self._books)
        for position, window in enumerate(_windows(self.bits, count, longest)):
            compared = self.at_least[position] if self._compared else _at_least(window, tables)
            at_least = [compared[length] for length in range(longest)]
            # One-hot length (the limits rise with the length): longer than every shorter
            # one's limit, shorter than its own; the longest also takes invalid windows.
            onehot = [(at_least[length - 1] if length else Const(1))
                      & (~at_least[length] if length < longest - 1 else Const(1))
                      for length in range(longest)]
            length_minus_one = Cat(*[
                Cat(*[onehot[length] for length in range(longest) if length >> bit & 1]).any()
                for bit in range(_length_bits(longest))])
            padded = Cat(window, Const(0, w))
            rank = Signal(w, name=f"rank{position}")
            m.d.comb += rank.eq(_or_words([
                Mux(onehot[length], (padded[longest - 1 - length:longest - 1 - length + w]
                                     + tables.deltas[length])[:w], 0)
                for length in range(longest)]))
            m.d.comb += [
                self.length[position].eq(length_minus_one),
                self.symbol[position].eq(pick(tables.symbols, rank)),
                self.invalid[position].eq(at_least[-1]),
            ]
        return m


def segment_lookups(m, stages, bits, segments, sym_bits, max_len, books, selector, *,
                    compare):
    """A :class:`CodeLookup` for every ``(start, stop)`` segment of a word.

    ``bits``: the word's ``width + max_len − 1`` bits (its first bit in the MSB, then the
    lookahead); ``selector``: the tables (``books`` None) or the book number. With
    ``compare``, the comparisons are :class:`CodeCompare` units followed by a register
    (``stages.register``, one stage) and the lookups take the rest. Returns the lengths
    (− 1), symbols and ``invalid`` flags of every position.
    """
    width = len(bits) - (max_len - 1)

    def connect(unit, start, stop, unit_bits, unit_selector):
        m.d.comb += unit.bits.eq(unit_bits[width - stop:width - start + max_len - 1])
        if books is None:
            m.d.comb += unit.tables.eq(unit_selector)
        else:
            m.d.comb += unit.book.eq(unit_selector)

    if compare:
        at_least = []
        for number, (start, stop) in enumerate(segments):
            unit = CodeCompare(sym_bits, max_len, stop - start, books)
            m.submodules[f"compare{number}"] = unit
            connect(unit, start, stop, bits, selector)
            at_least.append(unit.at_least)
        # The rest of a lookup needs no limits: only the deltas and symbols are registered.
        rest = selector if books is not None else {"deltas": selector.deltas,
                                                    "symbols": selector.symbols}
        at_least, bits, rest = stages.register([at_least, bits, rest], "compare")
        if books is None:
            selector = Signal(code_tables_layout(sym_bits, max_len))
            m.d.comb += [selector.deltas.eq(rest["deltas"]), selector.symbols.eq(rest["symbols"])]
        else:
            selector = rest
    lengths, symbols, invalid = [], [], []
    for number, (start, stop) in enumerate(segments):
        unit = CodeLookup(sym_bits, max_len, stop - start, books, compared=compare)
        m.submodules[f"lookup{number}"] = unit
        connect(unit, start, stop, bits, selector)
        if compare:
            m.d.comb += unit.at_least.eq(at_least[number])
        lengths += [unit.length[k] for k in range(stop - start)]
        symbols += [unit.symbol[k] for k in range(stop - start)]
        invalid += [unit.invalid[k] for k in range(stop - start)]
    return lengths, symbols, invalid


def _or_words(words):
    result = words[0]
    for word in words[1:]:
        result = result | word
    return result


class SegmentWalker(wiring.Component):
    """A segment of ``size`` positions walked from each of ``states`` entry states.

    Members
    -------
    length : ``In(ArrayLayout(unsigned(length_bits), size))``, each position's length − 1.
    exits : ``Out(ArrayLayout(unsigned(state_bits), states))``: the state after the segment,
        per entry state (the segment's *state map*).
    marks : ``Out(ArrayLayout(unsigned(size), states))``: the positions where codewords
        start, per entry state.

    Combinational: a chain of ``size`` steps ``state == 0 ? length : state − 1``. The
    decrement is a table, not a subtraction, so each state bit of a step is one function of
    the state and one length bit (one LUT4 level per position for up to 8 states; a
    subtraction would be mapped to a carry chain).
    """

    def __init__(self, states, size, length_bits):
        self._states, self._size = states, size
        self._state_bits = (states - 1).bit_length() or 1
        super().__init__({
            "length": In(data.ArrayLayout(unsigned(length_bits), size)),
            "exits": Out(data.ArrayLayout(unsigned(self._state_bits), states)),
            "marks": Out(data.ArrayLayout(unsigned(size), states)),
        })

    def elaborate(self, platform):
        m = Module()
        size, bits = self._size, self._state_bits
        decrement = [Const(max(state - 1, 0), bits) for state in range(1 << bits)]
        for entry in range(self._states):
            if entry >= size:
                m.d.comb += self.exits[entry].eq(entry - size)
                continue
            state, started = Const(0, bits), []
            for position in range(entry, size):
                started.append(state == 0)
                after = Signal(bits, name=f"walk{position}_from{entry}")
                m.d.comb += after.eq(Mux(state == 0, self.length[position],
                                         pick(decrement, state)))
                state = after
            m.d.comb += [self.exits[entry].eq(state),
                         self.marks[entry].eq(Cat(Const(0, entry), *started))]
        return m


class ComposeNode(wiring.Component):
    """Two state maps in sequence: ``out[s] = second[first[s]]``. Combinational."""

    def __init__(self, states):
        bits = (states - 1).bit_length() or 1
        layout = data.ArrayLayout(unsigned(bits), states)
        self._states, self._bits = states, bits
        super().__init__({"first": In(layout), "second": In(layout), "out": Out(layout)})

    def elaborate(self, platform):
        m = Module()
        for state in range(self._states):
            m.d.comb += self.out[state].eq(pick(self.second, self.first[state]))
        return m


def tree_heights(count):
    """The segments' binary tree (halves, the lower one no larger): ``{(low, high): height}``
    for every node over ``count`` leaves."""
    heights = {}

    def visit(low, high):
        if high - low == 1:
            heights[(low, high)] = 0
        else:
            middle = (low + high) // 2
            heights[(low, high)] = 1 + max(visit(low, middle), visit(middle, high))
        return heights[(low, high)]

    visit(0, count)
    return heights


def resolve_levels(segments):
    """Logic levels of :func:`resolve_entries`: the walk, the compositions up the tree, the
    carried state, the applications down the tree and the marks' selection."""
    height = tree_heights(segments)[(0, segments)]
    return 2 * height + 3


def _registers(levels, every, *, after_last):
    """Registers a tree of ``levels`` levels gets with one after every ``every`` levels."""
    if not every:
        return 0
    return levels // every if after_last else (levels - 1) // every


def resolve_entries(m, stages, walkers, start, start_state, every):
    """Entry states of every segment from the segments' walkers.

    ``walkers``: the :class:`SegmentWalker` outputs ``(exits, marks)`` per segment (their
    inputs come from the stage before); ``start``/``start_state`` (in ``stages.side`` terms:
    callables of the side) restart the carried state at a word. Returns the marks of every
    segment under its entry state and the number of levels, with a register after every
    ``every`` levels (not after the last).
    """
    segments = len(walkers)
    heights = tree_heights(segments)
    states = len(walkers[0][0])
    bits = len(walkers[0][0][0])
    total = resolve_levels(segments)
    level = 0
    carry = Signal(bits, name="carried_state")

    def step(values, name):
        nonlocal level
        level += 1
        if every and level % every == 0 and level < total:
            return stages.register(values, name)
        return values

    maps = {(number, number + 1): list(walker[0]) for number, walker in enumerate(walkers)}
    marks = [list(walker[1]) for walker in walkers]
    maps, marks = step([maps, marks], "walk")
    root = heights[(0, segments)]
    for height in range(1, root + 1):
        for (low, high), node_height in heights.items():
            if node_height != height:
                continue
            middle = (low + high) // 2
            node = ComposeNode(states)
            m.submodules[f"compose{low}_{high}"] = node
            m.d.comb += [node.first.eq(Cat(*maps[(low, middle)])),
                         node.second.eq(Cat(*maps[(middle, high)]))]
            maps[(low, high)] = [node.out[state] for state in range(states)]
        maps, marks = step([maps, marks], f"up{height}")

    # The only loop: the word's entry state, from the previous word's exit state.
    side = stages.side
    entry = Signal(bits, name="word_entry")
    m.d.comb += entry.eq(Mux(start(side), start_state(side), carry))
    with m.If(stages.advance & side["valid"]):
        m.d.sync += carry.eq(pick(maps[(0, segments)], entry))
    entries = {(0, segments): entry}
    entries, maps, marks = step([entries, maps, marks], "carry")
    for depth in range(1, root + 1):
        for (low, high) in list(entries):
            if high - low == 1 or (low, high) not in heights:
                continue
            middle = (low + high) // 2
            if (low, middle) in entries:
                continue
            state = Signal(bits, name=f"entry{middle}_from{low}")
            m.d.comb += state.eq(pick(maps[(low, middle)], entries[(low, high)]))
            entries[(low, middle)] = entries[(low, high)]
            entries[(middle, high)] = state
        entries, maps, marks = step([entries, maps, marks], f"down{depth}")
    selected = []
    for number in range(segments):
        size = len(marks[number][0])
        state = entries[(number, number + 1)]
        selected.append(pick(marks[number][:size], state))
    return selected


class CompactNode(wiring.Component):
    """Two packed symbol lists in sequence: ``b``'s symbols follow ``a``'s, unless ``a``
    ended in a fault (then ``b`` is dropped). Lists hold zeros past their count; the output
    keeps its first ``capacity`` symbols.

    Members
    -------
    a, b : ``In(StructLayout({"count", "fault", "symbols"}))`` of capacities ``cap_a``,
        ``cap_b``
    o : ``Out(…)`` of capacity ``capacity``

    Combinational: one shift of ``b`` by ``a.count`` symbols.
    """

    @staticmethod
    def layout(sym_bits, capacity, counts):
        return data.StructLayout({"count": unsigned(counts.bit_length()), "fault": 1,
                                  "symbols": unsigned(sym_bits * capacity)})

    def __init__(self, sym_bits, cap_a, cap_b, capacity, count_a, count_b):
        self._w, self._capacity = sym_bits, capacity
        super().__init__({
            "a": In(self.layout(sym_bits, cap_a, count_a)),
            "b": In(self.layout(sym_bits, cap_b, count_b)),
            "o": Out(self.layout(sym_bits, capacity, count_a + count_b)),
        })

    def elaborate(self, platform):
        m = Module()
        a, b, w = self.a, self.b, self._w
        width = self._capacity * w
        shifted = shift_units(b.symbols, a.count, w, width)
        m.d.comb += [
            self.o.count.eq(a.count + Mux(a.fault, 0, b.count)),
            self.o.fault.eq(a.fault | b.fault),
            self.o.symbols.eq(a.symbols[:width] | Mux(a.fault, 0, shifted)),
        ]
        return m


def compact_levels(width):
    return max(1, math.ceil(math.log2(width)))


def compact(m, stages, marks, bad, symbols, *, min_len, capacity, every):
    """The symbols at the ``marks`` positions, packed in order, up to the first marked
    position that is ``bad`` (a fault: it and everything after it are dropped).

    A span of ``s`` positions holds at most ``⌈s / min_len⌉`` starts, and no list holds more
    than ``capacity`` symbols. A register follows every ``every`` levels (the last
    included). Returns ``(count, fault, symbols)``.
    """
    width = len(marks)
    w = len(symbols[0])
    nodes = [{"count": marks[position] & ~bad[position], "fault": marks[position] & bad[position],
              "symbols": Mux(marks[position] & ~bad[position], symbols[position], 0),
              "span": 1, "counts": 1, "cap": 1}
             for position in range(width)]
    levels = compact_levels(width)
    for level in range(1, levels + 1):
        merged = []
        for index in range(0, len(nodes) - 1, 2):
            a, b = nodes[index], nodes[index + 1]
            span = a["span"] + b["span"]
            cap = min(-(-span // min_len), capacity)
            node = CompactNode(w, a["cap"], b["cap"], cap, a["counts"], b["counts"])
            m.submodules[f"compact{level}_{index // 2}"] = node
            m.d.comb += [node.a.count.eq(a["count"]), node.a.fault.eq(a["fault"]),
                         node.a.symbols.eq(a["symbols"]), node.b.count.eq(b["count"]),
                         node.b.fault.eq(b["fault"]), node.b.symbols.eq(b["symbols"])]
            merged.append({"count": node.o.count, "fault": node.o.fault,
                           "symbols": node.o.symbols, "span": span,
                           "counts": a["counts"] + b["counts"], "cap": cap})
        if len(nodes) % 2:
            merged.append(nodes[-1])
        nodes = merged
        if every and level % every == 0:
            values = stages.register([[node["count"], node["fault"], node["symbols"]]
                                      for node in nodes], f"compact{level}")
            nodes = [dict(node, count=count, fault=fault, symbols=symbols)
                     for node, (count, fault, symbols) in zip(nodes, values)]
    root = nodes[0]
    return root["count"], root["fault"], root["symbols"], root["cap"]
