"""The NTT tile: coefficients stream in, the negacyclic transform (or its inverse) streams out."""
from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.cores.ntt.butterfly import Butterfly, Op
from hwgen.cores.ntt.params import NttParams
from hwgen.golden import ntt as golden

__all__ = ["Phase", "command_layout", "result_layout", "twiddle_rom", "NttTile"]


class Phase(enum.Enum, shape=3):
    """What the tile's sequencer is doing (a plain state register rather than ``m.FSM``,
    whose partial case statements Verilator's lint rejects)."""
    LOAD = 0     # accepting a transform's coefficients
    DISCARD = 1  # consuming the rest of a transform longer than n
    ERROR = 2    # issuing the error beat of a malformed transform
    COMPUTE = 3  # butterfly stages
    UNLOAD = 4   # reading the result out through the multiplier


def command_layout(coeff_bits):
    return data.StructLayout({"coeff": unsigned(coeff_bits), "inverse": 1, "last": 1})


def result_layout(coeff_bits):
    return data.StructLayout({"coeff": unsigned(coeff_bits), "last": 1, "err": 1})


def twiddle_rom(q, n, montgomery_r):
    """The ROM contents: the forward table, then the inverse one (:func:`golden.twiddles`),
    every entry times ``montgomery_r`` (1 unless the multiplier is Montgomery's). Entry 0 of
    each table, unused by the butterflies, holds the output scale: 1 forward, n⁻¹ inverse."""
    forward, inverse = golden.twiddles(q, n)
    scales = (1, pow(n, -1, q))
    return [value * montgomery_r % q
            for table, scale in zip((forward, inverse), scales)
            for value in (scale, *table[1:])]


