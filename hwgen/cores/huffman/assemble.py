"""Stream layouts of the family and the block assembler both decoders end in."""
from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["input_layout", "output_layout", "decoded_layout", "BlockAssembler"]


def input_layout(p):
    """Payload of ``i``: ``in_bits`` bits of a block, first bit in the MSB; ``last`` marks the
    final word of a block."""
    return data.StructLayout({"data": unsigned(p.in_bits), "last": 1})


def output_layout(p):
    """Payload of ``o``: ``lanes`` dequantized values and their indices, block boundaries and
    the block's error flag."""
    return data.StructLayout({
        "v": data.ArrayLayout(signed(p.value_bits), p.lanes),
        "idx": data.ArrayLayout(unsigned(p.sym_bits), p.lanes),
        "first": 1,
        "last": 1,
        "err": 1,
    })


def decoded_layout(p, capacity):
    """What a decoder core hands the assembler per step: up to ``capacity`` indices decoded in
    this step (0 beyond those), to be stored from slot ``base`` on (slots past the group are
    dropped); ``count``, the indices of
    the block decoded so far; ``first``/``last`` delimit the block; on ``last``, ``err`` and
    the block's ``scale`` and pattern ``centroids``."""
    return data.StructLayout({
        "symbols": data.ArrayLayout(unsigned(p.sym_bits), capacity),
        "base": unsigned(p.group_size.bit_length()),
        "count": unsigned(p.group_size.bit_length()),
        "first": 1,
        "last": 1,
        "err": 1,
        "scale": unsigned(p.scale_bits),
        "centroids": data.ArrayLayout(signed(p.centroid_bits), p.symbols),
    })


def _entry_layout(p):
    return data.StructLayout({
        "symbols": data.ArrayLayout(unsigned(p.sym_bits), p.group_size),
        "count": unsigned(p.group_size.bit_length()),
        "err": 1,
        "products": data.ArrayLayout(signed(p.value_bits), p.symbols),
    })


class BlockAssembler(wiring.Component):
    """Collects a block's indices and emits it ``lanes`` values per beat.

    Two block entries are used in turn: one fills while the other drains, so a block's
    ``words_per_block`` output beats overlap the decoding of the next block. On a block's
    ``last`` step the ``2**sym_bits`` products ``centroid · scale`` are formed once; every
    lane then selects its value by index. Slots at or beyond the block's ``count`` (after a
    fault) give index 0 and value 0.

    Members
    -------
    i : ``In(stream.Signature(decoded_layout(p, capacity)))``
    o : ``Out(stream.Signature(output_layout(p)))``

    Latency: 1 cycle from the transfer of a block's ``last`` step to its first beat on ``o``.
    Throughput: one step per cycle in, one beat per cycle out; ``i`` waits only while both
    entries hold blocks not yet emitted.
    """

    LATENCY = 1

    def __init__(self, params, capacity):
        self._p = params
        self._capacity = capacity
        super().__init__({
            "i": In(stream.Signature(decoded_layout(params, capacity))),
            "o": Out(stream.Signature(output_layout(params))),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._p
        w = p.sym_bits
        entries = [Signal(_entry_layout(p), name=f"entry{index}") for index in range(2)]
        full = Signal(2)
        fill = Signal()
        drain = Signal()
        beat = Signal(range(max(p.words_per_block, 2)))  # one bit even for one beat per block

        step = self.i.p
        m.d.comb += self.i.ready.eq(~full.bit_select(fill, 1))
        placed = Signal(p.group_size * w)
        products = Signal(data.ArrayLayout(signed(p.value_bits), p.symbols))
        m.d.comb += [placed.eq(step.symbols.as_value() << (step.base * w)),
                     products.eq(Cat(*[(step.centroids[symbol] * step.scale)[:p.value_bits]
                                       for symbol in range(p.symbols)]))]
        with m.If(self.i.valid & self.i.ready):
            for number, entry in enumerate(entries):
                with m.If(fill == number):
                    kept = Mux(step.first, 0, entry.symbols.as_value())
                    m.d.sync += [entry.symbols.eq(kept | placed), entry.count.eq(step.count)]
                    with m.If(step.last):
                        m.d.sync += [entry.err.eq(step.err), full[number].eq(1)]
                        m.d.sync += entry.products.eq(products)
            with m.If(step.last):
                m.d.sync += fill.eq(~fill)

        current = Signal(_entry_layout(p))
        m.d.comb += [current.eq(Mux(drain, entries[1], entries[0])),
                     self.o.valid.eq(full.bit_select(drain, 1))]
        beat_symbols = Signal(p.lanes * w)
        m.d.comb += beat_symbols.eq(current.symbols.as_value().word_select(beat, p.lanes * w))
        for lane in range(p.lanes):
            decoded = beat * p.lanes + lane < current.count
            index = beat_symbols[lane * w:(lane + 1) * w]
            m.d.comb += [
                self.o.p.idx[lane].eq(Mux(decoded, index, 0)),
                self.o.p.v[lane].eq(Mux(decoded, current.products.as_value().word_select(
                    index, p.value_bits), 0)),
            ]
        m.d.comb += [self.o.p.first.eq(beat == 0),
                     self.o.p.last.eq(beat == p.words_per_block - 1),
                     self.o.p.err.eq(current.err)]
        with m.If(self.o.valid & self.o.ready):
            with m.If(beat == p.words_per_block - 1):
                m.d.sync += [beat.eq(0), full.bit_select(drain, 1).eq(0), drain.eq(~drain)]
            with m.Else():
                m.d.sync += beat.eq(beat + 1)
        return m
