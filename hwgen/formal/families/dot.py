"""The dot-product kinds (bit-serial and ternary): golden output beats, so that a replayed
counterexample of their equivalence proofs is checked against the golden model, and the
bit-serial engine's own equivalence proof.

``bitserial_dot`` and ``bitparallel_dot`` are the same group-scale accumulator behind
different engines. :func:`engine_harness` compares the engines alone, on the beat sums
they hand the accumulator, which ABC's PDR proves for every input sequence where the whole
designs only reach a bounded depth (the accumulators' running sums, at different times in
the two designs, are what it cannot relate).

PDR does not find that invariant beyond 2 lanes of 2-bit weights, so :class:`EngineSpecHarness`
states it: each engine is checked against the definition of its beat sums, with assertions
about the engine's registers (:attr:`~hwgen.cores.bitserial.dot.BitSerialEngine.registers`)
that make the property inductive, so k-induction closes it at a small ``k``. Both engines
equal to the same definition on every input sequence is the engines' equivalence.
"""
import numpy as np
from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.hdl import Assert, Assume
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from hwgen.cores.bitserial.dot import BitParallelEngine, BitSerialEngine, input_layout
from hwgen.formal.harness import CORE, LockstepHarness, assume_no_reset
from hwgen.formal.properties import stream_rules
from hwgen.golden.bitserial import RADIX_BITS
from hwgen.golden import bitserial, ternary

__all__ = ["packets", "bitserial_expected", "ternary_expected", "engine_harness",
           "EngineSpecHarness"]


def _beat_sum(payload):
    # A beat with err set (a precision out of range) makes its dot product 0 with err,
    # whatever its sum, so the sum of such a beat is not compared.
    return Cat(Mux(payload.err, 0, payload.sum), payload.scale, payload.group_end,
               payload.last, payload.err)


def engine_harness(params, reference_params):
    """The bit-serial engine of ``params`` in lockstep with the bit-parallel engine of
    ``reference_params``: the same beat sums (:class:`~hwgen.formal.harness.LockstepHarness`)."""
    return LockstepHarness(BitSerialEngine(params), BitParallelEngine(reference_params),
                           compare=_beat_sum)


def _times(a, bits, negative_top):
    """``a`` times the number with ``bits`` (least significant first; the top one of
    negative weight if ``negative_top``), as a sum of shifted copies of ``a``: the form of
    the engines' digit rows, which the solver relates far more easily than products."""
    terms = [Mux(bit, a << j, 0) for j, bit in enumerate(bits)]
    if negative_top and terms:
        terms[-1] = -terms[-1]
    return sum(terms[1:], terms[0]) if terms else 0


