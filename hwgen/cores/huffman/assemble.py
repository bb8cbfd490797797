"""Stream layouts of the family and the block assembler both decoders end in."""
from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.huffman.speculative import pick, shift_units

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

    With ``pipeline.assemble`` a register holds each step's indices already moved to their
    slots (a shift by ``base``), its scale and centroids, before they are stored (the
    products are formed from that register, as the entry stores them), and a skid register
    in front of it makes ``i.ready`` a register (it holds a step that arrives while the
    register cannot move).

    Latency: 1 cycle (2 with ``pipeline.assemble``) from the transfer of a block's ``last``
    step to its first beat on ``o``.
    Throughput: one step per cycle in, one beat per cycle out; ``i`` waits only while both
    entries hold blocks not yet emitted.
    """

    def __init__(self, params, capacity):
        self._p = params
        self._capacity = capacity
        super().__init__({
            "i": In(stream.Signature(decoded_layout(params, capacity))),
            "o": Out(stream.Signature(output_layout(params))),
        })

    @staticmethod
    def latency(p):
        """1, plus 1 with ``pipeline.assemble``."""
        return 1 + int(p.pipeline.assemble)

    def elaborate(self, platform):
        m = Module()
        p = self._p
        w = p.sym_bits
        entries = [Signal(_entry_layout(p), name=f"entry{index}") for index in range(2)]
        full = Signal(2)
        fill = Signal()
        drain = Signal()
        beat = Signal(range(max(p.words_per_block, 2)))  # one bit even for one beat per block

        # A step's indices moved to their slots, before they are stored.
        placed_layout = data.StructLayout({
            "symbols": unsigned(p.group_size * w), "count": unsigned(p.group_size.bit_length()),
            "first": 1, "last": 1, "err": 1, "scale": unsigned(p.scale_bits),
            "centroids": data.ArrayLayout(signed(p.centroid_bits), p.symbols)})
        step = self.i.p
        store = ~full.bit_select(fill, 1)
        if p.pipeline.assemble:
            # A skid register makes `i.ready` a register: the decoder's stall (which loads
            # every one of its pipeline registers) does not wait for whether an entry is free.
            skid = Signal(decoded_layout(p, self._capacity))
            skid_valid = Signal()
            staged_valid = Signal()
            take = ~staged_valid | store
            m.d.comb += self.i.ready.eq(~skid_valid)
            with m.If(self.i.valid & ~skid_valid & ~take):
                m.d.sync += [skid.eq(self.i.p), skid_valid.eq(1)]
            with m.If(skid_valid & take):
                m.d.sync += skid_valid.eq(0)
            step = Signal(decoded_layout(p, self._capacity))
            m.d.comb += step.eq(Mux(skid_valid, skid.as_value(), self.i.p.as_value()))
        placed = Signal(placed_layout)
        m.d.comb += [placed.symbols.eq(shift_units(step.symbols.as_value(), step.base, w,
                                                   p.group_size * w)),
                     placed.count.eq(step.count), placed.first.eq(step.first),
                     placed.last.eq(step.last), placed.err.eq(step.err),
                     placed.scale.eq(step.scale), placed.centroids.eq(step.centroids)]
        if p.pipeline.assemble:
            staged = Signal(placed_layout)
            with m.If(take):
                m.d.sync += [staged.eq(placed), staged_valid.eq(skid_valid | self.i.valid)]
            placed, placed_valid = staged, staged_valid
        else:
            m.d.comb += self.i.ready.eq(store)
            placed_valid = self.i.valid
        # The products are formed from the placed step, so with `pipeline.assemble` the
        # multipliers run from a register to the entries' registers, with no skid
        # multiplexer in front of them.
        products = Cat(*[(placed.centroids[symbol] * placed.scale)[:p.value_bits]
                         for symbol in range(p.symbols)])
        with m.If(placed_valid & store):
            for number, entry in enumerate(entries):
                with m.If(fill == number):
                    kept = Mux(placed.first, 0, entry.symbols.as_value())
                    m.d.sync += [entry.symbols.eq(kept | placed.symbols),
                                 entry.count.eq(placed.count)]
                    with m.If(placed.last):
                        m.d.sync += [entry.err.eq(placed.err), full[number].eq(1),
                                     entry.products.eq(products)]
            with m.If(placed.last):
                m.d.sync += fill.eq(~fill)

        current = Signal(_entry_layout(p))
        m.d.comb += [current.eq(Mux(drain, entries[1], entries[0])),
                     self.o.valid.eq(full.bit_select(drain, 1))]
        beat_symbols = Signal(p.lanes * w)
        lane_group = p.lanes * w
        m.d.comb += beat_symbols.eq(pick([current.symbols.as_value()[k:k + lane_group]
                                          for k in range(0, p.group_size * w, lane_group)],
                                         beat))
        for lane in range(p.lanes):
            decoded = beat * p.lanes + lane < current.count
            index = beat_symbols[lane * w:(lane + 1) * w]
            m.d.comb += [
                self.o.p.idx[lane].eq(Mux(decoded, index, 0)),
                self.o.p.v[lane].eq(Mux(decoded, pick(current.products, index), 0)),
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
