"""The generic host bridge: any top with one input stream ``i`` and one output stream ``o``
behind a UART speaking the framed protocol of :mod:`hwgen.board.protocol`."""
from amaranth import Module, Shape
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.board import protocol
from hwgen.board.framing import FrameReceiver, FrameTransmitter
from hwgen.board.uart import UARTReceiver, UARTTransmitter, check_divisor

__all__ = ["check_top", "info_payload", "HostBridge", "DEFAULT_BUFFER_BYTES"]

# PUSH frames carry up to this many bytes of beats by default: one iCE40 block RAM.
DEFAULT_BUFFER_BYTES = 512


def check_top(top):
    """The input and output payload widths of ``top``; ``TypeError`` unless its signature is
    exactly an input stream ``i`` and an output stream ``o`` with ``StructLayout`` payloads."""
    members = top.signature.members
    expected = {"i": wiring.In, "o": wiring.Out}
    good = set(members) == set(expected) and all(
        members[name].is_signature and isinstance(members[name].signature, stream.Signature)
        and members[name].flow == flow
        and isinstance(members[name].signature.members["payload"].shape, data.StructLayout)
        for name, flow in expected.items())
    if not good:
        raise TypeError(f"top must have exactly an input stream 'i' and an output stream 'o' "
                        f"with StructLayout payloads, not {top.signature!r}")
    return tuple(Shape.cast(members[name].signature.members["payload"].shape).width
                 for name in ("i", "o"))


def info_payload(in_width, out_width, buffer_beats, ident):
    """The ``INFO_REPLY`` payload bytes."""
    values = {"in_width": in_width, "out_width": out_width, "buffer_beats": buffer_beats,
              "ident": ident}
    return b"".join(values[name].to_bytes(size, "little") for name, size in protocol.INFO_FIELDS)


class HostBridge(wiring.Component):
    """A top behind a UART: host frames in on ``rx``, result and reply frames out on ``tx``.

    Each ``PUSH`` frame's beats go to ``top.i`` (only once the whole frame has arrived and
    its CRC matched); each ``top.o`` beat is sent as one ``RESULT`` frame. Replies (``ACK``,
    ``INFO_REPLY``, ``ERROR``) take precedence over results at frame boundaries.

    Parameters
    ----------
    top : wiring.Component
        The design: exactly an input stream ``i`` and an output stream ``o``.
    divisor : int
        Clock cycles per UART bit (``clock frequency / baud rate``), at least 4.
    timeout : int
        Inter-byte timeout in clock cycles, at least two characters (``20 * divisor``).
    buffer_beats : int or None
        Most ``i`` beats per ``PUSH`` frame; default: as many as fit 512 bytes, at least 1.
    ident : int
        64-bit design identifier reported by ``INFO`` (:func:`hwgen.board.protocol.ident`).

    Members
    -------
    rx : ``In(1)``, serial line from the host, idle high.
    tx : ``Out(1)``, serial line to the host, idle high.

    Latency and throughput are the UART's: a beat of ``B`` bytes costs ``10 * divisor * B``
    cycles on the line plus the 5-byte frame overhead per frame.
    """

    def __init__(self, top, *, divisor, timeout, buffer_beats=None, ident=0):
        self._in_width, self._out_width = check_top(top)
        check_divisor(divisor)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 20 * divisor:
            raise ValueError(f"timeout must be an integer of at least two characters "
                             f"({20 * divisor} cycles at divisor {divisor}), not {timeout!r}")
        self._in_bytes = protocol.beat_bytes(self._in_width)
        self._out_bytes = protocol.beat_bytes(self._out_width)
        if buffer_beats is None:
            buffer_beats = max(1, DEFAULT_BUFFER_BYTES // self._in_bytes)
        if not 0 <= ident < 1 << 64:
            raise ValueError(f"ident must be a 64-bit unsigned integer, not {ident!r}")
        self._top = top
        self._receiver = FrameReceiver(
            beat_bytes=self._in_bytes, buffer_beats=buffer_beats, timeout=timeout,
            info=info_payload(self._in_width, self._out_width, buffer_beats, ident))
        self._divisor = divisor
        self.buffer_beats = buffer_beats
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.top = top = self._top
        m.submodules.uart_rx = uart_rx = UARTReceiver(divisor=self._divisor)
        m.submodules.uart_tx = uart_tx = UARTTransmitter(divisor=self._divisor)
        m.submodules.receiver = receiver = self._receiver
        data_bits = max(receiver.reply_bits, 8 * self._out_bytes)
        m.submodules.transmitter = transmitter = FrameTransmitter(data_bits=data_bits)

        m.d.comb += uart_rx.rx.eq(self.rx)
        wiring.connect(m, uart_rx.o, receiver.i)
        m.d.comb += [top.i.valid.eq(receiver.beats.valid),
                     top.i.payload.eq(receiver.beats.payload[:self._in_width]),
                     receiver.beats.ready.eq(top.i.ready)]

        # Frame-level arbitration: the transmitter takes a whole frame at once, a pending
        # reply first, else the next result beat.
        frame = transmitter.i
        with m.If(receiver.reply.valid):
            m.d.comb += [frame.valid.eq(1), frame.p.opcode.eq(receiver.reply.p.opcode),
                         frame.p.length.eq(receiver.reply.p.length),
                         frame.p.data.eq(receiver.reply.p.data),
                         receiver.reply.ready.eq(frame.ready)]
        with m.Else():
            m.d.comb += [frame.valid.eq(top.o.valid), frame.p.opcode.eq(protocol.RESULT),
                         frame.p.length.eq(self._out_bytes), frame.p.data.eq(top.o.payload),
                         top.o.ready.eq(frame.ready)]
        wiring.connect(m, transmitter.o, uart_tx.i)
        m.d.comb += self.tx.eq(uart_tx.tx)
        return m
