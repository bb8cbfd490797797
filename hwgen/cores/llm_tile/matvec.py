"""The matrix-vector unit of ``llm_tile``: weight and activation memories, the sequencer
that streams them through a family engine, and the serializer of its results."""
from amaranth import Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.bitserial import BitParallelDot, BitSerialDot
from hwgen.cores.dfloat import DFloatDecoder
from hwgen.cores.ternary import TernaryAddSubCore, TernaryLutCore, TernaryMacCore
from hwgen.golden.llm_tile import ADDR_BITS

__all__ = ["ENGINES", "write_layout", "result_layout", "MatVecUnit"]

#: The family component each engine name instantiates.
ENGINES = {
    "ternary_lut": TernaryLutCore,
    "ternary_addsub": TernaryAddSubCore,
    "ternary_mac": TernaryMacCore,
    "bitserial": BitSerialDot,
    "bitparallel": BitParallelDot,
}


def write_layout(data_shape, depth):
    """A memory write: enable, address and the word."""
    return data.StructLayout({"en": 1, "addr": unsigned(max(depth - 1, 1).bit_length()),
                              "data": data_shape})


def result_layout(value_shape):
    """One result of the product: its row, value and the engine's error flag."""
    return data.StructLayout({"row": unsigned(ADDR_BITS), "y": value_shape, "err": 1})


