"""The bit-serial baseline core: one compressed bit per cycle."""
from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.huffman.assemble import decoded_layout, input_layout
from hwgen.cores.huffman.tables import LookupSignature
from hwgen.cores.huffman.words import header_fields, held_layout, take_word

__all__ = ["SerialCore"]


class SerialCore(wiring.Component):
    """Decodes one bit per cycle, most significant first: the classic canonical decoder that
    extends the current code by a bit and compares it with the end of the codes of its length.

    Every bit of a block (header and padding included) takes one cycle and one step on ``o``;
    a word past the block's end takes one step.

    Members
    -------
    i : ``In(stream.Signature(input_layout(p)))``
    o : ``Out(stream.Signature(decoded_layout(p, 1)))``
    tables : ``Out(LookupSignature(p))``

    Latency: ``in_bits`` cycles from the transfer of a block's last word to its last step.
    Throughput: one word per ``in_bits`` cycles while ``o`` is ready.
    """

    def __init__(self, params):
        self._p = params
        super().__init__({
            "i": In(stream.Signature(input_layout(params))),
            "o": Out(stream.Signature(decoded_layout(params, self.capacity(params)))),
            "tables": Out(LookupSignature(params)),
        })

    @staticmethod
    def capacity(p):
        """Most symbols handed to the assembler per step."""
        return 1

    @staticmethod
    def latency(p):
        """Cycles from the transfer of a block's last word to its last step on ``o``."""
        return p.in_bits

    @staticmethod
    def cycles_per_word(p):
        return p.in_bits

    def elaborate(self, platform):
        m = Module()
        p = self._p
        width, longest, group = p.in_bits, p.max_code_len, p.group_size
        lookup = self.tables

        held = Signal(held_layout(p))
        held_valid = Signal()
        bit = Signal(range(width))
        past_block = held.index == p.words_per_block
        word_done = past_block | (bit == width - 1)
        stepped = self.o.valid & self.o.ready
        accept = self.i.valid & self.i.ready
        m.d.comb += [self.o.valid.eq(held_valid),
                     self.i.ready.eq(~held_valid | (self.o.ready & word_done)),
                     lookup.in_use.eq(held_valid << held.bank)]
        take_word(m, p, self.i.p, accept, lookup, held)
        with m.If(accept):
            m.d.sync += [held_valid.eq(1), bit.eq(0)]
        with m.Elif(stepped & word_done):
            m.d.sync += held_valid.eq(0)
        with m.Elif(stepped):
            m.d.sync += bit.eq(bit + 1)

        # Block state, restarted by the block's first step.
        header = Signal(p.header_bits)
        code = Signal(longest)
        code_length = Signal(range(longest))
        decoded = Signal(range(group + 1))
        dead = Signal()
        long_block = Signal()
        first = (held.index == 0) & (bit == 0)
        code_now = Mux(first, 0, code)
        length_now = Mux(first, 0, code_length)
        decoded_now = Mux(first, 0, decoded)
        dead_now = Mux(first, 0, dead)
        long_now = Mux(first, 0, long_block) | past_block

        early_last = Const(0, 1)  # `last` before the block's final word: cut short
        if p.words_per_block > 1:
            early_last = held.index < p.words_per_block - 1
        book, pattern, scale = header_fields(p, header)
        m.d.comb += [lookup.bank.eq(held.bank), lookup.book.eq(book), lookup.pattern.eq(pattern)]
        current = held.data[::-1].bit_select(bit, 1)
        in_header = held.index * width + bit < p.header_bits
        header_ok = lookup.book_ok & lookup.pattern_ok
        decoding = ~in_header & ~past_block & ~dead_now & (decoded_now < group)

        tables = lookup.code
        # The end of the codes of each length, right-justified: codes of length l are below it.
        ends = Cat(*[tables.limits[length] >> (longest - 1 - length) for length in range(longest)])
        extended = Signal(longest)
        m.d.comb += extended.eq(Cat(current, code_now))
        wide = longest + 1
        hit = extended < ends.word_select(length_now, wide)
        rank = (extended + tables.deltas.as_value().word_select(length_now, p.sym_bits)
                )[:p.sym_bits]
        emit = decoding & header_ok & hit
        fault = decoding & (~header_ok | (~hit & (length_now == longest - 1)))

        step = self.o.p
        m.d.comb += [
            step.symbols[0].eq(Mux(emit, lookup.code.symbols.as_value().word_select(
                rank, p.sym_bits), 0)),
            step.base.eq(decoded_now),
            step.count.eq(decoded_now + emit),
            step.first.eq(first),
            step.last.eq(held.last & word_done),
            step.err.eq((decoded_now + emit < group) | long_now | early_last),
            step.scale.eq(scale),
            step.centroids.eq(lookup.centroids),
        ]
        with m.If(stepped):
            m.d.sync += [
                header.eq(Mux(in_header & ~past_block, Cat(current, header), header)),
                code.eq(Mux(emit | ~decoding, 0, extended)),
                code_length.eq(Mux(emit | ~decoding, 0, length_now + 1)),
                decoded.eq(decoded_now + emit),
                dead.eq(dead_now | fault),
                long_block.eq(long_now),
            ]
        return m
