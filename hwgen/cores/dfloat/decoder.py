"""The DFloat11-style decoder: compressed BF16 blocks in, exact BF16 values out."""
from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.common.pipeline import Stages
from hwgen.cores.dfloat.params import DFloatParams
from hwgen.cores.huffman.speculative import (CodeLookup, SegmentWalker, code_tables, compact,
                                             compact_levels, pick, resolve_entries,
                                             resolve_levels, segment_lookups, shift_units,
                                             state_count)
from hwgen.golden import dfloat as df
from hwgen.golden.kvformat import Codebook

__all__ = ["DFloatDecoder", "DFloatSerialDecoder", "ParallelCore", "SymbolCore", "BlockBuffer",
           "BlockEntry", "input_layout", "output_layout", "step_layout"]

#: Bits per segment of the speculative decode (as in the Huffman KV decoder).
SEGMENT_BITS = 8
#: Rank width: a raw exponent codeword is its own 8-bit rank.
RANK_BITS = 8


def input_layout(p):
    """Payload of ``i``: ``in_bits`` bits of a block, first bit in the MSB; ``last`` on the
    block's final word."""
    return data.StructLayout({"data": unsigned(p.in_bits), "last": 1})


def output_layout(p):
    """Payload of ``o``: ``lanes`` BF16 patterns, block boundaries and the block's error."""
    return data.StructLayout({"v": data.ArrayLayout(unsigned(16), p.lanes),
                              "first": 1, "last": 1, "err": 1})


def _segments(width):
    return [(start, min(start + SEGMENT_BITS, width)) for start in range(0, width, SEGMENT_BITS)]


def step_layout(p, capacity):
    """What a core hands the block buffer per step: a word's ``bytes`` and its ``index`` in
    the block (byte words are stored), up to ``capacity`` exponent ranks decoded in this step
    to be stored from slot ``base`` on, the block's decoded ``count`` so far and ``book``;
    ``last`` ends the block, ``err`` (on ``last``) flags it."""
    return data.StructLayout({
        "bytes": unsigned(p.in_bits),
        "index": range(p.byte_words + 2),
        "ranks": data.ArrayLayout(unsigned(RANK_BITS), capacity),
        "base": unsigned(p.group_size.bit_length()),
        "count": unsigned(p.group_size.bit_length()),
        "book": unsigned(p.book_bits),
        "last": 1,
        "err": 1,
    })


def _books(p):
    """Every book (configured ones, then raw) as a canonical code over ranks."""
    codebooks = p.codebook_set()
    return [Codebook(codebooks.book(p, number).counts, tuple(range(1 << RANK_BITS)))
            for number in range(p.raw_book + 1)]


def _min_code_len(p):
    return min(int(min(length for length in book.lengths(df.EXPONENTS) if length))
               for book in _books(p))


def _entry_layout(p):
    return data.StructLayout({
        "bytes": unsigned(p.byte_bits),
        "ranks": data.ArrayLayout(unsigned(RANK_BITS), p.group_size),
        "count": unsigned(p.group_size.bit_length()),
        "book": unsigned(p.book_bits),
        "err": 1,
    })


