"""The attention-score unit's dot product: decoded key values times the stored query."""
from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.common import adder_tree
from hwgen.cores.huffman.assemble import output_layout
from hwgen.cores.llm_tile.matvec import write_layout

__all__ = ["score_layout", "ScoreUnit"]


def score_layout(score_bits):
    return data.StructLayout({"score": signed(score_bits), "err": 1})


class ScoreUnit(wiring.Component):
    """``q·k`` for every key block leaving a Huffman KV decoder (decompress, then compute).

    The query (``group_size`` signed ``q_bits`` elements) sits in a memory of ``q_words``
    chunks of ``q_lanes`` elements, matching the decoder's output beats: beat ``b`` of a
    block is multiplied element-wise with chunk ``b`` (``q_lanes`` multipliers), the
    products are summed in a tree and accumulated over the block.

    Parameters
    ----------
    params : :class:`~hwgen.cores.llm_tile.params.LlmTileParams`

    Members
    -------
    q_write : ``In(write_layout(ArrayLayout(signed(q_bits), q_lanes), q_words))``
        Query memory write port; must not write while blocks are being scored.
    i : ``In(stream.Signature(hwgen.cores.huffman.assemble.output_layout(kv)))``
        The decoder's beats: values ``v``, ``first``, ``last``, ``err``.
    o : ``Out(stream.Signature(score_layout(score_bits)))``
        One beat per block: the exact score, or 0 with ``err`` for a corrupt block.

    Latency: 3 cycles (4 with ``pipeline.score``, which registers the products before
    their adder tree) from a block's last beat on ``i`` to its score on ``o``.
    Throughput: one beat per cycle (the decoder's full rate).
    """

    def __init__(self, params):
        g = params.geometry
        self._g = g
        self._registered_products = params.pipeline.score
        self._kv = params.kv
        self._q_layout = data.ArrayLayout(signed(g.q_bits), g.q_lanes)
        super().__init__({
            "q_write": In(write_layout(self._q_layout, g.q_words)),
            "i": In(stream.Signature(output_layout(params.kv))),
            "o": Out(stream.Signature(score_layout(g.score_bits))),
        })

    @property
    def latency(self):
        return 3 + int(self._registered_products)

    def elaborate(self, platform):
        m = Module()
        g = self._g
        m.submodules.query = query = memory.Memory(shape=self._q_layout, depth=g.q_words,
                                                   init=[])
        write = query.write_port()
        m.d.comb += [write.en.eq(self.q_write.en), write.addr.eq(self.q_write.addr),
                     write.data.eq(self.q_write.data)]
        read = query.read_port()

        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        # Stage 1: register the beat while its query chunk is read.
        next_beat = Signal(range(max(g.q_words, 2)))
        beat = Mux(self.i.p.first, 0, next_beat)
        m.d.comb += [read.en.eq(advance), read.addr.eq(beat)]
        values = Signal(output_layout(self._kv)["v"].shape)
        side = {name: Signal(name=f"s1_{name}") for name in ("valid", "first", "last", "err")}
        with m.If(advance):
            m.d.sync += [side["valid"].eq(self.i.valid), values.eq(self.i.p.v),
                         side["first"].eq(self.i.p.first), side["last"].eq(self.i.p.last),
                         side["err"].eq(self.i.p.err)]
            with m.If(self.i.valid):
                m.d.sync += next_beat.eq(beat + 1)

        # Stage 2: the beat's products (registered with pipeline.score), summed.
        products = [values[lane] * read.data[lane] for lane in range(g.q_lanes)]
        if self._registered_products:
            registered = [Signal(signed(len(product)), name=f"product{lane}")
                          for lane, product in enumerate(products)]
            side_products = {name: Signal(name=f"sp_{name}") for name in side}
            with m.If(advance):
                m.d.sync += [register.eq(product)
                             for register, product in zip(registered, products)]
                m.d.sync += [side_products[name].eq(side[name]) for name in side]
            products, side = registered, side_products
        beat_sum = Signal(signed(g.score_bits))
        side2 = {name: Signal(name=f"s2_{name}") for name in side}
        with m.If(advance):
            m.d.sync += beat_sum.eq(adder_tree(products))
            m.d.sync += [side2[name].eq(side[name]) for name in side]

        # Stage 3: accumulate over the block; emit on its last beat.
        total = Signal(signed(g.score_bits))
        accumulated = Signal(signed(g.score_bits))
        m.d.comb += accumulated.eq(Mux(side2["first"], beat_sum, total + beat_sum))
        with m.If(advance):
            m.d.sync += self.o.valid.eq(side2["valid"] & side2["last"])
            with m.If(side2["valid"]):
                m.d.sync += [total.eq(accumulated),
                             self.o.p.score.eq(Mux(side2["err"], 0, accumulated)),
                             self.o.p.err.eq(side2["err"])]
        return m
