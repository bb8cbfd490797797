"""The parallel speculative decoder core: one ``in_bits`` word per cycle, whatever the codes."""
from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.common.pipeline import Stages
from hwgen.cores.huffman.assemble import decoded_layout, input_layout
from hwgen.cores.huffman.speculative import (SegmentWalker, compact, compact_levels,
                                             resolve_entries, resolve_levels, segment_lookups,
                                             state_count)
from hwgen.cores.huffman.tables import LookupSignature, book_tables
from hwgen.cores.huffman.words import header_fields, header_now, held_layout, number_word

__all__ = ["ParallelCore"]


def _segments(p):
    """``(start, stop)`` of each segment of a word: ``segment_bits`` each (Ecco: 8)."""
    size = p.segment_bits
    return [(start, min(start + size, p.in_bits)) for start in range(0, p.in_bits, size)]


def _min_code_len(p):
    """The shortest codeword any block can hold: fixed tables know it; runtime ones may
    have 1-bit codes."""
    if p.runtime:
        return 1
    tables = p.table_set()
    return min(int(min(length for length in tables.book(p, book).lengths(p.symbols)
                       if length)) for book in range(p.raw_book + 1))


class ParallelCore(wiring.Component):
    """Decodes a word of ``in_bits`` bits per cycle by speculation at every bit position.

    Stages, each an optional register (``pipeline``) except the first two:

    1. *window*: a word waits for its successor, which supplies the ``max_code_len − 1``
       bits that windows crossing the word boundary need (a word that ends its block does
       not wait).
    2. *tables*: the block's header gives the book and pattern; their tables are registered
       with the word.
    3. *lookup* (:class:`~hwgen.cores.huffman.speculative.CodeLookup`, one per
       ``segment_bits`` segment): the codeword at every position. Registers:
       ``pipeline.compare`` (after the comparisons, :class:`~hwgen.cores.huffman.speculative.
       CodeCompare`) and ``pipeline.lookup``.
    4. *resolve* (:class:`~hwgen.cores.huffman.speculative.SegmentWalker` per segment, then
       :func:`~hwgen.cores.huffman.speculative.resolve_entries`): each segment walked from
       every entry state, a tree of state-map compositions, the state carried from word to
       word, each segment's entry state and so its codeword starts. Registers every
       ``pipeline.resolve`` levels.
    5. *compact* (:func:`~hwgen.cores.huffman.speculative.compact`): the started symbols
       packed in order up to the first bad codeword. Registers every
       ``pipeline.compact_every`` levels.
    6. *step*: the block's count so far and whether it is dead; one step on ``o``.
       Register: ``pipeline.step`` (after it, so that the assembler's shift by ``base``
       starts from a register).

    Members
    -------
    i : ``In(stream.Signature(input_layout(p)))``
    o : ``Out(stream.Signature(decoded_layout(p, capacity)))``, one step per word.
    tables : ``Out(LookupSignature(p))``

    Latency: :meth:`latency` cycles from the transfer of a block's last word to its last step
    on ``o`` (2 with no pipeline registers). Throughput: one word per cycle while ``o`` is
    ready.
    """

    def __init__(self, params):
        p = params
        self._p = p
        self._min_len = _min_code_len(p)
        self._capacity = self.capacity(p)
        self._states = state_count(p.max_code_len, p.segment_bits)
        self._state_bits = (self._states - 1).bit_length()
        super().__init__({
            "i": In(stream.Signature(input_layout(p))),
            "o": Out(stream.Signature(decoded_layout(p, self._capacity))),
            "tables": Out(LookupSignature(p)),
        })

    @staticmethod
    def capacity(p):
        """Most symbols handed to the assembler per step: the word's bits over the shortest
        code, and no more than a group."""
        return min(-(-p.in_bits // _min_code_len(p)), p.group_size)

    @staticmethod
    def pipeline_registers(p):
        """The optional registers, by stage."""
        pipe = p.pipeline
        resolve = resolve_levels(len(_segments(p)))
        compaction = compact_levels(p.in_bits)
        return {
            "compare": int(pipe.compare),
            "lookup": int(pipe.lookup),
            "resolve": (resolve - 1) // pipe.resolve if pipe.resolve else 0,
            "compact": compaction // pipe.compact_every if pipe.compact_every else 0,
            "step": int(pipe.step),
        }

    @classmethod
    def latency(cls, p):
        """Cycles from the transfer of a block's last word to its last step on ``o``: the
        window (a block's last word waits for its predecessor to leave, which waited for
        it), the tables register and the optional registers."""
        window = 1 if p.words_per_block == 1 else 2
        return window + 1 + sum(cls.pipeline_registers(p).values())

    @staticmethod
    def cycles_per_word(p):
        return 1

    def elaborate(self, platform):
        m = Module()
        p = self._p
        lookup = self.tables
        width, longest = p.in_bits, p.max_code_len
        advance = Signal()
        o_valid = Signal()
        m.d.comb += [advance.eq(~o_valid | self.o.ready), self.o.valid.eq(o_valid)]

        # 1. Window: two word slots; the older is processed once the younger has arrived.
        slots = [Signal(held_layout(p), name=f"slot{index}") for index in range(2)]
        full = [Signal(name=f"slot{index}_full") for index in range(2)]
        held = slots[0]
        final = held.last | (held.index == p.words_per_block - 1)
        past_block = held.index == p.words_per_block
        standalone = final | past_block
        process = full[0] & advance & (standalone | full[1])
        m.d.comb += self.i.ready.eq(~full[1] | process)
        accept = self.i.valid & self.i.ready
        incoming = number_word(m, p, self.i.p, accept, lookup)
        m.d.comb += lookup.in_use.eq(Cat(*[
            (full[0] & (held.bank == bank)) | (full[1] & (slots[1].bank == bank))
            for bank in range(2)]))
        with m.If(process):
            m.d.sync += [slots[0].eq(slots[1]), full[0].eq(full[1]), full[1].eq(0)]
            with m.If(accept):
                with m.If(full[1]):
                    m.d.sync += [slots[1].eq(incoming), full[1].eq(1)]
                with m.Else():
                    m.d.sync += [slots[0].eq(incoming), full[0].eq(1)]
        with m.Elif(accept):
            with m.If(full[0]):
                m.d.sync += [slots[1].eq(incoming), full[1].eq(1)]
            with m.Else():
                m.d.sync += [slots[0].eq(incoming), full[0].eq(1)]

        # 2. Tables: the header so far; the block's tables are taken when it is complete.
        header = Signal(p.header_bits)
        current_header = header_now(m, p, held, header)
        book, pattern, scale = header_fields(p, current_header)
        m.d.comb += [lookup.bank.eq(held.bank), lookup.book.eq(book), lookup.pattern.eq(pattern)]
        header_word = p.header_bits // width
        bits = Signal(width + longest - 1)
        lookahead = slots[1].data[width - (longest - 1):]
        m.d.comb += bits.eq(Cat(Mux(standalone, 0, lookahead)[:len(lookahead)], held.data))
        side = {"valid": Signal(name="tables_valid"), "index": Signal.like(held.index),
                "last": Signal(), "final": Signal(), "header_ok": Signal(),
                "scale": Signal(p.scale_bits), "centroids": Signal.like(lookup.centroids)}
        word_bits = Signal.like(bits)
        if p.runtime:
            block_tables = Signal.like(lookup.code)
            taken = lookup.code
        else:
            block_tables = Signal(range(p.raw_book + 1))
            taken = book
        with m.If(advance):
            m.d.sync += side["valid"].eq(process)
        with m.If(process):
            m.d.sync += [header.eq(current_header), word_bits.eq(bits),
                         side["index"].eq(held.index), side["last"].eq(held.last),
                         side["final"].eq(final)]
            with m.If(held.index == header_word):
                m.d.sync += [block_tables.eq(taken), side["scale"].eq(scale),
                             side["header_ok"].eq(lookup.book_ok & lookup.pattern_ok),
                             side["centroids"].eq(lookup.centroids)]
        stages = Stages(m, advance, side)
        stages.count = 1

        # 3. Lookup, one unit per segment (a register after its comparisons: pipeline.compare).
        segments = _segments(p)
        books = None if p.runtime else book_tables(p, p.table_set())
        lengths, symbols, invalid = segment_lookups(
            m, stages, word_bits, segments, p.sym_bits, longest, books, block_tables,
            compare=p.pipeline.compare)
        # A codeword that runs past the end of the block's final word is bad too.
        bad = []
        for position in range(width):
            past_end = Const(0, 1)
            if position > width - longest:
                past_end = stages.side["final"] & (lengths[position] >= width - position)
            bad.append(invalid[position] | past_end)
        lengths, symbols, bad = stages.register_if(p.pipeline.lookup, [lengths, symbols, bad],
                                                   "lookup")

        # 4. Resolve: the header fixes the state where it ends (segment `header_segment`).
        header_offset = p.header_bits - header_word * width
        header_segment = header_offset // p.segment_bits
        header_entry = header_offset - header_segment * p.segment_bits
        walkers = []
        for number, (start, stop) in enumerate(segments):
            walker = SegmentWalker(self._states, stop - start, len(lengths[0]))
            m.submodules[f"walk{number}"] = walker
            m.d.comb += walker.length.eq(Cat(*lengths[start:stop]))
            exits = [walker.exits[state] for state in range(self._states)]
            if number == header_segment - 1:
                on_header_word = stages.side["index"] == header_word
                exits = [Mux(on_header_word, header_entry, exit) for exit in exits]
            walkers.append((exits, [walker.marks[state] for state in range(self._states)]))
        stages.side = dict(stages.side, symbols=symbols, bad=bad)
        marks = resolve_entries(
            m, stages, walkers,
            start=lambda side: (side["index"] == header_word) if header_segment == 0 else 0,
            start_state=lambda side: header_entry, every=p.pipeline.resolve)
        symbols, bad = stages.side.pop("symbols"), stages.side.pop("bad")
        on_header_word = stages.side["index"] == header_word
        started = Signal(width)
        for number, (start, stop) in enumerate(segments):
            mask = on_header_word if number < header_segment else Const(0, 1)
            m.d.comb += started[start:stop].eq(Mux(mask, 0, marks[number]))

        # 5. Compact.
        count, faulted, packed, _ = compact(
            m, stages, started, bad, symbols, min_len=self._min_len,
            capacity=self._capacity, every=p.pipeline.compact_every)

        # 6. Step: the block so far. A block is dead from a bad header or its first bad
        # codeword on; words past its end decode nothing.
        side = stages.side
        decoded = Signal(range(p.group_size + 1))
        dead = Signal()
        long_block = Signal()
        first = side["index"] == 0
        beyond = side["index"] == p.words_per_block
        on_header_word = side["index"] == header_word
        dead_before = Mux(first, 0, dead) | (on_header_word & ~side["header_ok"]) | beyond
        if header_word:
            dead_before |= side["index"] < header_word
        before = Mux(first, 0, decoded)
        total = before + Mux(dead_before, 0, count)
        decoded_now = Mux(total > p.group_size, p.group_size, total)
        long_now = Mux(first, 0, long_block) | beyond
        early_last = Const(0, 1)  # `last` before the block's final word: cut short
        if p.words_per_block > 1:
            early_last = side["last"] & (side["index"] < p.words_per_block - 1)
        out = {"symbols": Mux(dead_before, 0, packed),
               "base": before if p.words_per_block > 1 else 0,
               "count": decoded_now, "first": first,
               "err": (decoded_now < p.group_size) | long_now | early_last}
        # The state above moves on when its step leaves the stage, registered or not.
        with m.If(advance & side["valid"]):
            m.d.sync += [decoded.eq(decoded_now), long_block.eq(long_now),
                         dead.eq(Mux(first, 0, dead) | (on_header_word & ~side["header_ok"])
                                 | (faulted & ~dead_before))]
        out = stages.register_if(p.pipeline.step, out, "step")
        assert stages.count == 1 + sum(self.pipeline_registers(p).values())
        side = stages.side
        step = self.o.p
        m.d.comb += [o_valid.eq(side["valid"]), step.last.eq(side["last"]),
                     step.scale.eq(side["scale"]), step.centroids.eq(side["centroids"])]
        m.d.comb += [getattr(step, name).eq(value) for name, value in out.items()]
        return m