class ParallelCore(wiring.Component):
    """Decodes an ``in_bits`` word per cycle by speculation at every bit position.

    Byte words pass through. In code words a :class:`CodeLookup` per 8-bit segment gives
    each position's codeword length and rank, a :class:`SegmentWalker` per segment and
    :func:`resolve_entries` find the positions where codewords start (the book field is a
    fixed-length field ending in the first segment of the first code word), and
    :func:`compact` packs their ranks in order up to the first bad codeword.

    Members
    -------
    i : ``In(stream.Signature(input_layout(p)))``
    o : ``Out(stream.Signature(step_layout(p, capacity)))``, one step per word.

    Registers after the lookup's comparisons (``pipeline.compare``), after the lookup, every
    ``pipeline.resolve`` levels of the resolve tree,
    every ``pipeline.compact_every`` levels of the compaction tree and before the block
    buffer (``pipeline.assemble``) are optional.

    Latency: :meth:`latency` cycles (2 without optional registers) from the transfer of a
    block's last word to its last step. Throughput: one word per cycle while ``o`` is ready.
    """

    def __init__(self, params):
        self._p = params
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(step_layout(params, self.capacity(params)))),
        })

    @staticmethod
    def capacity(p):
        """Most ranks per step: the word's bits over the shortest code, at most a group."""
        return min(-(-p.in_bits // _min_code_len(p)), p.group_size)

    @staticmethod
    def registers(p):
        """The optional pipeline registers (``pipeline``), each one cycle of latency."""
        pipe = p.pipeline
        resolve = resolve_levels(len(_segments(p.in_bits)))
        return (int(pipe.compare) + int(pipe.lookup) + ((resolve - 1) // pipe.resolve if pipe.resolve else 0)
                + (compact_levels(p.in_bits) // pipe.compact_every if pipe.compact_every
                   else 0) + int(pipe.assemble))

    @classmethod
    def latency(cls, p):
        """Cycles from the transfer of a block's last word to its last step."""
        return 2 + cls.registers(p)

    def elaborate(self, platform):
        m = Module()
        p = self._p
        width, longest = p.in_bits, p.max_code_len
        code_word = p.byte_words  # index of a block's first code word
        index_shape = range(code_word + 2)  # code_word + 1: any later code word
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)

        # 1. Window: a word waits for its successor (the lookahead of windows that cross
        # into it) unless it ends its block.
        held = Signal(input_layout(p))
        held_index = Signal(index_shape)
        held_valid = Signal()
        index = Signal(index_shape)
        process = held_valid & advance & (held.last | self.i.valid)
        m.d.comb += self.i.ready.eq(~held_valid | process)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [held.eq(self.i.p), held_index.eq(index), held_valid.eq(1),
                         index.eq(Mux(self.i.p.last, 0,
                                      Mux(index == code_word + 1, index, index + 1)))]
        with m.Elif(process):
            m.d.sync += held_valid.eq(0)

        # 2. Registered word: its bits with the lookahead, and the block's book.
        bits = Signal(width + longest - 1)
        lookahead = self.i.p.data[width - (longest - 1):]
        book = Signal(p.book_bits)  # the book of the block being read
        book_now = Mux(held_index == code_word, held.data[width - p.book_bits:], book)
        side = {"valid": Signal(name="word_valid"), "index": Signal(index_shape),
                "last": Signal(), "bytes": Signal(width), "book": Signal(p.book_bits)}
        with m.If(advance):
            m.d.sync += side["valid"].eq(process)
        with m.If(process):
            m.d.sync += [bits.eq(Cat(Mux(held.last, 0, lookahead), held.data)),
                         side["index"].eq(held_index), side["last"].eq(held.last),
                         side["bytes"].eq(held.data), side["book"].eq(book_now),
                         book.eq(book_now)]
        stages = Stages(m, advance, side)
        stages.count = 1

        # 3. Lookup per segment: length and rank at every position (a register after the
        # comparisons: pipeline.compare).
        tables = [code_tables(book, RANK_BITS)[0] for book in _books(p)]
        lengths, ranks, invalid = segment_lookups(
            m, stages, bits, _segments(width), RANK_BITS, longest, tables, side["book"],
            compare=p.pipeline.compare)
        # A codeword running past the end of a block's `last` word is bad too.
        runs_out = Cat(*[Const(0, 1) if position <= width - longest
                         else lengths[position] >= width - position
                         for position in range(width)])
        bad = Cat(*invalid) | Mux(stages.side["last"], runs_out, 0)
        lengths, ranks, bad, runs_out = stages.register_if(
            p.pipeline.lookup, [lengths, ranks, bad, runs_out], "lookup")

        # 4. Resolve: the book field ends inside the first segment of the first code word.
        states = state_count(longest, SEGMENT_BITS)
        walkers = []
        for number, (start, stop) in enumerate(_segments(width)):
            walker = SegmentWalker(states, stop - start, len(lengths[0]))
            m.submodules[f"walk{number}"] = walker
            m.d.comb += walker.length.eq(Cat(*lengths[start:stop]))
            walkers.append(([walker.exits[state] for state in range(states)],
                            [walker.marks[state] for state in range(states)]))
        stages.side = dict(stages.side, ranks=ranks, bad=bad, runs_out=runs_out)
        marks = resolve_entries(m, stages, walkers,
                                start=lambda side: side["index"] == code_word,
                                start_state=lambda side: p.book_bits,
                                every=p.pipeline.resolve)
        ranks, bad = stages.side.pop("ranks"), stages.side.pop("bad")
        runs_out = stages.side.pop("runs_out")
        side = stages.side
        started = Signal(width)
        m.d.comb += started.eq(Mux(side["index"] >= code_word, Cat(*marks), 0))
        # Whether the word's last codeword start crosses its end.
        stages.side = dict(side, crossing=(started & runs_out).any())

        # 5. Compact the ranks of the started codewords, up to the first bad one.
        count, faulted, packed, _ = compact(m, stages, started, bad, ranks,
                                            min_len=_min_code_len(p),
                                            capacity=self.capacity(p),
                                            every=p.pipeline.compact_every)
        side = stages.side

        # 6. Block state. A block is complete once group_size codewords are decoded. The
        # word after the completing one still belongs to it if the final codeword runs into
        # it (the completing word's last start crosses its end); any other word before
        # `last` makes the block long.
        decoded = Signal(range(p.group_size + 1))
        dead = Signal()
        extra = Signal()  # a word past the block's end was received
        tail = Signal()   # this word holds the tail of the block's final codeword
        first = side["index"] == 0
        dead_before = Mux(first, 0, dead) | ((side["index"] == code_word)
                                             & (side["book"] > p.raw_book))
        before = Mux(first, 0, decoded)
        complete_before = before == p.group_size
        live = (side["index"] >= code_word) & ~dead_before & ~complete_before
        total = before + Mux(live, count, 0)
        decoded_now = Mux(total > p.group_size, p.group_size, total)
        extra_now = Mux(first, 0, extra) | (complete_before & ~tail)
        step = {"valid": side["valid"], "bytes": side["bytes"], "index": side["index"],
                "ranks": packed, "base": before, "count": decoded_now, "book": side["book"],
                "last": side["last"],
                "err": (decoded_now < p.group_size) | extra_now}
        step = stages.register_if(p.pipeline.assemble, step, "assemble")
        assert stages.count == 1 + self.registers(p)
        m.d.comb += [self.o.valid.eq(step.pop("valid"))]
        m.d.comb += [getattr(self.o.p, name).eq(value) for name, value in step.items()]
        with m.If(advance & side["valid"]):
            m.d.sync += [decoded.eq(decoded_now), extra.eq(extra_now),
                         dead.eq(dead_before | (live & faulted & (total < p.group_size))),
                         tail.eq(live & (total == p.group_size) & ~faulted
                                 & side["crossing"])]
        return m


class SymbolCore(wiring.Component):
    """The serial baseline: one exponent codeword per cycle (the classic table decoder: a
    ``max_code_len``-bit window at the current bit offset, one :class:`CodeLookup`
    position, the offset advanced by the code's length). A byte word takes one cycle.

    Members
    -------
    i : ``In(stream.Signature(input_layout(p)))``
    o : ``Out(stream.Signature(step_layout(p, 1)))``, one step per cycle.

    Latency: up to ``in_bits`` cycles from the transfer of a block's last word to its last
    step. Throughput: one codeword (or byte word) per cycle while ``o`` is ready.
    """

    def __init__(self, params):
        self._p = params
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(step_layout(params, 1))),
        })

    @staticmethod
    def capacity(p):
        return 1

    def elaborate(self, platform):
        m = Module()
        p = self._p
        width, longest, group = p.in_bits, p.max_code_len, p.group_size
        code_word = p.byte_words
        index_shape = range(code_word + 2)

        # Two word slots: the current word and its successor (the lookahead).
        slots = [Signal(input_layout(p), name=f"slot{number}") for number in range(2)]
        slot_index = [Signal(index_shape, name=f"slot{number}_index") for number in range(2)]
        full = [Signal(name=f"slot{number}_full") for number in range(2)]
        index = Signal(index_shape)
        held, held_index = slots[0], slot_index[0]
        offset = Signal(range(width + longest))
        book = Signal(p.book_bits)
        decoded = Signal(range(group + 1))
        dead = Signal()
        extra = Signal()
        tail = Signal()
        fresh = Signal(init=1)  # this step is the held word's first

        first_code = held_index == code_word
        on_code = held_index >= code_word
        book_now = Mux(first_code, held.data[width - p.book_bits:], book)
        position = Mux(first_code & (offset == 0), p.book_bits, offset)
        # The window at `position`, the successor's bits behind the word (zeros after last).
        behind = Mux(held.last, 0, slots[1].data[width - (longest - 1):])
        stream_bits = Cat(behind, held.data)
        window = Signal(longest)
        m.d.comb += window.eq((stream_bits << position)[width - 1:width - 1 + longest])
        unit = CodeLookup(RANK_BITS, longest, 1, [code_tables(book, RANK_BITS)[0]
                                                   for book in _books(p)])
        m.submodules.lookup = unit
        m.d.comb += [unit.bits.eq(window), unit.book.eq(book_now)]
        length = unit.length[0] + 1

        first = (held_index == 0)
        before = Mux(first, 0, decoded)
        dead_now = Mux(first, 0, dead) | (first_code & (book_now > p.raw_book))
        complete = before == group
        decoding = on_code & ~dead_now & ~complete
        needs_successor = ~held.last & (position + longest > width)
        ready_word = full[0] & (~decoding | ~needs_successor | full[1])
        runs_out = held.last & (position + length > width)
        bad = unit.invalid[0] | runs_out
        emit = decoding & ~bad
        end = position + length
        # The word is done: not decoding (bytes, dead or complete), or the code reaches its
        # end, or a fault.
        word_done = ~decoding | bad | (end >= width)
        # A word that begins after the block's final bit (no tail of its final codeword).
        extra_now = Mux(first, 0, extra) | (complete & fresh & ~tail)
        count_now = before + emit
        step = self.o.p
        m.d.comb += [
            self.o.valid.eq(ready_word),
            step.bytes.eq(held.data), step.index.eq(held_index),
            step.ranks[0].eq(Mux(emit, unit.symbol[0], 0)), step.base.eq(before),
            step.count.eq(count_now), step.book.eq(book_now),
            step.last.eq(held.last & word_done),
            step.err.eq((count_now < group) | extra_now),
        ]
        stepped = self.o.valid & self.o.ready
        consume = stepped & word_done
        m.d.comb += self.i.ready.eq(~full[1] | consume)
        accept = self.i.valid & self.i.ready
        incoming = Signal(input_layout(p))
        incoming_index = Signal(index_shape)
        m.d.comb += [incoming.eq(self.i.p), incoming_index.eq(index)]
        with m.If(accept):
            m.d.sync += index.eq(Mux(self.i.p.last, 0,
                                     Mux(index == code_word + 1, index, index + 1)))
        with m.If(consume):
            m.d.sync += [slots[0].eq(slots[1]), slot_index[0].eq(slot_index[1]),
                         full[0].eq(full[1]), full[1].eq(0)]
            with m.If(accept):
                with m.If(full[1]):
                    m.d.sync += [slots[1].eq(incoming), slot_index[1].eq(incoming_index),
                                 full[1].eq(1)]
                with m.Else():
                    m.d.sync += [slots[0].eq(incoming), slot_index[0].eq(incoming_index),
                                 full[0].eq(1)]
        with m.Elif(accept):
            with m.If(full[0]):
                m.d.sync += [slots[1].eq(incoming), slot_index[1].eq(incoming_index),
                             full[1].eq(1)]
            with m.Else():
                m.d.sync += [slots[0].eq(incoming), slot_index[0].eq(incoming_index),
                             full[0].eq(1)]

        with m.If(stepped):
            m.d.sync += [decoded.eq(count_now), book.eq(book_now), extra.eq(extra_now),
                         dead.eq(dead_now | (decoding & bad)), fresh.eq(word_done)]
            # The final codeword crossing into the next word makes that word its tail.
            m.d.sync += tail.eq(emit & (count_now == group) & (end > width))
            with m.If(word_done):
                m.d.sync += offset.eq(Mux(emit & (end > width), end - width, 0))
            with m.Else():
                m.d.sync += offset.eq(end)
        return m


