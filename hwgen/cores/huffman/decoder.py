"""The two decoders of the family: parallel speculative and bit-serial, with equal streams."""
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.huffman.assemble import BlockAssembler, input_layout, output_layout
from hwgen.cores.huffman.parallel import ParallelCore
from hwgen.cores.huffman.params import HuffmanParams
from hwgen.cores.huffman.serial import SerialCore
from hwgen.cores.huffman.tables import TableStore, cfg_layout

__all__ = ["HuffmanKVDecoder", "HuffmanSerialDecoder"]


class _Decoder(wiring.Component):
    """A decoder core (the subclass's ``CORE``), its table store and the block assembler."""

    def __init__(self, params):
        if not isinstance(params, HuffmanParams):
            raise TypeError(f"Params must be a HuffmanParams, not {params!r}")
        self._p = params
        members = {"i": In(stream.Signature(input_layout(params)))}
        if params.runtime:
            members["cfg"] = In(stream.Signature(cfg_layout(params)))
        members["o"] = Out(stream.Signature(output_layout(params)))
        super().__init__(members)

    @property
    def params(self):
        return self._p

    def elaborate(self, platform):
        m = Module()
        p = self._p
        m.submodules.core = core = self.CORE(p)
        m.submodules.tables = store = TableStore(p)
        m.submodules.assembler = assembler = BlockAssembler(p, self.CORE.capacity(p))
        wiring.connect(m, wiring.flipped(self.i), core.i)
        wiring.connect(m, core.tables, store.lookup)
        if p.runtime:
            wiring.connect(m, wiring.flipped(self.cfg), store.cfg)
        wiring.connect(m, core.o, assembler.i)
        wiring.connect(m, assembler.o, wiring.flipped(self.o))
        return m

    @property
    def performance(self):
        p = self._p
        cycles = self.CORE.cycles_per_word(p)
        return {
            "latency_cycles": self.CORE.latency(p) + BlockAssembler.latency(p),
            "cycles_per_beat": cycles,
            "compressed_bits_per_cycle": p.in_bits / cycles,
            "values_per_cycle": p.lanes / cycles,
            "blocks_per_cycle": 1 / (p.words_per_block * cycles),
        }


class HuffmanKVDecoder(_Decoder):
    """Parallel speculative Huffman decoder for KV-cache blocks (after Ecco).

    Decodes blocks of the format in :mod:`hwgen.golden.kvformat` into dequantized values
    ``centroid · scale``.

    Parameters
    ----------
    params : :class:`HuffmanParams`

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"data": unsigned(in_bits), "last": 1})))``
        The blocks, ``in_bits`` bits per beat, first bit in the MSB; ``last`` on a block's
        final word.
    cfg : ``In(stream.Signature(StructLayout({"data": …, "last": 1})))``, runtime tables
        only: table sets, one entry per beat (:func:`hwgen.golden.kvformat.table_entries`).
    o : ``Out(stream.Signature(StructLayout({"v": lanes × signed(value_bits),
        "idx": lanes × unsigned(sym_bits), "first": 1, "last": 1, "err": 1})))``
        ``lanes = group_size·in_bits/block_bits`` values per beat, ``block_bits/in_bits``
        beats per block; ``err`` on every beat of a bad block, whose values from the fault on
        are 0.

    Latency: from the transfer of a block's last word to its first beat on ``o``, 4 cycles
    (3 for a block of one word) plus one per pipeline register (``params.pipeline``;
    ``performance["latency_cycles"]``).
    Throughput: one word (``in_bits`` compressed bits, ``lanes`` values) per cycle for every
    block, whatever its codes.
    """

    CORE = ParallelCore


class HuffmanSerialDecoder(_Decoder):
    """The bit-serial baseline of :class:`HuffmanKVDecoder`: same format, streams and errors.

    Latency: ``in_bits + 1`` cycles from the transfer of a block's last word to its first
    beat on ``o``.
    Throughput: one compressed bit per cycle (a word per ``in_bits`` cycles).
    """

    CORE = SerialCore
