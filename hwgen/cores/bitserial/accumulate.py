"""Per-group dequantization and dot-product accumulation, shared by both engines."""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.common import signed_width

__all__ = ["beat_sum_layout", "result_layout", "GroupScaleAccumulator"]


def beat_sum_layout(sum_width, scale_bits):
    """A beat's integer sum, the scale of its group, and where it stands in the dot product."""
    return data.StructLayout({
        "sum": signed(sum_width),
        "scale": unsigned(scale_bits),
        "group_end": 1,
        "last": 1,
        "err": 1,
    })


def result_layout(acc_bits):
    return data.StructLayout({"y": signed(acc_bits), "err": 1})


class GroupScaleAccumulator(wiring.Component):
    """Sums beat sums into group sums, scales each group, and sums the groups.

    ``y = Σ_groups scale_g · Σ_{beats in g} sum``, reduced to ``acc_bits`` bits (two's
    complement wrap), emitted on the beat marked ``last``. If any beat of the dot product
    carried ``err``, the result is ``y = 0, err = 1``.

    Parameters
    ----------
    beat_bound : int
        Largest ``|sum|`` of one beat.
    beats_per_group : int
        Beats per scale group (a group also ends at ``last``).
    scale_bits, acc_bits : int
        Scale and result widths.

    Members
    -------
    i : ``In(stream.Signature(beat_sum_layout(...)))``
    o : ``Out(stream.Signature(result_layout(acc_bits)))``

    Latency: 3 cycles from the ``last`` beat's transfer to ``o.valid``.
    Throughput: one beat per cycle; the whole pipeline stalls while ``o`` is full.
    """
    LATENCY = 3

    def __init__(self, *, beat_bound, beats_per_group, scale_bits, acc_bits):
        self._beats_per_group = beats_per_group
        self._scale_bits = scale_bits
        self._acc_bits = acc_bits
        self._sum_width = signed_width(-beat_bound, beat_bound)
        group_bound = beat_bound * beats_per_group
        self._group_width = signed_width(-group_bound, group_bound)
        super().__init__({
            "i": In(stream.Signature(beat_sum_layout(self._sum_width, scale_bits))),
            "o": Out(stream.Signature(result_layout(acc_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        # Stage 1: group sum.
        group_acc = Signal(signed(self._group_width))
        dot_err = Signal()
        group_valid = Signal()
        group_sum = Signal(signed(self._group_width))
        group_scale = Signal(unsigned(self._scale_bits))
        group_last = Signal()
        group_err = Signal()
        beat = self.i.p
        total = group_acc + beat.sum
        with m.If(advance):
            m.d.sync += group_valid.eq(self.i.valid & (beat.group_end | beat.last))
            with m.If(self.i.valid):
                m.d.sync += [
                    group_acc.eq(Mux(beat.group_end | beat.last, 0, total)),
                    dot_err.eq(Mux(beat.last, 0, dot_err | beat.err)),
                    group_sum.eq(total),
                    group_scale.eq(beat.scale),
                    group_last.eq(beat.last),
                    group_err.eq(dot_err | beat.err),
                ]

        # Stage 2: scale the group sum.
        scaled_valid = Signal()
        scaled = Signal(signed(self._group_width + self._scale_bits + 1))
        scaled_last = Signal()
        scaled_err = Signal()
        with m.If(advance):
            m.d.sync += [
                scaled_valid.eq(group_valid),
                scaled.eq(group_sum * group_scale),
                scaled_last.eq(group_last),
                scaled_err.eq(group_err),
            ]

        # Stage 3: accumulate the dot product (wrapping at acc_bits) and emit it on `last`.
        dot_acc = Signal(signed(self._acc_bits))
        dot = Signal(signed(self._acc_bits))
        m.d.comb += dot.eq(dot_acc + scaled)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(scaled_valid & scaled_last)
            with m.If(scaled_valid):
                m.d.sync += dot_acc.eq(Mux(scaled_last, 0, dot))
                with m.If(scaled_last):
                    m.d.sync += [self.o.p.y.eq(Mux(scaled_err, 0, dot)),
                                 self.o.p.err.eq(scaled_err)]
        return m
