"""The parallel speculative decoder core: one ``in_bits`` word per cycle, whatever the codes."""
import functools

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.huffman.assemble import decoded_layout, input_layout
from hwgen.cores.huffman.tables import LookupSignature, canonical
from hwgen.cores.huffman.words import header_fields, header_now, held_layout, take_word

__all__ = ["ParallelCore", "SEGMENT_BITS"]

#: Bits per segment: each segment is decoded from every possible entry state (Ecco).
SEGMENT_BITS = 8


class ParallelCore(wiring.Component):
    """Decodes a word of ``in_bits`` bits per cycle by speculation at every bit position.

    Stage 1 (lookup) decodes a codeword at each of the word's ``in_bits`` positions at once,
    from a ``max_code_len``-bit window (the next word supplies the windows that cross into it,
    so a word is looked up when its successor arrives, or at once if it ends its block).

    Stage 2 (resolve) finds which positions really start codewords. The state of a position is
    the number of bits left of the codeword it lies in (0: a codeword starts here). Each 8-bit
    segment is walked from every possible entry state; a log-depth tree composes the
    segments' state maps and hands every segment its entry state; a log-depth tree of shifts
    then compacts the symbols of the started codewords, in order, up to the first bad one
    (an invalid code, or one past the block's end), after which the block is dead.

    Members
    -------
    i : ``In(stream.Signature(input_layout(p)))``
    o : ``Out(stream.Signature(decoded_layout(p, min(in_bits, group_size))))``, one step per
        word.
    tables : ``Out(LookupSignature(p))``

    Latency: 2 cycles from the transfer of a block's last word to its last step on ``o``.
    Throughput: one word per cycle while ``o`` is ready.
    """

    def __init__(self, params):
        p = params
        self._p = p
        self._capacity = self.capacity(p)
        self._states = max(p.max_code_len, SEGMENT_BITS)
        self._state_bits = (self._states - 1).bit_length()
        super().__init__({
            "i": In(stream.Signature(input_layout(p))),
            "o": Out(stream.Signature(decoded_layout(p, self._capacity))),
            "tables": Out(LookupSignature(p)),
        })

    def _stage_layout(self):
        p = self._p
        return data.StructLayout({
            "length": data.ArrayLayout(unsigned(max(1, (p.max_code_len - 1).bit_length())),
                                       p.in_bits),
            "symbol": data.ArrayLayout(unsigned(p.sym_bits), p.in_bits),
            "bad": unsigned(p.in_bits),
            "index": unsigned(p.words_per_block.bit_length()),
            "last": 1,
            "header_ok": 1,
            "scale": unsigned(p.scale_bits),
            "centroids": data.ArrayLayout(signed(p.centroid_bits), p.symbols),
        })

    @staticmethod
    def capacity(p):
        """Most symbols handed to the assembler per step."""
        return min(p.in_bits, p.group_size)

    @staticmethod
    def latency(p):
        """Cycles from the transfer of a block's last word to its last step on ``o``."""
        return 2

    @staticmethod
    def cycles_per_word(p):
        return 1

    def elaborate(self, platform):
        m = Module()
        p = self._p
        lookup = self.tables

        held = Signal(held_layout(p))
        held_valid = Signal()
        stage = Signal(self._stage_layout())
        stage_valid = Signal()
        stage_free = ~stage_valid | self.o.ready
        final = held.last | (held.index == p.words_per_block - 1)
        past_block = held.index == p.words_per_block
        # A word that ends its block (or lies past it) needs no successor to be looked up.
        standalone = final | past_block
        accept = self.i.valid & self.i.ready
        process = held_valid & stage_free & (standalone | self.i.valid)
        m.d.comb += [self.i.ready.eq(~held_valid | stage_free),
                     lookup.busy.eq(held_valid), lookup.busy_bank.eq(held.bank)]
        take_word(m, p, self.i.p, accept, lookup, held)
        with m.If(accept):
            m.d.sync += held_valid.eq(1)
        with m.Elif(process):
            m.d.sync += held_valid.eq(0)

        header = Signal(p.header_bits)
        current_header = header_now(m, p, held, header)
        book, pattern, scale = header_fields(p, current_header)
        m.d.comb += [lookup.bank.eq(held.bank), lookup.book.eq(book), lookup.pattern.eq(pattern)]
        lengths, symbols, bad = self._lookup(m, held, standalone, final)
        with m.If(process):
            m.d.sync += [
                header.eq(current_header),
                stage_valid.eq(1),
                stage.length.eq(lengths), stage.symbol.eq(symbols), stage.bad.eq(bad),
                stage.index.eq(held.index), stage.last.eq(held.last),
                stage.header_ok.eq(lookup.book_ok & lookup.pattern_ok),
                stage.scale.eq(scale), stage.centroids.eq(lookup.centroids),
            ]
        with m.Elif(self.o.valid & self.o.ready):
            m.d.sync += stage_valid.eq(0)

        m.d.comb += self.o.valid.eq(stage_valid)
        self._resolve(m, stage)
        return m

    def _lookup(self, m, held, standalone, final):
        """Per bit position of the held word: codeword length − 1, symbol, and whether the
        codeword is bad (matches no code, or runs past the end of a block's final word).

        A window of ``max_code_len`` bits holds a code of length ``l`` when it is at least the
        left-justified end of the shorter codes and below that of length ``l``; its symbol is
        ``symbols[code − first[l] + offset[l]]``, where ``offset − first`` is shared by every
        position of the word.
        """
        p = self._p
        width, longest, w = p.in_bits, p.max_code_len, p.sym_bits
        tables = self.tables.book_tables
        first, offset, end = canonical(tables.counts, longest)
        limits, deltas = [], []
        for length in range(longest):
            limit = Signal(longest + 1, name=f"limit{length + 1}")
            delta = Signal(w, name=f"delta{length + 1}")
            m.d.comb += [limit.eq(end[length] << (longest - 1 - length)),
                         delta.eq((offset[length] - first[length])[:w])]
            limits.append(limit)
            deltas.append(delta)
        deltas = Cat(*deltas)
        bits = Signal(width + longest - 1)
        lookahead = self.i.p.data[width - (longest - 1):]
        m.d.comb += bits.eq(Cat(Mux(standalone, 0, lookahead)[:len(lookahead)], held.data))
        lengths = Signal(self._stage_layout()["length"].shape)
        symbols = Signal(self._stage_layout()["symbol"].shape)
        bad = Signal(width)
        # The limits are sorted: the length is found by binary search (length − 1 comes out
        # bit by bit, most significant first); thresholds past the last length never match.
        steps = (longest - 1).bit_length()
        thresholds = limits[:-1] + [limits[-1]] * ((1 << steps) - longest)
        for position in range(width):
            window = Signal(longest, name=f"window{position}")
            m.d.comb += window.eq(bits[width - 1 - position:width - 1 - position + longest])
            found = []
            for level in reversed(range(steps)):
                candidates = thresholds[(1 << level) - 1::1 << (level + 1)]
                threshold = (Cat(*candidates).word_select(Cat(*reversed(found)), longest + 1)
                             if found else candidates[0])
                found.append(window >= threshold)
            length_minus_one = Signal(range(longest), name=f"length{position}")
            m.d.comb += length_minus_one.eq(Cat(*reversed(found)))
            # The low sym_bits bits of the window's first `length` bits, for every length.
            padded = Cat(window, Const(0, w))
            code_low = Cat(*[padded[longest - 1 - k:longest - 1 - k + w]
                             for k in range(longest)]).word_select(length_minus_one, w)
            rank = (code_low + deltas.word_select(length_minus_one, w))[:w]
            past_end = Const(0, 1)
            if position > width - longest:
                past_end = final & (length_minus_one >= width - position)
            m.d.comb += [
                lengths[position].eq(length_minus_one),
                symbols[position].eq(tables.symbols.as_value().word_select(rank, w)),
                bad[position].eq((window >= limits[-1]) | past_end),
            ]
        return lengths, symbols, bad

    def _resolve(self, m, stage):
        """Stage 2: the started positions of the staged word, compacted into ``o``."""
        p = self._p
        width, group = p.in_bits, p.group_size
        states, state_bits = self._states, self._state_bits
        segments = [(start, min(start + SEGMENT_BITS, width))
                    for start in range(0, width, SEGMENT_BITS)]

        # Walk every segment from every entry state: the starts it marks and its exit state.
        maps, marks_by_entry = [], []
        for start, stop in segments:
            exits, marks = [], []
            for entry in range(states):
                if entry >= stop - start:
                    exits.append(Const(entry - (stop - start), state_bits))
                    continue
                state, started = Const(0, state_bits), []
                for position in range(start + entry, stop):
                    started.append(state == 0)
                    after = Signal(state_bits, name=f"walk{position}_from{start + entry}")
                    m.d.comb += after.eq(Mux(state == 0, stage.length[position],
                                             (state - 1)[:state_bits]))
                    state = after
                exits.append(state)
                marks.append(Cat(Const(0, entry), *started))
            maps.append(exits)
            marks_by_entry.append(marks)

        # The header ends inside segment `header_segment` of word `header_word`: that
        # segment's entry state is fixed there.
        header_word, header_offset = divmod(p.header_bits, width)
        header_segment = header_offset // SEGMENT_BITS
        on_header_word = stage.index == header_word
        header_entry = header_offset - header_segment * SEGMENT_BITS
        carry = Signal(state_bits)
        entry_state = Signal(state_bits)
        if header_segment == 0:
            m.d.comb += entry_state.eq(Mux(on_header_word, header_entry, carry))
        else:
            m.d.comb += entry_state.eq(carry)
            maps[header_segment - 1] = [Mux(on_header_word, header_entry, exit)
                                        for exit in maps[header_segment - 1]]

        entries, word_exit = self._entry_states(m, maps, entry_state)

        # A block is dead from a bad header or its first bad codeword on: no more symbols.
        dead = Signal()
        first = stage.index == 0
        past_block = stage.index == p.words_per_block
        dead_before = Mux(first, 0, dead) | (on_header_word & ~stage.header_ok) | past_block
        if header_word:
            dead_before |= stage.index < header_word
        marks = Signal(width)
        for number, ((start, stop), entry) in enumerate(zip(segments, entries)):
            size = stop - start
            masked = dead_before
            if number < header_segment:
                masked |= on_header_word
            chosen = Cat(*marks_by_entry[number], Const(0, size)).word_select(
                Mux(entry < size, entry, size), size)
            m.d.comb += marks[start:stop].eq(Mux(masked, 0, chosen))

        # Codewords from the first bad one on are dropped (the block is dead from there).
        bad_starts = Signal(width)
        m.d.comb += bad_starts.eq(marks & stage.bad)
        bad_so_far = _prefix_or(m, bad_starts)
        good = Signal(width)
        m.d.comb += good.eq(marks & ~bad_so_far)
        faulted = bad_so_far[-1]
        count, symbols = self._compact(m, good, stage.symbol, 0, width)

        decoded = Signal(range(group + 1))
        long_block = Signal()
        before = Mux(first, 0, decoded)
        total = before + count
        decoded_now = Mux(total > group, group, total)
        long_now = Mux(first, 0, long_block) | past_block
        early_last = Const(0, 1)  # `last` before the block's final word: cut short
        if p.words_per_block > 1:
            early_last = stage.last & (stage.index < p.words_per_block - 1)
        step_out = self.o.p
        m.d.comb += [
            step_out.symbols.eq(symbols),
            step_out.base.eq(before if p.words_per_block > 1 else 0),
            step_out.count.eq(decoded_now),
            step_out.first.eq(first),
            step_out.last.eq(stage.last),
            step_out.err.eq((decoded_now < group) | long_now | early_last),
            step_out.scale.eq(stage.scale),
            step_out.centroids.eq(stage.centroids),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [carry.eq(word_exit), decoded.eq(decoded_now), long_block.eq(long_now),
                         dead.eq(Mux(first, 0, dead) | (on_header_word & ~stage.header_ok)
                                 | faulted)]

    def _entry_states(self, m, maps, entry_state):
        """The entry state of every segment and the word's exit state, by a log-depth tree of
        state-map compositions (a map is the list of exit states per entry state)."""
        states, state_bits = self._states, self._state_bits

        def apply(state_map, state):
            return Cat(*state_map).word_select(state, state_bits)

        @functools.cache
        def composed(low, high):
            if high - low == 1:
                return maps[low]
            middle = (low + high) // 2
            before, after = composed(low, middle), composed(middle, high)
            result = []
            for entry in range(states):
                value = Signal(state_bits, name=f"map{low}_{high}_from{entry}")
                m.d.comb += value.eq(apply(after, before[entry]))
                result.append(value)
            return result

        def solve(state, low, high):
            if high - low == 1:
                return [state]
            middle = (low + high) // 2
            middle_state = Signal(state_bits, name=f"entry{middle}_from{low}")
            m.d.comb += middle_state.eq(apply(composed(low, middle), state))
            return solve(state, low, middle) + solve(middle_state, middle, high)

        word_exit = Signal(state_bits)
        m.d.comb += word_exit.eq(apply(composed(0, len(maps)), entry_state))
        return solve(entry_state, 0, len(maps)), word_exit

    def _compact(self, m, marks, symbols, low, high):
        """``(count, list)`` of the symbols at the marked positions ``low..high-1``, in order
        (the list holds at most ``min(in_bits, group_size)`` of them, 0 after the last)."""
        w = self._p.sym_bits
        if high - low == 1:
            return marks[low], Mux(marks[low], symbols[low], 0)
        middle = (low + high) // 2
        count_a, list_a = self._compact(m, marks, symbols, low, middle)
        count_b, list_b = self._compact(m, marks, symbols, middle, high)
        capacity = min(high - low, self._capacity)
        count = Signal(range(high - low + 1), name=f"count{low}_{high}")
        merged = Signal(capacity * w, name=f"list{low}_{high}")
        m.d.comb += [count.eq(count_a + count_b),
                     merged.eq((list_a | (list_b << (count_a * w)))[:capacity * w])]
        return count, merged


def _prefix_or(m, bits):
    """Bit ``k`` is the OR of ``bits[0..k]``: a log-depth (Sklansky) prefix network."""
    width = len(bits)
    level, span = bits, 1
    while span < width:
        upper = Signal(width, name=f"prefix_or{span}")
        m.d.comb += upper.eq(Cat(*[
            level[position] | level[position - position % span - 1]
            if (position // span) % 2 else level[position] for position in range(width)]))
        level, span = upper, span * 2
    return level