class EngineSpecHarness(wiring.Component):
    """A beat-sum engine (:class:`BitSerialEngine` or :class:`BitParallelEngine`) checked
    against the definition of its output beats, for every input sequence.

    The definition: the ``n``-th output beat answers the ``n``-th accepted input beat with
    ``sum = Σ a·value(w)`` (each code read at the beat's ``prec``: two's complement for
    ``int``, unsigned for ``uint``), ``err`` = ``prec`` outside 2..``weight_bits`` (the sum of
    such a beat is not compared), ``last`` the beat's, and ``scale``/``group_end`` from the
    beat's place in its group: a group ends after ``beats_per_group`` beats or at ``last``
    and has the scale of its first beat. The harness keeps the accepted, unanswered beats
    (at most two: the engine's input and output registers) and asserts the definition on
    every output beat.

    Strengthening assertions, about the engine's :attr:`registers`, make the property
    inductive: the engine holds as many beats as the harness has queued, its input register
    holds the newest, its group position and scale are those of the definition, its slice
    counter stays within the beat's slices, and (digit-serial) after ``k`` of a beat's ``c``
    slices its output register holds ``Σ a·⌊value(w) / 2^(s·(c−k))⌋`` (``s`` bits per
    slice; Booth digits round half up), the partial dot product of the digits consumed so
    far. All are asserted, so they are proved along with the definition.

    Engines with a pipelined tree, digit-plane weights or BitMoD codes are not covered
    (:meth:`covers`).

    Members
    -------
    i : ``In(<the engine's input stream>)``
    take : ``In(1)``
        The consumer's ``ready`` (backpressure).
    """

    @staticmethod
    def covers(params):
        """Whether an engine of ``params`` can be checked by this harness."""
        return (params.weight_format in ("int", "uint") and not params.pipeline_tree
                and not getattr(params, "planes", False))

    def __init__(self, engine, params):
        if not self.covers(params):
            raise ValueError(f"Engine must have int or uint codes, no pipelined tree and no "
                             f"digit planes, not {params!r}")
        self._engine, self._p = engine, params
        super().__init__({"i": engine.signature.members["i"], "take": In(1)})

    def _bits(self, code, bits, count):
        """The first ``count`` bits of ``code`` read at ``bits`` bits and extended."""
        if self._p.weight_format == "int":
            return [code[min(k, bits - 1)] for k in range(count)]
        return [code[k] if k < bits else Const(0, 1) for k in range(count)]

    def _dot(self, m, beat, step=None):
        """``Σ a·value(w)`` over the lanes of ``beat``, evaluated slice by slice, most
        significant first, in the engine's order: ``P_0 = 0``, ``P_{k+1} = 2^s·P_k + Σ a·slice_k``
        (``s`` bits per slice; a bit-parallel engine has one slice, the whole code). A slice's
        value is its bits, the top one negative in the top slice of a two's complement code;
        a slice of Booth digits is its bits with the top one negative, plus the bit below it.
        Returns ``P_c`` for ``c`` slices, or with ``step`` the digits consumed after ``step``
        slices, ``P_step``."""
        p, engine = self._p, self._engine
        booth = getattr(p, "digit", None) == "booth4"
        result = Signal(signed(len(engine.o.p.sum)))
        with m.Switch(beat.prec):
            for bits in range(2, p.weight_bits + 1):
                cycles = engine.cycles(bits)
                slice_bits = (RADIX_BITS[p.digit] * p.digits_per_cycle if hasattr(p, "digit")
                              else bits)
                codes = [self._bits(beat.w[lane], bits, cycles * slice_bits)
                         for lane in range(p.lanes)]
                sums = [0]
                for index in range(cycles):
                    low = (cycles - 1 - index) * slice_bits
                    negative_top = booth or (p.weight_format == "int" and index == 0)
                    terms = [_times(beat.a[lane], code[low:low + slice_bits], negative_top)
                             for lane, code in enumerate(codes)]
                    if booth and low:
                        terms += [Mux(code[low - 1], beat.a[lane], 0)
                                  for lane, code in enumerate(codes)]
                    sums.append((sums[-1] << slice_bits) + sum(terms))
                with m.Case(bits):
                    if step is None:
                        m.d.comb += result.eq(sums[cycles])
                    else:
                        with m.Switch(step):
                            for done in range(1, cycles):
                                with m.Case(done):
                                    m.d.comb += result.eq(sums[done])
        return result

    def elaborate(self, platform):
        m = Module()
        p = self._p
        m.submodules[CORE] = engine = self._engine
        registers = engine.registers
        assume_no_reset(m)
        stream_rules(m, self.i, check=Assume, name="i")
        wiring.connect(m, wiring.flipped(self.i), engine.i)
        m.d.comb += engine.o.ready.eq(self.take)

        # Each accepted beat with its place in its group, by the definition.
        groups = p.beats_per_group
        entry = data.StructLayout({"beat": input_layout(p), "position": range(groups),
                                   "scale": p.scale_bits, "group_end": 1})
        position = Signal(range(groups))
        scale = Signal(p.scale_bits)
        incoming = Signal(entry)
        m.d.comb += [incoming.beat.eq(self.i.p), incoming.position.eq(position),
                     incoming.scale.eq(Mux(position == 0, self.i.p.scale, scale)),
                     incoming.group_end.eq((position == groups - 1) | self.i.p.last)]
        accepted = self.i.valid & self.i.ready
        emitted = engine.o.valid & engine.o.ready
        with m.If(accepted):
            m.d.sync += [position.eq(Mux(incoming.group_end, 0, position + 1)),
                         scale.eq(incoming.scale)]

        # The unanswered beats, oldest first.
        queue = [Signal(entry, name=f"queue{index}") for index in range(2)]
        count = Signal(range(3))
        m.d.sync += count.eq(count + accepted - emitted)
        with m.If(emitted):
            m.d.sync += queue[0].eq(queue[1])
        with m.If(accepted):
            with m.If(count - emitted == 0):
                m.d.sync += queue[0].eq(incoming)
            with m.Else():
                m.d.sync += queue[1].eq(incoming)

        # The definition on every output beat.
        head = queue[0]
        width = len(engine.o.p.sum)
        err = ~((head.beat.prec >= 2) & (head.beat.prec <= p.weight_bits))
        total = self._dot(m, head.beat)
        out = engine.o.p
        m.d.comb += Assert(~engine.o.valid | (
            (err | (out.sum == total)) & (out.err == err)
            & (out.scale == head.scale) & (out.group_end == head.group_end)
            & (out.last == head.beat.last)), "o: beat sum differs from its definition")

        # What makes it inductive.
        held = registers.held
        newest = Signal(entry)
        m.d.comb += newest.eq(Mux(count == 2, queue[1], queue[0]))
        place, place_scale = Mux(held, newest.position, position), Mux(held, newest.scale, scale)
        cycles = Signal(range(engine.max_cycles() + 1))
        with m.Switch(registers.beat.prec):
            for bits in range(2, p.weight_bits + 1):
                with m.Case(bits):
                    m.d.comb += cycles.eq(engine.cycles(bits))
            with m.Default():
                m.d.comb += cycles.eq(1)
        step = registers.step
        m.d.comb += [
            Assert(count == held + engine.o.valid, "invariant: beats held ≠ beats queued"),
            Assert((count == 0) | ((position == Mux(newest.group_end, 0, newest.position + 1))
                                   & ((position == 0) | (scale == newest.scale))),
                   "invariant: group position or scale ≠ the newest beat's"),
            *[Assert((count <= index) | (((queued.position != 0)
                                          | (queued.scale == queued.beat.scale))
                                         & (queued.group_end == ((queued.position == groups - 1)
                                                                 | queued.beat.last))),
                     "invariant: a queued beat's group fields ≠ the definition's")
              for index, queued in enumerate(queue)],
            Assert(~held | (registers.beat.as_value() == newest.beat.as_value()),
                   "invariant: input register ≠ newest beat"),
            Assert(held | (step == 0), "invariant: slice counter without a beat"),
            Assert(~held | (step < cycles), "invariant: slice counter past the beat"),
            Assert((registers.first == (registers.position == 0))
                   & (registers.position == place)
                   & (registers.first | (registers.scale == place_scale)),
                   "invariant: group position or scale ≠ the definition's"),
        ]
        if engine.max_cycles() > 1:
            partial = self._dot(m, registers.beat, step)
            m.d.comb += Assert(~held | (step == 0) | (~engine.o.valid
                                                       & (out.sum == partial)),
                               "invariant: Horner sum ≠ the digits consumed so far")
        return m


def packets(beats):
    """The complete packets (lists of beats ended by ``last``) among ``beats``."""
    done, current = [], []
    for beat in beats:
        current.append(beat)
        if beat.get("last", 1):
            done.append(current)
            current = []
    return done


def bitserial_expected(params, beats):
    results = []
    for packet in packets(beats):
        transaction = {
            "a": np.array([beat["a"] for beat in packet], dtype=np.int64),
            "w": np.array([beat["w"] for beat in packet], dtype=np.int64),
            "prec": np.array([beat.get("prec", params.weight_bits) for beat in packet],
                             dtype=np.int64),
            "scale": np.array([beat["scale"] for beat in packet], dtype=np.int64),
            "dtype": np.array([beat.get("dtype", 0) for beat in packet], dtype=np.int64),
        }
        y, err = bitserial.dot_product(params, transaction)
        results.append({"y": int(y), "err": int(err)})
    return results


def ternary_expected(params, beats):
    results = []
    for packet in packets(beats):
        transaction = {
            "a": np.array([beat["a"] for beat in packet], dtype=np.int64),
            "w": np.array([beat["w"] for beat in packet], dtype=np.int64),
        }
        y, err = ternary.dot_products(params, transaction)
        results.append({"y": y, "err": err})
    return results
