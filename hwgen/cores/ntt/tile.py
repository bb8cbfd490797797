"""The NTT tile: coefficients stream in, the negacyclic transform (or its inverse) streams out."""
import functools
import operator

from amaranth import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from hwgen.cores.ntt.butterfly import Butterfly, Op
from hwgen.cores.ntt.params import NttParams
from hwgen.golden import ntt as golden

__all__ = ["command_layout", "result_layout", "twiddle_rom", "stages", "spread_bits",
           "lane_offset", "bank_of", "overlap_is_safe", "CoefficientBank", "NttTile"]


def command_layout(coeff_bits):
    return data.StructLayout({"coeff": unsigned(coeff_bits), "inverse": 1, "last": 1})


def result_layout(coeff_bits):
    return data.StructLayout({"coeff": unsigned(coeff_bits), "last": 1, "err": 1})


def twiddle_rom(q, m, montgomery_r):
    """The ROM contents, ``m = 2^layers`` entries per direction, every entry times
    ``montgomery_r`` (1 unless the multiplier is Montgomery's), each table in the order the
    stages use it, so that one counter walks it through a whole transform: the forward table
    of :func:`golden.twiddles` as it is (stage ``s`` uses entries ``2^s … 2^(s+1) − 1``;
    entry 0 unused), then the inverse table with the entries ``b … 2b − 1`` of the stage whose
    first entry is ``b`` at ``m − 2b …`` (``m/2`` first; entry ``m − 1`` unused)."""
    forward, inverse = golden.twiddles(q, m)
    firsts = [m // 2 >> stage for stage in range(m.bit_length() - 1)]
    in_use_order = [inverse[first + index] for first in firsts for index in range(first)] + [0]
    return [value * montgomery_r % q for table in (forward, in_use_order) for value in table]


def stages(n, layers, inverse):
    """The distance between the two operands of each butterfly, per stage of a transform."""
    m = 1 << layers
    return [n // m << s for s in range(layers)] if inverse else [n // 2 >> s for s in range(layers)]


def spread_bits(half, lanes):
    """Bit positions that tell apart the ``lanes`` butterflies issued together in a stage of
    distance ``half``: the lowest ``log2 lanes`` positions other than ``half``'s."""
    count = lanes.bit_length() - 1
    return [bit for bit in range(count + 1) if 1 << bit != half][:count]


def lane_offset(half, lanes, lane):
    """What lane ``lane`` adds to the group's first operand: its bits on the spread bits."""
    return sum(((lane >> index) & 1) << bit
               for index, bit in enumerate(spread_bits(half, lanes)))


def _issue_order(n, half, lanes):
    """Groups of first operands issued together, in issue order (increasing)."""
    mask = half | sum(1 << bit for bit in spread_bits(half, lanes))
    return [[a | lane_offset(half, lanes, lane) for lane in range(lanes)]
            for a in range(n) if not a & mask]


def bank_of(address, lanes):
    """The memory bank of coefficient ``address`` among ``2·lanes``: its parity in bit 0, its
    low ``log2 lanes`` bits above. The ``2·lanes`` operands of the butterflies issued together
    differ only in the spread bits and ``half``, so they are in different banks."""
    return bin(address).count("1") % 2 | (address & (lanes - 1)) << 1


def overlap_is_safe(n, layers, flight, lanes=1):
    """Whether stages may follow each other with no wait: issuing ``lanes`` butterflies per
    cycle and one idle cycle between stages, every read of a stage comes after the write-back
    (at ``flight`` cycles after its issue) of the value it reads, in both directions."""
    for inverse in (0, 1):
        written, cycle = [-1] * n, 0
        for half in stages(n, layers, inverse):
            for group in _issue_order(n, half, lanes):
                if any(written[a] >= cycle or written[a + half] >= cycle for a in group):
                    return False
                for a in group:
                    written[a] = written[a + half] = cycle + flight
                cycle += 1
            cycle += 1
    return True


class CoefficientBank(wiring.Component):
    """A memory bank of a coefficient buffer: ``depth`` words of ``width`` bits, one
    synchronous read port and one write port. A module of its own, so that the tile's banks
    are emitted as identical Verilog modules and synthesized once (:mod:`hwgen.flow.hierarchy`):
    in the generic view their words are flops, most of the tile.

    No enabled read ever meets a write to its word in the same cycle (the stage overlap
    reads only after the write-back, and the buffers change hands between loader, stages
    and unloader), so Yosys need not emulate read-first collisions around the block RAM
    (address compare, bypass register and select per bank: 300 ECP5 LUT4s in the Dilithium
    tile).

    Members
    -------
    read : ``Out(ReadPort.Signature(addr_width=log2 depth, shape=unsigned(width)))``
        ``data`` is the word at ``addr`` one cycle after ``en``.
    write : ``Out(WritePort.Signature(addr_width=log2 depth, shape=unsigned(width)))``
    """

    def __init__(self, width, depth):
        self._width, self._depth = width, depth
        addr_width = (depth - 1).bit_length()
        super().__init__({
            "read": Out(ReadPort.Signature(addr_width=addr_width, shape=unsigned(width))),
            "write": Out(WritePort.Signature(addr_width=addr_width, shape=unsigned(width))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = Memory(shape=unsigned(self._width), depth=self._depth,
                                              init=[], attrs={"no_rw_check": 1})
        read, write = memory.read_port(), memory.write_port()
        m.d.comb += [read.addr.eq(self.read.addr), read.en.eq(self.read.en),
                     self.read.data.eq(read.data), write.addr.eq(self.write.addr),
                     write.en.eq(self.write.en), write.data.eq(self.write.data)]
        return m


class NttTile(wiring.Component):
    """A size-``n`` negacyclic NTT over Z_q (``layers`` stages, all ``log2 n`` by default;
    fewer for an incomplete NTT such as Kyber's) with ``butterflies`` pipelined butterflies
    that stay busy: loading, computing and unloading overlap.

    See :mod:`hwgen.golden.ntt` for the transforms and the stream beats. A transform is ``n``
    beats on ``i``, the last with ``last`` set; the ``inverse`` bit of its first beat
    chooses the direction.

    The coefficients live in three buffers with fixed roles, each ``2·butterflies`` memory
    banks with one read and one write port (:func:`bank_of`: the operands of the butterflies
    issued together sit in different banks; crossbars route them): the *input* buffer takes the next transform while
    the current one computes; stage 0 reads the input buffer and writes the *work* buffer,
    the middle stages work in place there, and the last stage writes the *output* buffer,
    from which the previous result streams out meanwhile. The butterflies of a stage are
    issued one per multiplier interval in increasing address order, and the next stage
    follows after one idle cycle when :func:`overlap_is_safe` shows that its reads come after
    the writes they need (otherwise it waits for the last write). The butterflies of a cycle
    belong to the same stage; their first operands differ in :func:`spread_bits`. Cooley-Tukey stages with
    twiddles ψ^brv(k) forward; halving Gentleman-Sande stages with ψ^−brv(k)/2 inverse, so
    the inverse's scale needs no multiplication. The forward transform is loaded in natural
    order and read out block-reversed, the inverse the other way round.

    A transform with fewer or more than ``n`` beats, or with a coefficient ``≥ q``, is
    dropped: the tile consumes it up to its ``last`` beat and, in its turn, emits one beat
    ``{coeff: 0, last: 1, err: 1}``.

    Parameters
    ----------
    params : :class:`NttParams`

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"coeff": unsigned(coeff_bits), "inverse": 1, "last": 1})))``
    o : ``Out(stream.Signature(StructLayout({"coeff": unsigned(coeff_bits), "last": 1, "err": 1})))``
        ``n`` beats per transform, ``last`` on the final one; or one error beat.

    Latency and throughput: see :attr:`performance`.
    """

    def __init__(self, params):
        if not isinstance(params, NttParams):
            raise TypeError(f"Params must be a NttParams, not {params!r}")
        self._p = params
        lanes = params.butterflies
        bank_bits = lanes.bit_length()  # log2 of the 2·lanes banks per buffer
        self._side_layout = data.StructLayout({
            "x_bank": unsigned(bank_bits), "y_bank": unsigned(bank_bits),
            "x_word": unsigned(params.log_n - bank_bits),
            "y_word": unsigned(params.log_n - bank_bits), "to_out": 1})
        self._butterflies = [Butterfly(params.modmul_params, self._side_layout)
                             for _ in range(lanes)]
        figures = self._butterflies[0].performance
        self._montgomery_r = figures.get("montgomery_r", 1)
        self._interval = figures["cycles_per_beat"]
        # Issue to write-back: the read, then the butterfly.
        self._flight = 1 + figures["latency_cycles"]
        self._overlap = self._interval == 1 and overlap_is_safe(params.n, params.layers,
                                                                 self._flight, lanes)
        super().__init__({
            "i": In(stream.Signature(command_layout(params.coeff_bits))),
            "o": Out(stream.Signature(result_layout(params.coeff_bits))),
        })

    @property
    def params(self):
        return self._p

    @property
    def performance(self):
        """Cycle counts at full rate (``i`` always valid, ``o`` always ready).

        A butterfly issued in cycle ``t`` is read in cycle ``t`` and written back at the end
        of cycle ``t + flight`` (``flight`` = 1 + the butterfly latency). A stage issues
        ``n/2`` butterflies; the next stage starts after one idle cycle when the stages
        overlap, else ``flight + 1`` cycles after the last issue; a new transform starts two
        cycles after the last issue of the previous one, ``direction_change_cycles`` later
        when its direction differs. ``cycles_per_transform`` is the
        period of back-to-back transforms in one direction while the compute is the
        bottleneck (loading
        and unloading, ``n`` cycles each, hide behind the stages when there are four or
        more); ``butterfly_utilization`` is the share of those cycles that issue a
        butterfly. With a multiplier that takes more than one cycle per product
        (``iterative``) the figures are upper bounds.
        """
        p = self._p
        butterfly = self._butterflies[0].performance
        interval, flight, layers = self._interval, self._flight, p.layers
        issues = layers * (p.n // 2 // p.butterflies)  # cycles that issue butterflies
        gap = 1 if self._overlap else flight + 1
        compute = issues * interval + (layers - 1) * gap
        per_transform = compute + 2
        # Isolated transform: n load cycles, one to hand the input buffer over, one to start,
        # the stages, then the last write, the hand-over to the unloader and its read.
        latency = p.n + 1 + compute + flight + 2
        return {
            "q": p.q,
            "q_hex": hex(p.q),
            "method": butterfly["method"],
            "layers": layers,
            "latency_cycles": latency - (p.n - 1),
            "cycles_per_beat": per_transform / p.n,
            "cycles_per_transform": per_transform,
            "transforms_per_cycle": 1 / per_transform,
            "butterflies": p.butterflies,
            "butterflies_per_cycle": p.butterflies / interval,
            "butterfly_utilization": issues * interval / per_transform,
            "stages_overlap": self._overlap,
            "butterfly_latency_cycles": butterfly["latency_cycles"],
            # A transform in the other direction than the one before waits for the butterfly
            # pipeline to drain past the multiplier (see Butterfly): this many more cycles.
            "direction_change_cycles": butterfly["latency_cycles"] - 2,
            "twiddle_rom_entries": 2 * p.blocks,
            **({"montgomery_r": self._montgomery_r} if self._montgomery_r != 1 else {}),
        }

    def elaborate(self, platform):
        m = Module()
        p = self._p
        n, log_n, q, layers, lanes = p.n, p.log_n, p.q, p.layers, p.butterflies
        span_bits = log_n - layers  # bits of the place within a block
        bank_bits = lanes.bit_length()
        for lane, butterfly in enumerate(self._butterflies):
            m.submodules[f"butterfly{lane}"] = butterfly

        def buffer(name):
            ports = []
            for index in range(2 * lanes):
                m.submodules[f"{name}{index}"] = bank = CoefficientBank(p.coeff_bits,
                                                                        n // (2 * lanes))
                ports.append((bank.read, bank.write))
            return ports

        source, work, result = buffer("input"), buffer("work"), buffer("output")
        rom = Memory(shape=unsigned(p.coeff_bits), depth=2 * p.blocks,
                     init=twiddle_rom(q, p.blocks, self._montgomery_r))
        m.submodules.twiddles = rom
        rom_reads = [rom.read_port() for _ in range(lanes)]

        def bank(address):
            """:func:`bank_of` in hardware."""
            return Cat(address.xor(), address[:bank_bits - 1])

        def word(address):
            return address[bank_bits:]

        def block_reversed(index):
            """Address of natural-order index ``index`` in block-reversed order."""
            return Cat(index[:span_bits], index[span_bits:][::-1])

        # -- buffer hand-over flags --------------------------------------------------------
        in_full, in_err, in_inverse = Signal(), Signal(), Signal()
        out_full, out_err, out_inverse = Signal(), Signal(), Signal()

        # -- loader: the input stream into the input buffer ----------------------------------
        load_count = Signal(range(n))
        load_inverse = Signal()
        load_bad = Signal()           # a coefficient ≥ q so far
        discarding = Signal()         # consuming the rest of a transform longer than n
        accepted = self.i.valid & self.i.ready
        first_beat = (load_count == 0) & ~discarding
        frame_inverse = Mux(first_beat, self.i.p.inverse, load_inverse)
        bad_now = load_bad | (self.i.p.coeff >= q)
        final_beat = load_count == n - 1
        load_address = Mux(frame_inverse, block_reversed(load_count), load_count)
        m.d.comb += self.i.ready.eq(~in_full)
        for index, (_, write) in enumerate(source):
            m.d.comb += [write.en.eq(accepted & ~discarding & (bank(load_address) == index)),
                         write.addr.eq(word(load_address)), write.data.eq(self.i.p.coeff)]
        with m.If(accepted & discarding):
            with m.If(self.i.p.last):
                m.d.sync += [discarding.eq(0), in_full.eq(1), in_err.eq(1)]
        with m.Elif(accepted):
            m.d.sync += [load_inverse.eq(frame_inverse), load_count.eq(load_count + 1),
                         load_bad.eq(bad_now)]
            with m.If(self.i.p.last | final_beat):
                m.d.sync += [load_count.eq(0), load_bad.eq(0)]
            with m.If(self.i.p.last):
                m.d.sync += [in_full.eq(1), in_err.eq(~final_beat | bad_now),
                             in_inverse.eq(frame_inverse)]
            with m.Elif(final_beat):
                m.d.sync += discarding.eq(1)

        # -- compute: butterfly stages from the input buffer to the output buffer -----------
        busy = Signal()                       # issuing the stages of a transform
        finishing = Signal()                  # last stage issued, its writes in flight
        inverse = Signal()
        first_stage = Signal()
        half = Signal(log_n)                  # one-hot: distance between butterfly operands
        address = Signal(log_n + 1)           # first operand; bit log_n: stage fully issued
        work_pending = Signal(range(n // 2 + 1))  # work-buffer issues not yet written back
        out_pending = Signal(range(n // 2 + 1))   # output-buffer issues not yet written back
        last_stage = Mux(inverse, half[-1], half[span_bits])
        out_free = ~out_full & ~finishing

        issue = Signal()
        read_valid = Signal()
        read_advance = Signal()
        issued = Signal()
        # The butterflies are identical and issued together, so they are ready together.
        m.d.comb += [read_advance.eq(~read_valid | self._butterflies[0].i.ready),
                     issue.eq(busy & ~address[-1] & (~last_stage | out_free)),
                     issued.eq(issue & read_advance)]

        # Per stage (one-hot `half`): the bits that set the lanes apart and each lane's offset.
        # Each lane's twiddle is entry first | (first operand >> (log2 half + 1)) of the
        # stage's table: `twiddle` counts the group of the first lane's operand (one step per
        # carry past the `half` bit, as wide as the lanes' offsets above it), and the lanes
        # add their constant offsets above that bit — no shift of the operand address by the
        # stage. The ROM holds each direction's entries in the order the stages use them
        # (twiddle_rom), so the counter runs on from one stage into the next, set only when
        # a transform starts.
        skip = Signal(log_n)
        twiddle = Signal(layers)
        twiddle_step = Signal(layers)
        offsets = [Signal(log_n, name=f"offset{lane}") for lane in range(lanes)]
        twiddle_offsets = [Signal(layers, name=f"twiddle_offset{lane}") for lane in range(lanes)]
        firsts = [address[:log_n] | offset for offset in offsets]
        with m.Switch(half):
            for bit in range(log_n):
                with m.Case(1 << bit):
                    distance = 1 << bit
                    above = [spread for spread in spread_bits(distance, lanes) if spread > bit]
                    m.d.comb += [skip.eq(distance | sum(1 << spread
                                                        for spread in spread_bits(distance, lanes))),
                                 twiddle_step.eq(1 << len(above))]
                    for lane in range(lanes):
                        offset = lane_offset(distance, lanes, lane)
                        m.d.comb += [offsets[lane].eq(offset),
                                     twiddle_offsets[lane].eq(offset >> (bit + 1))]
            with m.Default():  # never: `half` is one-hot
                m.d.comb += [skip.eq(half), twiddle_step.eq(1)]
        twiddles = [twiddle | offset for offset in twiddle_offsets]
        skipped = address | skip
        following = skipped + 1
        group_done = ((following ^ skipped) & Cat(Const(0, 1), half)).any()

        # Read crossbar: every operand sits in a bank of its own; each bank reads the word of
        # the operand that maps to it.
        operands = [address for first in firsts for address in (first, first | half)]
        for buffer_ports, used in ((source, first_stage), (work, ~first_stage)):
            for index, (read, _) in enumerate(buffer_ports):
                selected = [word(operand) & (bank(operand) == index).replicate(len(word(operand)))
                            for operand in operands]
                m.d.comb += [read.addr.eq(functools.reduce(operator.or_, selected)),
                             read.en.eq(read_advance & issue & used)]
        for lane, rom_read in enumerate(rom_reads):
            m.d.comb += [rom_read.addr.eq(Cat(twiddles[lane], inverse)),
                         rom_read.en.eq(read_advance)]

        from_input = Signal()
        op = Signal(Op)
        sides = [Signal(self._side_layout, name=f"side{lane}") for lane in range(lanes)]
        with m.If(read_advance):
            # Between transforms the next one's direction, so that the butterfly, which takes
            # its direction while empty, has it before the first issue.
            m.d.sync += [read_valid.eq(issue), from_input.eq(first_stage),
                         op.eq(Mux(Mux(busy, inverse, in_inverse), Op.GENTLEMAN_SANDE,
                                   Op.COOLEY_TUKEY))]
            for side, first in zip(sides, firsts):
                second = first | half
                m.d.sync += [side.x_bank.eq(bank(first)), side.y_bank.eq(bank(second)),
                             side.x_word.eq(word(first)), side.y_word.eq(word(second)),
                             side.to_out.eq(last_stage)]
        banks = [Mux(from_input, source_read.data, work_read.data)
                 for (source_read, _), (work_read, _) in zip(source, work)]
        bank_data = Array(banks)
        for butterfly, side, rom_read in zip(self._butterflies, sides, rom_reads):
            m.d.comb += [
                butterfly.i.valid.eq(read_valid),
                butterfly.i.p.a.eq(bank_data[side.x_bank]),
                butterfly.i.p.b.eq(bank_data[side.y_bank]),
                butterfly.i.p.w.eq(rom_read.data),
                butterfly.i.p.op.eq(op),
                butterfly.i.p.side.eq(side),
                butterfly.o.ready.eq(1),  # write-backs never wait
            ]

        # Write crossbar: each bank writes the result that maps to it.
        write_back = self._butterflies[0].o.valid
        to_out = self._butterflies[0].o.p.side.to_out
        results = [(written.side.x_bank, written.side.x_word, written.x)
                   for written in (butterfly.o.p for butterfly in self._butterflies)]
        results += [(written.side.y_bank, written.side.y_word, written.y)
                    for written in (butterfly.o.p for butterfly in self._butterflies)]
        for buffer_ports, selected in ((work, ~to_out), (result, to_out)):
            for index, (_, write) in enumerate(buffer_ports):
                hits = [bank_index == index for bank_index, _, _ in results]
                m.d.comb += [
                    write.en.eq(write_back & selected),
                    write.addr.eq(functools.reduce(operator.or_, [
                        target & hit.replicate(len(target))
                        for hit, (_, target, _) in zip(hits, results)])),
                    write.data.eq(functools.reduce(operator.or_, [
                        value & hit.replicate(len(value))
                        for hit, (_, _, value) in zip(hits, results)])),
                ]
        m.d.sync += [
            work_pending.eq(work_pending + (issued & ~last_stage) - (write_back & ~to_out)),
            out_pending.eq(out_pending + (issued & last_stage) - (write_back & to_out)),
        ]

        def start_stage(distance):
            m.d.sync += [half.eq(distance), address.eq(0)]

        with m.If(~busy):
            with m.If(in_full & ~in_err):
                # The forward table's first entry in use is 1, the inverse one's 0.
                m.d.sync += [busy.eq(1), first_stage.eq(1), inverse.eq(in_inverse),
                             twiddle.eq(~in_inverse)]
                start_stage(Mux(in_inverse, stages(n, layers, 1)[0], stages(n, layers, 0)[0]))
            with m.Elif(in_full & out_free):  # a malformed transform: its error beat, in turn
                m.d.sync += [in_full.eq(0), out_full.eq(1), out_err.eq(1)]
        with m.Else():
            with m.If(issued):
                # The next group's first operand: skip the bits of `half` and the lanes.
                m.d.sync += [address.eq(following & ~Cat(skip, Const(0, 1))),
                             twiddle.eq(twiddle + Mux(group_done, twiddle_step, 0))]
            with m.If(address[-1]):
                with m.If(first_stage):
                    m.d.sync += [first_stage.eq(0), in_full.eq(0)]
                with m.If(last_stage):
                    m.d.sync += [busy.eq(0), finishing.eq(1), out_inverse.eq(inverse)]
                with m.Elif(Const(self._overlap) | (work_pending == 0)):
                    start_stage(Mux(inverse, half << 1, half >> 1))
        with m.If(finishing & (out_pending == 0)):
            m.d.sync += [finishing.eq(0), out_full.eq(1), out_err.eq(0)]

        # -- unloader: the output buffer onto the output stream -----------------------------
        unload_count = Signal(range(n))
        unload_address = Mux(out_inverse, unload_count, block_reversed(unload_count))
        advance = ~self.o.valid | self.o.ready
        emit_err = Signal()
        emit_last = Signal()
        emit_bank = Signal(bank_bits)
        for index, (read, _) in enumerate(result):
            m.d.comb += [read.addr.eq(word(unload_address)), read.en.eq(advance & out_full)]
        unloaded = Array(read.data for read, _ in result)
        m.d.comb += [
            self.o.p.coeff.eq(Mux(emit_err, 0, unloaded[emit_bank])),
            self.o.p.err.eq(emit_err),
            self.o.p.last.eq(emit_last),
        ]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(out_full), emit_err.eq(out_err),
                         emit_bank.eq(bank(unload_address))]
            with m.If(out_full):
                m.d.sync += emit_last.eq(out_err | (unload_count == n - 1))
                with m.If(out_err):
                    m.d.sync += out_full.eq(0)
                with m.Else():
                    m.d.sync += unload_count.eq(unload_count + 1)
                    with m.If(unload_count == n - 1):
                        m.d.sync += [unload_count.eq(0), out_full.eq(0)]
        return m