class BlockEntry(wiring.Component):
    """One entry of a :class:`BlockBuffer`: a block's bytes, exponent ranks, decoded count,
    book and error, written one step at a time. A module of its own, so that hierarchical
    synthesis makes the buffer's two entries once; what both entries take from a step (the
    ranks placed at their slots, which slots and which byte word it writes) is computed once
    outside.

    Members
    -------
    write : ``In(1)``: store this step.
    ranks : ``In(unsigned(8·group_size))``: the step's ranks placed at their slots.
    slots : ``In(group_size)``: the slots the step writes (``base`` on).
    words : ``In(byte_words)``: one-hot, the byte word the step holds (none in a code word).
    bytes : ``In(in_bits)``: the step's bytes, value ``k``'s at bits ``8k``.
    count, book, last, err : ``In``, as :func:`step_layout`; ``err`` is stored on ``last``.
    o : ``Out(StructLayout({"bytes", "ranks", "count", "book", "err"}))``: what is stored.

    Latency: 1 cycle (registers).
    """

    def __init__(self, params):
        self._p = p = params
        super().__init__({
            "write": In(1),
            "ranks": In(p.group_size * RANK_BITS),
            "slots": In(p.group_size),
            "words": In(p.byte_words),
            "bytes": In(p.in_bits),
            "count": In(p.group_size.bit_length()),
            "book": In(p.book_bits),
            "last": In(1),
            "err": In(1),
            "o": Out(_entry_layout(params)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._p
        with m.If(self.write):
            for slot in range(p.group_size):
                with m.If(self.slots[slot]):
                    m.d.sync += self.o.ranks[slot].eq(self.ranks.word_select(slot, RANK_BITS))
            m.d.sync += [self.o.count.eq(self.count), self.o.book.eq(self.book)]
            for word in range(p.byte_words):
                with m.If(self.words[word]):
                    low = word * p.in_bits
                    m.d.sync += self.o.bytes[low:low + p.in_bits].eq(self.bytes)
            with m.If(self.last):
                m.d.sync += self.o.err.eq(self.err)
        return m


class BlockBuffer(wiring.Component):
    """Collects a block's bytes and exponent ranks and emits it ``lanes`` values per beat.

    Two entries in turn: one fills while the other drains, so a block's beats overlap the
    decoding of the next. Each lane maps its rank to an exponent by the block's book (raw:
    the rank is the exponent) and joins it with its byte; values at or beyond the block's
    decoded count are 0.

    Members
    -------
    i : ``In(stream.Signature(step_layout(p, capacity)))``
    o : ``Out(stream.Signature(output_layout(p)))``

    Latency: 1 cycle from a block's ``last`` step to its first beat. Throughput: one step
    per cycle in, one beat per cycle out; ``i`` waits only while both entries are full.
    """

    LATENCY = 1

    def __init__(self, params, capacity):
        self._p = params
        super().__init__({
            "i": In(stream.Signature(step_layout(params, capacity))),
            "o": Out(stream.Signature(output_layout(params))),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._p
        step = self.i.p
        codebooks = p.codebook_set()
        units = [BlockEntry(p) for _ in range(2)]
        for number, unit in enumerate(units):
            m.submodules[f"entry{number}"] = unit
        entries = [unit.o for unit in units]
        full = Signal(2)
        fill = Signal()
        drain = Signal()
        beat = Signal(range(max(p.beats_per_block, 2)))
        m.d.comb += self.i.ready.eq(~full.bit_select(fill, 1))
        # A word's first byte is in its MSB; the entry keeps value v's byte at bits 8v.
        in_order = Cat(*[step.bytes[p.in_bits - 8 * (k + 1):p.in_bits - 8 * k]
                         for k in range(p.in_bits // 8)])
        placed = Signal(p.group_size * RANK_BITS)
        m.d.comb += placed.eq(shift_units(step.ranks.as_value(), step.base, RANK_BITS,
                                          p.group_size * RANK_BITS))
        accepted = self.i.valid & self.i.ready
        for number, unit in enumerate(units):
            # The block's ranks so far are below `base` (a block's first step has base 0);
            # every slot from `base` on takes this step's (zeros past its ranks), so a slot
            # is a flop enable, not a merge.
            m.d.comb += [unit.write.eq(accepted & (fill == number)), unit.ranks.eq(placed),
                         unit.slots.eq(Cat(*[step.base <= slot
                                             for slot in range(p.group_size)])),
                         unit.words.eq(Cat(*[step.index == word
                                             for word in range(p.byte_words)])),
                         unit.bytes.eq(in_order), unit.count.eq(step.count),
                         unit.book.eq(step.book), unit.last.eq(step.last),
                         unit.err.eq(step.err)]
        with m.If(accepted & step.last):
            m.d.sync += [full.bit_select(fill, 1).eq(1), fill.eq(~fill)]

        count, block_book = (Mux(drain, getattr(entries[1], name), getattr(entries[0], name))
                             for name in ("count", "book"))
        m.d.comb += self.o.valid.eq(full.bit_select(drain, 1))
        # A lane reads one of (entry, beat) straight from the entries: one multiplexer per
        # lane bit rather than a whole entry selected first.
        read = Cat(beat, drain)
        beats = 1 << len(beat)
        for lane in range(p.lanes):
            slots = [(entry, k * p.lanes + lane) for entry in entries for k in range(beats)]
            rank = pick([entry.ranks[value] if value < p.group_size else 0
                         for entry, value in slots], read)
            byte = pick([entry.bytes[8 * value:8 * value + 8] if value < p.group_size else 0
                         for entry, value in slots], read)
            value = beat * p.lanes + lane
            exponent = Signal(8, name=f"exponent{lane}")
            with m.Switch(block_book):
                for number, book in enumerate(codebooks.books):
                    symbols = list(book.symbols) + [0] * ((1 << RANK_BITS) - len(book.symbols))
                    with m.Case(number):
                        m.d.comb += exponent.eq(
                            Cat(*[Const(symbol, 8) for symbol in symbols]).word_select(rank, 8))
                with m.Default():
                    m.d.comb += exponent.eq(rank)
            m.d.comb += self.o.p.v[lane].eq(Mux(value < count,
                                                Cat(byte[:7], exponent, byte[7]), 0))
        m.d.comb += [self.o.p.first.eq(beat == 0),
                     self.o.p.last.eq(beat == p.beats_per_block - 1),
                     self.o.p.err.eq(Mux(drain, entries[1].err, entries[0].err))]
        with m.If(self.o.valid & self.o.ready):
            with m.If(beat == p.beats_per_block - 1):
                m.d.sync += [beat.eq(0), full.bit_select(drain, 1).eq(0), drain.eq(~drain)]
            with m.Else():
                m.d.sync += beat.eq(beat + 1)
        return m


class _Decoder(wiring.Component):
    """A decoder core (the subclass's ``CORE``) and the block buffer."""

    def __init__(self, params):
        if not isinstance(params, DFloatParams):
            raise TypeError(f"Params must be a DFloatParams, not {params!r}")
        self._p = params
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(output_layout(params))),
        })

    @property
    def params(self):
        return self._p

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.CORE(self._p)
        m.submodules.buffer = buffer = BlockBuffer(self._p, self.CORE.capacity(self._p))
        wiring.connect(m, wiring.flipped(self.i), core.i)
        wiring.connect(m, core.o, buffer.i)
        wiring.connect(m, buffer.o, wiring.flipped(self.o))
        return m


class DFloatDecoder(_Decoder):
    """Decodes the blocks of :mod:`hwgen.golden.dfloat` into BF16 values, ``in_bits``
    compressed bits per cycle (:class:`ParallelCore`, then :class:`BlockBuffer`).

    Parameters
    ----------
    params : :class:`DFloatParams`

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"data": unsigned(in_bits), "last": 1})))``
        Blocks as ``in_bits``-bit words, first bit in the MSB, ``last`` on a block's final
        word (a block ends only at ``last``).
    o : ``Out(stream.Signature(StructLayout({"v": lanes × unsigned(16), "first": 1,
        "last": 1, "err": 1})))``: ``group_size/lanes`` beats per block, values in order;
        ``err`` on every beat of a bad block, whose values from the first undecoded exponent
        on are 0.

    Latency: 3 cycles (plus one per optional pipeline register) from the transfer of a
    block's last word to its first beat on ``o``.
    Throughput: one input word per cycle whatever the codes, while the output keeps up
    (``group_size/lanes`` beats per block; the default 128 values in 16 lanes take 8 beats,
    and a block of real weights is 11 words of 128 bits).
    """

    CORE = ParallelCore

    @property
    def performance(self):
        return {"latency_cycles": ParallelCore.latency(self._p) + BlockBuffer.LATENCY,
                "cycles_per_beat": 1,
                "compressed_bits_per_cycle": self._p.in_bits}


class DFloatSerialDecoder(_Decoder):
    """The serial baseline of :class:`DFloatDecoder`: same format, streams and errors, one
    exponent codeword (or one byte word) per cycle (:class:`SymbolCore`).

    Latency: up to ``in_bits + 2`` cycles from a block's last word to its first beat.
    Throughput: ``group_size`` codewords plus ``8·group_size/in_bits`` byte words per block,
    one per cycle.
    """

    CORE = SymbolCore

    @property
    def performance(self):
        p = self._p
        return {"latency_cycles": p.in_bits + 2, "cycles_per_beat": 1,
                "codewords_per_cycle": 1}
