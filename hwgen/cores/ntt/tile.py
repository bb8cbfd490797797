"""The NTT tile: coefficients stream in, the negacyclic transform (or its inverse) streams out."""
from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.cores.ntt.butterfly import Butterfly, Op
from hwgen.cores.ntt.params import NttParams
from hwgen.golden import ntt as golden

__all__ = ["command_layout", "result_layout", "twiddle_rom", "stages", "overlap_is_safe",
           "NttTile"]


def command_layout(coeff_bits):
    return data.StructLayout({"coeff": unsigned(coeff_bits), "inverse": 1, "last": 1})


def result_layout(coeff_bits):
    return data.StructLayout({"coeff": unsigned(coeff_bits), "last": 1, "err": 1})


def twiddle_rom(q, m, montgomery_r):
    """The ROM contents: the forward table, then the inverse one (:func:`golden.twiddles`,
    ``m = 2^layers`` entries each), every entry times ``montgomery_r`` (1 unless the
    multiplier is Montgomery's). Entry 0 of each table is unused."""
    forward, inverse = golden.twiddles(q, m)
    return [value * montgomery_r % q for table in (forward, inverse) for value in table]


def stages(n, layers, inverse):
    """``[(half, first twiddle index), ...]`` of the stages of a transform: the distance
    between the two operands of each butterfly and the table entry of the first group."""
    m = 1 << layers
    forward = [(n // 2 >> s, 1 << s) for s in range(layers)]
    return [(n // m << s, m // 2 >> s) for s in range(layers)] if inverse else forward


def _issue_order(n, half):
    """First operands of a stage's butterflies in issue order (increasing)."""
    return [a for a in range(n) if not a & half]


def overlap_is_safe(n, layers, flight):
    """Whether stages may follow each other with no wait: issuing one butterfly per cycle
    and one idle cycle between stages, every read of a stage comes after the write-back (at
    ``flight`` cycles after its issue) of the value it reads, in both directions."""
    for inverse in (0, 1):
        written, cycle = [-1] * n, 0
        for half, _ in stages(n, layers, inverse):
            for a in _issue_order(n, half):
                if written[a] >= cycle or written[a + half] >= cycle:
                    return False
                written[a] = written[a + half] = cycle + flight
                cycle += 1
            cycle += 1
    return True


class NttTile(wiring.Component):
    """A size-``n`` negacyclic NTT over Z_q (``layers`` stages, all ``log2 n`` by default;
    fewer for an incomplete NTT such as Kyber's) with one pipelined butterfly that stays
    busy: loading, computing and unloading overlap.

    See :mod:`hwgen.golden.ntt` for the transforms and the stream beats. A transform is ``n``
    beats on ``i``, the last with ``last`` set; the ``inverse`` bit of its first beat
    chooses the direction.

    The coefficients live in three buffers with fixed roles, each two memory banks with one
    read and one write port (address parity picks the bank, so the two operands of every
    butterfly sit in different banks): the *input* buffer takes the next transform while
    the current one computes; stage 0 reads the input buffer and writes the *work* buffer,
    the middle stages work in place there, and the last stage writes the *output* buffer,
    from which the previous result streams out meanwhile. The butterflies of a stage are
    issued one per multiplier interval in increasing address order, and the next stage
    follows after one idle cycle when :func:`overlap_is_safe` shows that its reads come after
    the writes they need (otherwise it waits for the last write). Cooley-Tukey stages with
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
        log_n = params.log_n
        self._side_layout = data.StructLayout({
            "lo": unsigned(log_n - 1), "hi": unsigned(log_n - 1), "swap": 1, "to_out": 1})
        self._butterfly = Butterfly(params.modmul_params, self._side_layout)
        figures = self._butterfly.performance
        self._montgomery_r = figures.get("montgomery_r", 1)
        self._interval = figures["cycles_per_beat"]
        # Issue to write-back: the read, then the butterfly.
        self._flight = 1 + figures["latency_cycles"]
        self._overlap = self._interval == 1 and overlap_is_safe(params.n, params.layers,
                                                                 self._flight)
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
        cycles after the last issue of the previous one. ``cycles_per_transform`` is the
        period of back-to-back transforms while the compute is the bottleneck (loading
        and unloading, ``n`` cycles each, hide behind the stages when there are four or
        more); ``butterfly_utilization`` is the share of those cycles that issue a
        butterfly. With a multiplier that takes more than one cycle per product
        (``iterative``) the figures are upper bounds.
        """
        p = self._p
        butterfly = self._butterfly.performance
        interval, flight, layers = self._interval, self._flight, p.layers
        issues = layers * (p.n // 2)
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
            "butterflies_per_cycle": 1 / interval,
            "butterfly_utilization": issues * interval / per_transform,
            "stages_overlap": self._overlap,
            "butterfly_latency_cycles": butterfly["latency_cycles"],
            "twiddle_rom_entries": 2 * p.blocks,
            **({"montgomery_r": self._montgomery_r} if self._montgomery_r != 1 else {}),
        }

    def elaborate(self, platform):
        m = Module()
        p = self._p
        n, log_n, q, layers = p.n, p.log_n, p.q, p.layers
        span_bits = log_n - layers  # bits of the place within a block
        m.submodules.butterfly = butterfly = self._butterfly

        def buffer(name):
            ports = []
            for index in range(2):
                memory = Memory(shape=unsigned(p.coeff_bits), depth=n // 2, init=[])
                m.submodules[f"{name}{index}"] = memory
                ports.append((memory.read_port(), memory.write_port()))
            return ports

        source, work, result = buffer("input"), buffer("work"), buffer("output")
        rom = Memory(shape=unsigned(p.coeff_bits), depth=2 * p.blocks,
                     init=twiddle_rom(q, p.blocks, self._montgomery_r))
        m.submodules.twiddles = rom
        rom_read = rom.read_port()

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
            m.d.comb += [write.en.eq(accepted & ~discarding & (load_address.xor() == index)),
                         write.addr.eq(load_address[1:]), write.data.eq(self.i.p.coeff)]
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
        base = Signal(layers)                 # one-hot: first twiddle index of the stage
        address = Signal(log_n + 1)           # first operand; bit log_n: stage fully issued
        twiddle = Signal(layers)
        work_pending = Signal(range(n // 2 + 1))  # work-buffer writes issued, not yet done
        out_pending = Signal(range(n // 2 + 1))   # output-buffer writes issued, not yet done
        last_stage = Mux(inverse, half[-1], half[span_bits])
        out_free = ~out_full & ~finishing

        issue = Signal()
        read_valid = Signal()
        read_advance = Signal()
        issued = Signal()
        issue_a = address[:log_n]
        issue_b = issue_a | half
        m.d.comb += [read_advance.eq(~read_valid | butterfly.i.ready),
                     issue.eq(busy & ~address[-1] & (~last_stage | out_free)),
                     issued.eq(issue & read_advance)]

        swap = issue_a.xor()  # operand a is in bank 1
        for buffer_ports in (source, work):
            for index, (read, _) in enumerate(buffer_ports):
                swapped, straight = (issue_b, issue_a) if index == 0 else (issue_a, issue_b)
                m.d.comb += [read.addr.eq(Mux(swap, swapped, straight)[1:]),
                             read.en.eq(read_advance)]
        m.d.comb += [rom_read.addr.eq(Cat(twiddle, inverse)), rom_read.en.eq(read_advance)]

        side = Signal(self._side_layout)
        from_input = Signal()
        op = Signal(Op)
        with m.If(read_advance):
            m.d.sync += [read_valid.eq(issue), from_input.eq(first_stage),
                         op.eq(Mux(inverse, Op.GENTLEMAN_SANDE, Op.COOLEY_TUKEY)),
                         side.lo.eq(issue_a[1:]), side.hi.eq(issue_b[1:]), side.swap.eq(swap),
                         side.to_out.eq(last_stage)]
        bank0 = Mux(from_input, source[0][0].data, work[0][0].data)
        bank1 = Mux(from_input, source[1][0].data, work[1][0].data)
        m.d.comb += [
            butterfly.i.valid.eq(read_valid),
            butterfly.i.p.a.eq(Mux(side.swap, bank1, bank0)),
            butterfly.i.p.b.eq(Mux(side.swap, bank0, bank1)),
            butterfly.i.p.w.eq(rom_read.data),
            butterfly.i.p.op.eq(op),
            butterfly.i.p.side.eq(side),
            butterfly.o.ready.eq(1),  # write-backs never wait
        ]

        written = butterfly.o.p
        write_back = butterfly.o.valid
        for buffer_ports, selected in ((work, ~written.side.to_out), (result, written.side.to_out)):
            for index, (_, write) in enumerate(buffer_ports):
                to_x = written.side.swap == index
                m.d.comb += [write.en.eq(write_back & selected),
                             write.addr.eq(Mux(to_x, written.side.lo, written.side.hi)),
                             write.data.eq(Mux(to_x, written.x, written.y))]
        m.d.sync += [
            work_pending.eq(work_pending + (issued & ~last_stage)
                            - (write_back & ~written.side.to_out)),
            out_pending.eq(out_pending + (issued & last_stage)
                           - (write_back & written.side.to_out)),
        ]

        def start_stage(distance, first_twiddle):
            m.d.sync += [half.eq(distance), base.eq(first_twiddle), twiddle.eq(first_twiddle),
                         address.eq(0)]

        with m.If(~busy):
            with m.If(in_full & ~in_err):
                first_half, first_twiddle = stages(n, layers, 0)[0]
                inverse_half, inverse_twiddle = stages(n, layers, 1)[0]
                m.d.sync += [busy.eq(1), first_stage.eq(1), inverse.eq(in_inverse)]
                start_stage(Mux(in_inverse, inverse_half, first_half),
                            Mux(in_inverse, inverse_twiddle, first_twiddle))
            with m.Elif(in_full & out_free):  # a malformed transform: its error beat, in turn
                m.d.sync += [in_full.eq(0), out_full.eq(1), out_err.eq(1)]
        with m.Else():
            with m.If(issued):
                # The next first operand: skip the second operands' half of each group.
                m.d.sync += address.eq(((address | half) + 1) & ~Cat(half, Const(0, 1)))
                group_end = (issue_a & (half - 1)) == (half - 1)
                with m.If(group_end):
                    m.d.sync += twiddle.eq(twiddle + 1)
            with m.If(address[-1]):
                with m.If(first_stage):
                    m.d.sync += [first_stage.eq(0), in_full.eq(0)]
                with m.If(last_stage):
                    m.d.sync += [busy.eq(0), finishing.eq(1), out_inverse.eq(inverse)]
                with m.Elif(Const(self._overlap) | (work_pending == 0)):
                    with m.If(inverse):
                        start_stage(half << 1, base >> 1)
                    with m.Else():
                        start_stage(half >> 1, base << 1)
        with m.If(finishing & (out_pending == 0)):
            m.d.sync += [finishing.eq(0), out_full.eq(1), out_err.eq(0)]

        # -- unloader: the output buffer onto the output stream -----------------------------
        unload_count = Signal(range(n))
        unload_address = Mux(out_inverse, unload_count, block_reversed(unload_count))
        advance = ~self.o.valid | self.o.ready
        emit_err = Signal()
        emit_last = Signal()
        emit_bank = Signal()
        for index, (read, _) in enumerate(result):
            m.d.comb += [read.addr.eq(unload_address[1:]), read.en.eq(advance)]
        m.d.comb += [
            self.o.p.coeff.eq(Mux(emit_err, 0, Mux(emit_bank, result[1][0].data,
                                                   result[0][0].data))),
            self.o.p.err.eq(emit_err),
            self.o.p.last.eq(emit_last),
        ]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(out_full), emit_err.eq(out_err),
                         emit_bank.eq(unload_address.xor())]
            with m.If(out_full):
                m.d.sync += emit_last.eq(out_err | (unload_count == n - 1))
                with m.If(out_err):
                    m.d.sync += out_full.eq(0)
                with m.Else():
                    m.d.sync += unload_count.eq(unload_count + 1)
                    with m.If(unload_count == n - 1):
                        m.d.sync += [unload_count.eq(0), out_full.eq(0)]
        return m
