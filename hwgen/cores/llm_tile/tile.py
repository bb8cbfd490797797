"""The ``llm_tile`` top: command dispatch, the matrix-vector unit, the attention-score unit
and one response stream."""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.huffman import HuffmanKVDecoder, HuffmanSerialDecoder
from hwgen.cores.llm_tile.matvec import MatVecUnit
from hwgen.cores.llm_tile.params import LlmTileParams
from hwgen.cores.llm_tile.score import ScoreUnit
from hwgen.golden.llm_tile import ADDR_BITS, ERR_BITS, ERRORS, OP_BITS, OPS

__all__ = ["command_layout", "response_layout", "LlmTile"]

DECODERS = {"parallel": HuffmanKVDecoder, "serial": HuffmanSerialDecoder}
#: Key blocks whose last word was taken but whose score is not out yet; the decoder's and the
#: score unit's buffers hold far fewer, so the limit only guards the counter.
MAX_BLOCKS_IN_FLIGHT = 15


def command_layout(g):
    """Payload of ``i``: the opcode, the end of a command, an address and the data word."""
    return data.StructLayout({"op": unsigned(OP_BITS), "last": 1, "addr": unsigned(ADDR_BITS),
                              "data": unsigned(g.data_bits)})


def response_layout(g):
    """Payload of ``o``: the opcode answered, an error code, an address and a value."""
    return data.StructLayout({"kind": unsigned(OP_BITS), "err": unsigned(ERR_BITS),
                              "addr": unsigned(ADDR_BITS), "value": signed(g.value_bits)})