class MatVecUnit(wiring.Component):
    """``y = W·x`` on a family engine, with ``W`` and ``x`` in on-chip memories.

    The weight memory holds ``words = groups · chunks`` words, each the weight-side fields
    of one engine input beat (everything but ``a`` and ``last``); word ``g·chunks + c`` is
    beat ``c`` of row group ``g``. The activation memory holds ``chunks`` activation chunks.
    A run streams, for every row group, its ``chunks`` beats (activations read from the
    activation memory, ``last`` on the final one) into the engine, and serializes each dot
    product's ``rows_per_dot`` results, one per beat, in row order.

    With ``dfloat`` weights the weight memory holds ``weight_words`` words of DFloat11
    blocks (``data``, ``last``) instead; a run streams them from word 0 through a
    :class:`~hwgen.cores.dfloat.DFloatDecoder` (an address past the memory gives a zero word
    with ``last``) until ``blocks`` blocks have ended, and each decoded beat of
    ``lanes·chunk`` BF16 values is one engine beat. The rows of a dot product that took
    values of a block with an error get ``err``.

    Parameters
    ----------
    params : :class:`~hwgen.cores.llm_tile.params.LlmTileParams`

    Members
    -------
    w_write : ``In(write_layout(word, words))``
        Weight memory write port (ignored while ``busy``).
    x_write : ``In(write_layout(activation chunk, chunks))``
        Activation memory write port (ignored while ``busy``).
    start : ``In(1)``
        Starts a run (a one-cycle pulse while not ``busy``).
    busy : ``Out(1)``
        A run is in progress or has results not yet taken from ``o``.
    o : ``Out(stream.Signature(result_layout(signed(value_bits))))``
        ``rows`` results per run.

    Latency: ``2 + chunks · cycles_per_beat + engine latency`` cycles from ``start`` to the
    first result, one more with ``pipeline.fetch`` (the words read are registered before the
    engine).
    Throughput: one engine beat per ``cycles_per_beat`` of the engine; a run takes
    :meth:`run_cycles`, about ``groups · max(chunks · cycles_per_beat, rows_per_dot)``; with
    ``dfloat`` weights the decoder takes one compressed word per cycle, and a run takes at
    most :meth:`run_cycles`.
    """

    def __init__(self, params):
        self._p = params
        self._g = g = params.geometry
        self._engine = ENGINES[params.engine](params.engine_params)
        self._decoder = DFloatDecoder(params.dfloat) if params.dfloat is not None else None
        engine_input = self._engine.signature.members["i"].signature.members["payload"].shape
        self._act_shape = engine_input["a"].shape
        if self._decoder is not None:
            self._word_layout = self._decoder.signature.members["i"].signature.members[
                "payload"].shape
        else:
            self._word_layout = data.StructLayout({name: field.shape
                                                   for name, field in engine_input
                                                   if name not in ("a", "last")})
        super().__init__({
            "w_write": In(write_layout(self._word_layout, g.words)),
            "x_write": In(write_layout(self._act_shape, g.chunks)),
            "start": In(1),
            "busy": Out(1),
            "o": Out(stream.Signature(result_layout(signed(g.value_bits)))),
        })

    @property
    def word_layout(self):
        return self._word_layout

    @property
    def act_shape(self):
        return self._act_shape

    @property
    def engine(self):
        return self._engine

    def run_cycles(self):
        """Cycles from ``start`` to the last result, with ``o`` always ready: two to read
        the first words (three with ``pipeline.fetch``), every beat of the first row group, the engine's latency and the
        serializer's register, then one row group per ``max(chunks · cycles_per_beat,
        rows_per_dot)`` cycles, the last one's results one per cycle."""
        g = self._g
        figures = self._engine.performance
        fetch = int(self._p.pipeline.fetch)
        if self._decoder is not None:
            # An upper bound: every block raw, and no stage overlapping the next.
            decoder = self._decoder.performance["latency_cycles"]
            return (2 + g.blocks * g.raw_block_words + decoder + g.beats + fetch
                    + figures["latency_cycles"] + g.rows)
        group_cycles = g.chunks * figures["cycles_per_beat"]
        # The engine's latency already counts the extra cycles of the group's last beat.
        through_last_beat = group_cycles - (figures["cycles_per_beat"] - 1)
        return (2 + fetch + through_last_beat + figures["latency_cycles"]
                + (g.groups - 1) * max(group_cycles, g.rows_per_dot) + g.rows_per_dot - 1)

    def elaborate(self, platform):
        m = Module()
        g = self._g
        m.submodules.engine = engine = self._engine
        m.submodules.weights = weights = memory.Memory(shape=self._word_layout, depth=g.words,
                                                       init=[])
        m.submodules.activations = activations = memory.Memory(shape=self._act_shape,
                                                               depth=g.chunks, init=[])
        for store, write in ((weights, self.w_write), (activations, self.x_write)):
            port = store.write_port()
            m.d.comb += [port.en.eq(write.en), port.addr.eq(write.addr),
                         port.data.eq(write.data)]
        w_read = weights.read_port()
        x_read = activations.read_port()
        remaining = Signal(range(g.rows + 1))
        m.d.comb += self.busy.eq(remaining != 0)
        start = self.start & ~self.busy
        with m.If(start):
            m.d.sync += remaining.eq(g.rows)

        beat_layout = engine.signature.members["i"].signature.members["payload"].shape
        payload = Signal(beat_layout)
        beat_valid, beat_bad, ready = Signal(), Signal(), Signal()
        if self._decoder is None:
            self._words_to_beats(m, start, w_read, x_read, beat_valid, payload, ready)
        else:
            self._blocks_to_beats(m, start, w_read, x_read, beat_valid, payload, beat_bad,
                                  ready)
        entered_bad = self._to_engine(m, beat_valid, payload, beat_bad, ready)

        # Serializer: the engine's rows_per_dot results, one per beat.
        results = engine.o.p
        lanes = g.rows_per_dot
        result_shapes = engine.signature.members["o"].signature.members["payload"].shape
        held_y = Signal(result_shapes["y"].shape)
        held_err = Signal(result_shapes["err"].shape)
        holding = Signal()
        lane = Signal(range(max(lanes, 2)))
        row = Signal(ADDR_BITS)
        final_lane = lane == lanes - 1
        taken = self.o.valid & self.o.ready
        m.d.comb += [engine.o.ready.eq(~holding | (taken & final_lane)),
                     self.o.valid.eq(holding), self.o.p.row.eq(row)]
        if g.ternary:  # one result per lane
            m.d.comb += [self.o.p.y.eq(held_y[lane]), self.o.p.err.eq(held_err[lane])]
        else:
            m.d.comb += [self.o.p.y.eq(held_y), self.o.p.err.eq(held_err)]
        with m.If(taken):
            m.d.sync += [lane.eq(Mux(final_lane, 0, lane + 1)), row.eq(row + 1),
                         remaining.eq(remaining - 1)]
            with m.If(final_lane):
                m.d.sync += holding.eq(0)
        result_y, result_err = Value.cast(results.y), Value.cast(results.err)
        if self._decoder is not None:  # a dot product over bad weights: 0 with err
            bad = self._bad_groups(m, entered_bad)
            result_y = Mux(bad, 0, result_y)
            result_err = result_err | Cat(*[bad] * len(held_err))
        with m.If(engine.o.valid & engine.o.ready):
            m.d.sync += [held_y.eq(result_y), held_err.eq(result_err), holding.eq(1)]
        with m.If(start):
            m.d.sync += row.eq(0)
        return m

    def _words_to_beats(self, m, start, w_read, x_read, beat_valid, payload, ready):
        """Sequencer: one memory read per engine beat; the read data is the beat's payload."""
        g = self._g
        running = Signal()
        word = Signal(range(max(g.beats, 2)))
        chunk = Signal(range(max(g.chunks, 2)))
        beat_last = Signal()
        advance = Signal()
        final_chunk = chunk == g.chunks - 1
        m.d.comb += [
            w_read.en.eq(advance), w_read.addr.eq(word),
            x_read.en.eq(advance), x_read.addr.eq(chunk),
            payload.a.eq(x_read.data), payload.last.eq(beat_last),
            advance.eq(~beat_valid | ready),
        ]
        for name, _ in self._word_layout:
            m.d.comb += payload[name].eq(w_read.data[name])
        with m.If(advance):
            m.d.sync += [beat_valid.eq(running), beat_last.eq(running & final_chunk)]
            with m.If(running):
                m.d.sync += [word.eq(word + 1), chunk.eq(Mux(final_chunk, 0, chunk + 1))]
                with m.If(final_chunk & (word == g.beats - 1)):
                    m.d.sync += running.eq(0)
        with m.If(start):
            m.d.sync += [running.eq(1), word.eq(0), chunk.eq(0)]

    def _blocks_to_beats(self, m, start, w_read, x_read, beat_valid, payload, beat_bad, ready):
        """The compressed words through the decoder; each decoded beat joins its activation
        chunk (read the cycle before, so it is ready when the beat is)."""
        g = self._g
        m.submodules.decoder = decoder = self._decoder
        reading = Signal()
        address = Signal(range(g.words + 1))
        blocks_left = Signal(range(g.blocks + 1))
        word_valid = Signal()
        in_memory = Signal()
        advance = ~word_valid | decoder.i.ready
        sent = decoder.i.valid & decoder.i.ready
        block_end = sent & decoder.i.p.last
        final = block_end & (blocks_left == 1)
        m.d.comb += [
            w_read.en.eq(advance), w_read.addr.eq(address),
            decoder.i.valid.eq(word_valid),
            decoder.i.p.data.eq(Mux(in_memory, w_read.data.data, 0)),
            decoder.i.p.last.eq(Mux(in_memory, w_read.data.last, 1)),
        ]
        with m.If(block_end):
            m.d.sync += blocks_left.eq(blocks_left - 1)
        with m.If(advance):
            m.d.sync += [word_valid.eq(reading & ~final), in_memory.eq(address < g.words)]
            with m.If(reading & ~final & (address < g.words)):
                m.d.sync += address.eq(address + 1)
        with m.If(final):
            m.d.sync += reading.eq(0)
        with m.If(start):
            m.d.sync += [reading.eq(1), address.eq(0), blocks_left.eq(g.blocks)]

        chunk = Signal(range(max(g.chunks, 2)))
        final_chunk = chunk == g.chunks - 1
        taken = decoder.o.valid & ready
        next_chunk = Mux(taken, Mux(final_chunk, 0, chunk + 1), chunk)
        m.d.sync += chunk.eq(next_chunk)
        m.d.comb += [
            x_read.addr.eq(next_chunk),
            decoder.o.ready.eq(ready), beat_valid.eq(decoder.o.valid),
            beat_bad.eq(decoder.o.p.err),
            payload.a.eq(x_read.data), payload.w.eq(decoder.o.p.v.as_value()),
            payload.last.eq(final_chunk),
        ]

    def _to_engine(self, m, beat_valid, payload, beat_bad, ready):
        """The beat to the engine, through a register with ``pipeline.fetch``; drives
        ``ready`` and returns whether the beat the engine takes holds bad weights."""
        engine = self._engine
        if not self._p.pipeline.fetch:
            m.d.comb += [ready.eq(engine.i.ready), engine.i.valid.eq(beat_valid),
                         engine.i.p.eq(payload)]
            return beat_bad
        fetched = Signal.like(payload)
        fetched_valid, fetched_bad = Signal(), Signal()
        m.d.comb += [ready.eq(~fetched_valid | engine.i.ready),
                     engine.i.valid.eq(fetched_valid), engine.i.p.eq(fetched)]
        with m.If(ready):
            m.d.sync += [fetched.eq(payload), fetched_valid.eq(beat_valid),
                         fetched_bad.eq(beat_bad)]
        return fetched_bad

    def _bad_groups(self, m, entered_bad):
        """Whether the dot product the engine emits now took bad weights: a flag per dot
        product queued as its last beat enters the engine (the engine keeps order)."""
        engine = self._engine
        depth = engine.performance["latency_cycles"] + 2
        m.submodules.bad_groups = queue = fifo.SyncFIFO(width=1, depth=depth)
        group_bad = Signal()
        entered = engine.i.valid & engine.i.ready
        with m.If(entered):
            m.d.sync += group_bad.eq(~engine.i.p.last & (group_bad | entered_bad))
        m.d.comb += [queue.w_en.eq(entered & engine.i.p.last),
                     queue.w_data.eq(group_bad | entered_bad),
                     queue.r_en.eq(engine.o.valid & engine.o.ready)]
        return queue.r_data