class NttTile(wiring.Component):
    """A size-``n`` negacyclic NTT over Z_q with one pipelined butterfly (see
    :mod:`hwgen.golden.ntt` for the transforms and the stream beats).

    A transform is ``n`` beats on ``i``, the last with ``last`` set; the ``inverse`` bit of its
    first beat chooses the direction. The coefficients are stored in two memory banks with one
    read and one write port each (address parity picks the bank, so the two operands of every
    butterfly sit in different banks); then ``log2 n`` stages of ``n/2`` butterflies run in place —
    Cooley-Tukey with twiddles ψ^brv(k) forward, Gentleman-Sande with ψ^−brv(k) inverse — with
    each stage waiting for the previous one's last write; then the result streams out in
    natural order through the butterfly's multiplier, which applies the inverse's ``n⁻¹``
    (forward: × 1). The forward transform is stored in natural order and read out
    bit-reversed, the inverse stored bit-reversed and read out in natural order.

    A transform with fewer or more than ``n`` beats, or with a coefficient ``≥ q``, is
    dropped: the tile consumes it up to its ``last`` beat and emits one beat
    ``{coeff: 0, last: 1, err: 1}``.

    Parameters
    ----------
    params : :class:`NttParams`

    Members
    -------
    i : ``In(stream.Signature(StructLayout({"coeff": unsigned(coeff_bits), "inverse": 1, "last": 1})))``
    o : ``Out(stream.Signature(StructLayout({"coeff": unsigned(coeff_bits), "last": 1, "err": 1})))``
        ``n`` beats per transform, ``last`` on the final one; or one error beat.

    Latency and throughput: see :attr:`performance` (one butterfly per multiplier result;
    loading, computing and unloading are not overlapped).
    """

    def __init__(self, params):
        if not isinstance(params, NttParams):
            raise TypeError(f"Params must be a NttParams, not {params!r}")
        self._p = params
        log_n = params.log_n
        self._side_layout = data.StructLayout({
            "lo": unsigned(log_n - 1), "hi": unsigned(log_n - 1), "swap": 1, "write": 1,
            "last": 1, "err": 1})
        self._butterfly = Butterfly(params.modmul_params, self._side_layout)
        self._montgomery_r = self._butterfly.performance.get("montgomery_r", 1)
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

        A butterfly issued in cycle ``t`` is read in cycle ``t + 1`` and written back at the
        end of cycle ``t + 1 + butterfly latency``; a stage issues ``n/2`` butterflies one multiplier
        interval apart and the next stage starts two cycles after the last write. With a
        multiplier that takes more than one cycle per product (``iterative``) the registers
        in front of it absorb the first few output reads, so ``cycles_per_transform`` is
        then an upper bound; every other figure is exact.
        """
        p = self._p
        butterfly = self._butterfly.performance
        interval = butterfly["cycles_per_beat"]
        flight = 1 + butterfly["latency_cycles"]  # issue to write-back: read, then butterfly
        stage = (p.n // 2 - 1) * interval + flight + 2
        compute = p.log_n * stage
        per_transform = p.n + compute + (p.n - 1) * interval + 1
        return {
            "q": p.q,
            "q_hex": hex(p.q),
            "method": butterfly["method"],
            "latency_cycles": compute + flight + 1,
            "cycles_per_beat": per_transform / p.n,
            "cycles_per_transform": per_transform,
            "transforms_per_cycle": 1 / per_transform,
            "butterflies_per_cycle": 1 / interval,
            "stage_cycles": stage,
            "butterfly_latency_cycles": butterfly["latency_cycles"],
            "twiddle_rom_entries": 2 * p.n,
            **({"montgomery_r": self._montgomery_r} if self._montgomery_r != 1 else {}),
        }

    def elaborate(self, platform):
        m = Module()
        p = self._p
        n, log_n, q = p.n, p.log_n, p.q
        m.submodules.butterfly = butterfly = self._butterfly

        banks = []
        for index in range(2):
            memory = Memory(shape=unsigned(p.coeff_bits), depth=n // 2, init=[])
            m.submodules[f"bank{index}"] = memory
            banks.append((memory.read_port(), memory.write_port()))
        rom = Memory(shape=unsigned(p.coeff_bits), depth=2 * n,
                     init=twiddle_rom(q, n, self._montgomery_r))
        m.submodules.twiddles = rom
        rom_read = rom.read_port()

        # -- sequencer state ----------------------------------------------------------------
        phase = Signal(Phase)
        count = Signal(range(n))              # beat of the transform being loaded or unloaded
        inverse = Signal()
        bad = Signal()                        # a coefficient ≥ q so far
        half = Signal(log_n, init=n // 2)     # one-hot: distance between butterfly operands
        base = Signal(log_n, init=1)          # one-hot: first twiddle index of the stage
        address = Signal(log_n + 1)           # first operand; bit log_n: stage fully issued
        twiddle = Signal(log_n)
        pending = Signal(range(n // 2 + 1))   # butterflies issued and not yet written

        # -- one operation per cycle into the read stage ----------------------------------
        issue = Signal()
        issue_a = Signal(log_n)
        issue_b = Signal(log_n)
        issue_twiddle = Signal(log_n)
        issue_op = Signal(Op)
        issue_write = Signal()
        issue_last = Signal()
        issue_err = Signal()
        read_valid = Signal()
        read_advance = Signal()
        issued = Signal()
        m.d.comb += [read_advance.eq(~read_valid | butterfly.i.ready),
                     issued.eq(issue & read_advance)]

        swap = issue_a.xor()  # operand a is in bank 1
        for index, (read, _) in enumerate(banks):
            swapped, straight = (issue_b, issue_a) if index == 0 else (issue_a, issue_b)
            m.d.comb += [read.addr.eq(Mux(swap, swapped, straight)[1:]),
                         read.en.eq(read_advance)]
        m.d.comb += [rom_read.addr.eq(Cat(issue_twiddle, inverse)),
                     rom_read.en.eq(read_advance)]

        side = Signal(self._side_layout)
        op = Signal(Op)
        with m.If(read_advance):
            m.d.sync += [read_valid.eq(issue), op.eq(issue_op), side.lo.eq(issue_a[1:]),
                         side.hi.eq(issue_b[1:]), side.swap.eq(swap),
                         side.write.eq(issue_write), side.last.eq(issue_last),
                         side.err.eq(issue_err)]
        bank0, bank1 = banks[0][0].data, banks[1][0].data
        m.d.comb += [
            butterfly.i.valid.eq(read_valid),
            butterfly.i.p.a.eq(Mux(side.swap, bank1, bank0)),
            butterfly.i.p.b.eq(Mux(side.swap, bank0, bank1)),
            butterfly.i.p.w.eq(rom_read.data),
            butterfly.i.p.op.eq(op),
            butterfly.i.p.side.eq(side),
        ]

        # -- results: write-backs to the banks, or beats on `o` ---------------------------
        result = butterfly.o.p
        write_back = Signal()
        m.d.comb += [
            write_back.eq(butterfly.o.valid & result.side.write),
            butterfly.o.ready.eq(result.side.write | self.o.ready),
            self.o.valid.eq(butterfly.o.valid & ~result.side.write),
            self.o.p.coeff.eq(Mux(result.side.err, 0, result.y)),
            self.o.p.last.eq(result.side.last),
            self.o.p.err.eq(result.side.err),
        ]
        m.d.sync += pending.eq(pending + (issued & issue_write) - write_back)

        load = Signal()
        load_address = Signal(log_n)
        for index, (_, write) in enumerate(banks):
            to_x = result.side.swap == index
            with m.If(write_back):
                m.d.comb += [write.en.eq(1),
                             write.addr.eq(Mux(to_x, result.side.lo, result.side.hi)),
                             write.data.eq(Mux(to_x, result.x, result.y))]
            with m.Elif(load & (load_address.xor() == index)):
                m.d.comb += [write.en.eq(1), write.addr.eq(load_address[1:]),
                             write.data.eq(self.i.p.coeff)]

        # -- the sequencer ----------------------------------------------------------------
        accepted = self.i.valid & self.i.ready
        frame_inverse = Mux(count == 0, self.i.p.inverse, inverse)
        bad_now = bad | (self.i.p.coeff >= q)
        final_beat = count == n - 1
        last_stage = Mux(inverse, half[-1], half[0])
        group_end = (address[:log_n] & (half - 1)) == (half - 1)

        def start_stage(distance, first_twiddle):
            m.d.sync += [half.eq(distance), base.eq(first_twiddle), twiddle.eq(first_twiddle),
                         address.eq(0)]

        with m.If(phase == Phase.LOAD):
            m.d.comb += [self.i.ready.eq(1), load.eq(accepted),
                         load_address.eq(Mux(frame_inverse, count[::-1], count))]
            with m.If(accepted):
                m.d.sync += [inverse.eq(frame_inverse), count.eq(count + 1),
                             bad.eq(bad_now)]
                with m.If(self.i.p.last | final_beat):
                    m.d.sync += [count.eq(0), bad.eq(0)]
                with m.If(self.i.p.last & final_beat & ~bad_now):
                    start_stage(Mux(frame_inverse, 1, n // 2),
                                Mux(frame_inverse, n // 2, 1))
                    m.d.sync += phase.eq(Phase.COMPUTE)
                with m.Elif(self.i.p.last):
                    m.d.sync += phase.eq(Phase.ERROR)
                with m.Elif(final_beat):
                    m.d.sync += phase.eq(Phase.DISCARD)

        with m.Elif(phase == Phase.DISCARD):  # a transform longer than n: consume it up to `last`
            m.d.comb += self.i.ready.eq(1)
            with m.If(accepted & self.i.p.last):
                m.d.sync += phase.eq(Phase.ERROR)

        with m.Elif(phase == Phase.ERROR):
            m.d.comb += [issue.eq(1), issue_op.eq(Op.SCALE), issue_last.eq(1),
                         issue_err.eq(1)]
            with m.If(issued):
                m.d.sync += phase.eq(Phase.LOAD)

        with m.Elif(phase == Phase.COMPUTE):
            m.d.comb += [issue.eq(~address[-1]), issue_a.eq(address[:log_n]),
                         issue_b.eq(address[:log_n] | half), issue_twiddle.eq(twiddle),
                         issue_write.eq(1),
                         issue_op.eq(Mux(inverse, Op.GENTLEMAN_SANDE, Op.COOLEY_TUKEY))]
            with m.If(issued):
                # The next first operand: skip the second operands' half of each group.
                m.d.sync += address.eq(((address | half) + 1) & ~Cat(half, Const(0, 1)))
                with m.If(group_end):
                    m.d.sync += twiddle.eq(twiddle + 1)
            with m.If(address[-1] & (pending == 0)):
                with m.If(last_stage):
                    m.d.sync += phase.eq(Phase.UNLOAD)
                with m.Elif(inverse):
                    start_stage(half << 1, base >> 1)
                with m.Else():
                    start_stage(half >> 1, base << 1)

        with m.Else():  # Phase.UNLOAD
            m.d.comb += [issue.eq(1), issue_a.eq(Mux(inverse, count, count[::-1])),
                         issue_op.eq(Op.SCALE), issue_last.eq(final_beat)]
            with m.If(issued):
                m.d.sync += count.eq(count + 1)
                with m.If(final_beat):
                    m.d.sync += [count.eq(0), phase.eq(Phase.LOAD)]
        return m