class LlmTile(wiring.Component):
    """An LLM decode tile: ``y = W·x`` on a family engine with on-chip weights, and the
    attention scores ``q·k`` of compressed key blocks (Huffman decoder, then a dot product).

    The command set, responses and error rules are those of :mod:`hwgen.golden.llm_tile`.
    Commands are taken in order. While a product runs (until its last result has left),
    no command is taken; a command other than a key-block word waits until every block
    already ended has been scored; so responses leave in command order, from one source at
    a time. After reset the tile zeroes its memories (``max(words, chunks, q_words)``
    cycles) before it takes the first command.

    Parameters
    ----------
    params : :class:`~hwgen.cores.llm_tile.params.LlmTileParams`

    Members
    -------
    i : ``In(stream.Signature(command_layout(geometry)))``
        ``op``, ``last``, ``addr`` (16 bits), ``data`` (``data_bits``).
    o : ``Out(stream.Signature(response_layout(geometry)))``
        ``kind`` (the op answered), ``err``, ``addr``, ``value`` (``signed(value_bits)``).

    Latency and throughput: see :attr:`performance` — loads take one beat per cycle; key
    words go at the decoder's rate (one word per cycle for the parallel decoder, one bit
    per cycle for the serial one); a product takes ``matvec_cycles``.
    """

    def __init__(self, params):
        if not isinstance(params, LlmTileParams):
            raise TypeError(f"Params must be a LlmTileParams, not {params!r}")
        self._p = params
        self._g = g = params.geometry
        self._matvec = MatVecUnit(params)
        self._decoder = DECODERS[params.kv_decoder](params.kv)
        self._score = ScoreUnit(params)
        super().__init__({
            "i": In(stream.Signature(command_layout(g))),
            "o": Out(stream.Signature(response_layout(g))),
        })

    @property
    def params(self):
        return self._p

    @property
    def performance(self):
        g = self._g
        engine = self._matvec.engine.performance
        decoder = self._decoder.performance
        # From the transfer of a block's last word: the decoder to the block's first beat,
        # its other beats, then the score unit.
        score_latency = (decoder["latency_cycles"] + self._p.kv.words_per_block - 1
                         + self._score.latency)
        matvec_cycles = self._matvec.run_cycles()
        return {
            "latency_cycles": max(score_latency, matvec_cycles),
            "cycles_per_beat": 1,
            "matvec_cycles": matvec_cycles,
            "macs_per_cycle": g.rows * g.cols / matvec_cycles,
            "engine_macs_per_cycle": engine["macs_per_cycle"],
            "score_latency_cycles": score_latency,
            "kv_cycles_per_word": decoder["cycles_per_beat"],
            "kv_values_per_cycle": decoder["values_per_cycle"],
            "kv_blocks_per_cycle": decoder["blocks_per_cycle"],
            "clear_cycles": max(g.words, g.chunks, g.q_words),
        }

    def elaborate(self, platform):
        m = Module()
        g = self._g
        m.submodules.matvec = matvec = self._matvec
        m.submodules.decoder = decoder = self._decoder
        m.submodules.score = score = self._score
        wiring.connect(m, decoder.o, score.i)

        # After reset: zero every memory, one address per cycle.
        depth = max(g.words, g.chunks, g.q_words)
        clearing = Signal(init=1)
        clear_addr = Signal(range(max(depth, 2)))
        with m.If(clearing):
            m.d.sync += clear_addr.eq(clear_addr + 1)
            with m.If(clear_addr == depth - 1):
                m.d.sync += clearing.eq(0)

        command = self.i.p
        op = command.op
        response = Signal(response_layout(g))
        response_valid = Signal()
        weights_loaded = Signal()
        query_loaded = Signal()
        in_flight = Signal(range(MAX_BLOCKS_IN_FLIGHT + 1))
        block_index = Signal(ADDR_BITS)

        is_block = op == OPS["KBLOCK"]
        idle = ~clearing & ~response_valid & ~matvec.busy
        block_room = ~(command.last & (in_flight == MAX_BLOCKS_IN_FLIGHT))
        m.d.comb += [
            decoder.i.valid.eq(self.i.valid & is_block & idle & block_room),
            decoder.i.p.data.eq(command.data),
            decoder.i.p.last.eq(command.last),
        ]
        settled = in_flight == 0
        if g.table_entries:
            # LOAD_T: a table entry to the decoder's cfg stream, once every block ended so
            # far has been scored (the tables a block uses are fixed when it starts).
            is_table = op == OPS["LOAD_T"]
            m.d.comb += [
                decoder.cfg.valid.eq(self.i.valid & is_table & idle & settled),
                decoder.cfg.p.data.eq(command.data),
                decoder.cfg.p.last.eq(command.last),
            ]
            settled &= ~is_table | decoder.cfg.ready
        m.d.comb += self.i.ready.eq(idle & Mux(is_block, decoder.i.ready & block_room, settled))
        accepted = self.i.valid & self.i.ready

        # Memory writes: the clearing sweep, else the command's.
        writes = {OPS["LOAD_W"]: (matvec.w_write, g.words),
                  OPS["MATVEC"]: (matvec.x_write, g.chunks),
                  OPS["LOAD_Q"]: (score.q_write, g.q_words)}
        in_range = {code: command.addr < size for code, (_, size) in writes.items()}
        for code, (port, size) in writes.items():
            m.d.comb += [
                port.en.eq(Mux(clearing, clear_addr < size,
                               accepted & (op == code) & in_range[code])),
                port.addr.eq(Mux(clearing, clear_addr, command.addr)),
                port.data.eq(Mux(clearing, 0, command.data)),
            ]
        m.d.comb += matvec.start.eq(accepted & (op == OPS["MATVEC"]) & in_range[OPS["MATVEC"]]
                                    & command.last & weights_loaded)

        def respond_with(code):
            m.d.sync += [response_valid.eq(1), response.kind.eq(op),
                         response.addr.eq(command.addr), response.err.eq(code),
                         response.value.eq(0)]

        def respond(error):
            respond_with(ERRORS[error])

        def load(code, effects):
            with m.If(~in_range[code]):
                respond("BAD_ADDR")
            with m.Else():
                m.d.sync += effects
                with m.If(command.last):
                    respond("OK")

        # An if-chain, not a Switch: Verilator rejects the partial case statements a Switch
        # over the opcode becomes for the signals only some opcodes set.
        with m.If(accepted):
            with m.If(op == OPS["LOAD_W"]):
                load(OPS["LOAD_W"], weights_loaded.eq(1))
            with m.Elif(op == OPS["LOAD_Q"]):
                load(OPS["LOAD_Q"], [query_loaded.eq(1), block_index.eq(0)])
            with m.Elif(op == OPS["MATVEC"]):
                with m.If(~in_range[OPS["MATVEC"]]):
                    respond("BAD_ADDR")
                with m.Elif(command.last & ~weights_loaded):
                    respond("NO_WEIGHTS")
            if g.table_entries:
                with m.Elif(op == OPS["LOAD_T"]):
                    # Entries of the set so far; the decoder commits it as valid only if
                    # `last` comes with the final one.
                    entries = Signal(range(g.table_entries + 1))
                    whole = entries == g.table_entries - 1
                    m.d.sync += entries.eq(Mux(command.last, 0, Mux(
                        entries == g.table_entries, entries, entries + 1)))
                    with m.If(command.last):
                        respond_with(Mux(whole, ERRORS["OK"], ERRORS["BAD_TABLES"]))
            with m.Elif(op != OPS["KBLOCK"]):  # the decoder takes a key word
                respond("BAD_OP")

        # Responses: at most one source holds a beat at a time (see the class docstring);
        # the fixed priority only makes that explicit.
        product, scored = matvec.o.p, score.o.p
        score_err = Mux(scored.err, ERRORS["BAD_BLOCK"],
                        Mux(query_loaded, ERRORS["OK"], ERRORS["NO_QUERY"]))
        m.d.comb += [
            matvec.o.ready.eq(self.o.ready & ~response_valid),
            score.o.ready.eq(self.o.ready & ~response_valid & ~matvec.o.valid),
            self.o.valid.eq(response_valid | matvec.o.valid | score.o.valid),
        ]
        with m.If(response_valid):
            m.d.comb += self.o.p.eq(response)
        with m.Elif(matvec.o.valid):
            m.d.comb += [self.o.p.kind.eq(OPS["MATVEC"]), self.o.p.addr.eq(product.row),
                         self.o.p.value.eq(product.y),
                         self.o.p.err.eq(Mux(product.err, ERRORS["BAD_WEIGHTS"], ERRORS["OK"]))]
        with m.Else():
            m.d.comb += [self.o.p.kind.eq(OPS["KBLOCK"]), self.o.p.addr.eq(block_index),
                         self.o.p.value.eq(Mux(score_err == ERRORS["OK"], scored.score, 0)),
                         self.o.p.err.eq(score_err)]
        with m.If(self.o.valid & self.o.ready & response_valid):
            m.d.sync += response_valid.eq(0)

        block_ended = accepted & is_block & command.last
        block_scored = score.o.valid & score.o.ready
        m.d.sync += in_flight.eq(in_flight + block_ended - block_scored)
        with m.If(block_scored):
            m.d.sync += block_index.eq(block_index + 1)
        return m
