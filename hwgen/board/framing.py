"""Frames on a byte stream: the receiver checks and executes host frames, the transmitter
sends device frames. The frame format is in :mod:`hwgen.board.protocol`."""
from amaranth import Cat, Module, Signal, unsigned
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.board import protocol
from hwgen.board.uart import rx_byte_layout

__all__ = ["frame_layout", "FrameReceiver", "FrameTransmitter"]

CRC = crc.catalog.CRC16_CCITT_FALSE


def frame_layout(data_bits):
    """A frame to send: its opcode, payload length in bytes and payload (first byte lowest)."""
    return data.StructLayout({"opcode": unsigned(8), "length": unsigned(16),
                              "data": unsigned(data_bits)})


def _positive(name, value, hi=None):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or (
            hi is not None and value > hi):
        limit = f" and at most {hi}" if hi is not None else ""
        raise ValueError(f"{name} must be a positive integer{limit}, not {value!r}")


class FrameReceiver(wiring.Component):
    """Checks host frames byte by byte and executes the good ones.

    A ``PUSH`` frame's payload is written to a buffer memory; only when its CRC matches are
    the beats replayed on ``beats``, so a bad frame never reaches the top, not even in part.
    Every frame gets exactly one reply: ``ACK`` (with the beat count) once all its beats were
    accepted, ``INFO_REPLY``, or ``ERROR``. After any error the receiver swallows bytes until
    the line has been idle for ``timeout`` cycles, then replies, so the host and the device
    agree again on where the next frame starts. A frame whose bytes stop arriving for
    ``timeout`` cycles is cut short (``ERROR`` ``TIMEOUT``).

    Parameters
    ----------
    beat_bytes : int
        Bytes per beat on ``beats`` (``ceil(width / 8)`` of the top's input payload).
    buffer_beats : int
        Most beats one ``PUSH`` frame may carry (the buffer holds ``buffer_beats * beat_bytes``
        bytes).
    timeout : int
        Inter-byte timeout in clock cycles; longer than one character on the line.
    info : bytes
        The ``INFO_REPLY`` payload.

    Members
    -------
    i : ``In(stream.Signature(rx_byte_layout()))``, bytes from the UART.
    beats : ``Out(stream.Signature(beat_bytes * 8))``, beats of good ``PUSH`` frames.
    reply : ``Out(stream.Signature(frame_layout(reply_bits)))``, one reply per frame.

    Latency: a ``PUSH`` frame's first beat is offered ``2 * beat_bytes + 2`` cycles after its
    last CRC byte. Throughput: one byte per cycle in, one beat per ``2 * beat_bytes`` cycles
    out while replaying; bytes are not accepted while a frame is replayed or replied to.
    """

    def __init__(self, *, beat_bytes, buffer_beats, timeout, info):
        _positive("beat_bytes", beat_bytes)
        _positive("buffer_beats", buffer_beats, 0xFFFF // beat_bytes)
        _positive("timeout", timeout)
        self._beat_bytes = beat_bytes
        self._buffer_beats = buffer_beats
        self._timeout = timeout
        self._info = bytes(info)
        self.reply_bits = 8 * max(len(self._info), 2)
        super().__init__({
            "i": In(stream.Signature(rx_byte_layout())),
            "beats": Out(stream.Signature(8 * beat_bytes)),
            "reply": Out(stream.Signature(frame_layout(self.reply_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        capacity = self._buffer_beats * self._beat_bytes
        m.submodules.buffer = buffer = Memory(shape=8, depth=capacity, init=[])
        write = buffer.write_port()
        read = buffer.read_port(transparent_for=())
        m.submodules.crc = checker = CRC(data_width=8).create()

        length = Signal(16)
        opcode = Signal(8)
        received = Signal(range(capacity + 1))
        beat_byte = Signal(range(self._beat_bytes))
        beat_count = Signal(range(self._buffer_beats + 1))
        error = Signal(range(max(protocol.Error) + 1))

        idle = Signal(range(self._timeout + 1))
        timed_out = Signal()
        accept = Signal()
        byte = self.i.p.data
        m.d.comb += [accept.eq(self.i.valid & self.i.ready), timed_out.eq(idle == self._timeout),
                     checker.data.eq(byte)]
        with m.If(accept):
            m.d.sync += idle.eq(0)
        with m.Elif(~timed_out):
            m.d.sync += idle.eq(idle + 1)

        def send(opcode, length, payload):
            m.d.sync += [self.reply.valid.eq(1), self.reply.p.opcode.eq(opcode),
                         self.reply.p.length.eq(length), self.reply.p.data.eq(payload)]
            m.next = "REPLY"

        def fail(code):
            m.d.sync += error.eq(code)
            m.next = "DISCARD"

        # Replay: a byte is read in two cycles (address, then data), and shifted in on top.
        fetched = Signal()
        read_addr = Signal.like(received)
        beat = Signal(8 * self._beat_bytes)
        beats_sent = Signal.like(beat_count)
        m.d.comb += [read.addr.eq(read_addr), self.beats.payload.eq(beat),
                     write.addr.eq(received), write.data.eq(byte)]

        with m.FSM():
            with m.State("LEN0"):
                m.d.comb += [self.i.ready.eq(1), checker.start.eq(1), checker.valid.eq(accept)]
                with m.If(accept):
                    m.d.sync += length[:8].eq(byte)
                    with m.If(self.i.p.err):
                        fail(protocol.Error.LINE)
                    with m.Else():
                        m.next = "LEN1"
            for state, following in (("LEN1", "OP"), ("OP", None), ("PAYLOAD", None),
                                     ("CRC0", "CRC1"), ("CRC1", "CHECK")):
                with m.State(state):
                    m.d.comb += [self.i.ready.eq(1), checker.valid.eq(accept)]
                    with m.If(accept & self.i.p.err):
                        fail(protocol.Error.LINE)
                    with m.Elif(accept):
                        if following:
                            m.next = following
                        if state == "LEN1":
                            m.d.sync += length[8:].eq(byte)
                        elif state == "OP":
                            m.d.sync += [opcode.eq(byte), received.eq(0), beat_byte.eq(0),
                                         beat_count.eq(0)]
                            with m.If(byte == protocol.PUSH):
                                with m.If((length == 0) | (length > capacity)):
                                    fail(protocol.Error.LENGTH)
                                with m.Else():
                                    m.next = "PAYLOAD"
                            with m.Elif(byte == protocol.INFO):
                                with m.If(length != 0):
                                    fail(protocol.Error.LENGTH)
                                with m.Else():
                                    m.next = "CRC0"
                            with m.Else():
                                fail(protocol.Error.OPCODE)
                        elif state == "PAYLOAD":
                            m.d.comb += write.en.eq(1)
                            m.d.sync += received.eq(received + 1)
                            last_of_beat = beat_byte == self._beat_bytes - 1
                            with m.If(last_of_beat):
                                m.d.sync += [beat_byte.eq(0), beat_count.eq(beat_count + 1)]
                            with m.Else():
                                m.d.sync += beat_byte.eq(beat_byte + 1)
                            with m.If(received + 1 == length):
                                with m.If(last_of_beat):
                                    m.next = "CRC0"
                                with m.Else():
                                    fail(protocol.Error.LENGTH)
                    with m.Elif(timed_out):
                        send(protocol.ERROR, 1, protocol.Error.TIMEOUT)
            with m.State("CHECK"):
                with m.If(~checker.match_detected):
                    fail(protocol.Error.CRC)
                with m.Elif(opcode == protocol.PUSH):
                    m.d.sync += [read_addr.eq(0), fetched.eq(0), beats_sent.eq(0)]
                    m.next = "REPLAY"
                with m.Else():
                    send(protocol.INFO_REPLY, len(self._info),
                         int.from_bytes(self._info, "little"))
            with m.State("REPLAY"):
                bytes_in_beat = Signal(range(self._beat_bytes + 1))
                with m.If(self.beats.valid):
                    with m.If(self.beats.ready):
                        m.d.sync += [self.beats.valid.eq(0), beats_sent.eq(beats_sent + 1)]
                        with m.If(beats_sent + 1 == beat_count):
                            send(protocol.ACK, 2, beat_count)
                with m.Elif(fetched):
                    m.d.sync += [beat.eq(Cat(beat[8:], read.data)), read_addr.eq(read_addr + 1),
                                 fetched.eq(0)]
                    with m.If(bytes_in_beat == self._beat_bytes - 1):
                        m.d.sync += [self.beats.valid.eq(1), bytes_in_beat.eq(0)]
                    with m.Else():
                        m.d.sync += bytes_in_beat.eq(bytes_in_beat + 1)
                with m.Else():
                    m.d.sync += fetched.eq(1)
            with m.State("DISCARD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(timed_out):
                    send(protocol.ERROR, 1, error)
            with m.State("REPLY"):
                with m.If(self.reply.ready):
                    m.d.sync += self.reply.valid.eq(0)
                    m.next = "LEN0"
        return m


class FrameTransmitter(wiring.Component):
    """Sends frames: length, opcode, payload, CRC, one byte at a time.

    Parameters
    ----------
    data_bits : int
        Width of the longest payload, in bits.

    Members
    -------
    i : ``In(stream.Signature(frame_layout(data_bits)))``, the frames to send; ``length``
        bytes of ``data`` are sent, lowest first.
    o : ``Out(stream.Signature(8))``, the bytes, to the UART.

    Latency: the first byte is offered the cycle after a frame is accepted. Throughput: one
    byte per cycle while ``o`` is ready; a new frame is accepted when the last byte has left.
    """

    def __init__(self, *, data_bits):
        _positive("data_bits", data_bits)
        self._data_bits = data_bits
        super().__init__({"i": In(stream.Signature(frame_layout(data_bits))),
                          "o": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = generator = CRC(data_width=8).create()
        length = Signal(16)
        opcode = Signal(8)
        payload = Signal(self._data_bits)
        left = Signal(16)
        sent = Signal()
        m.d.comb += [sent.eq(self.o.valid & self.o.ready), generator.data.eq(self.o.payload)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [length.eq(self.i.p.length), opcode.eq(self.i.p.opcode),
                                 payload.eq(self.i.p.data), left.eq(self.i.p.length)]
                    m.next = "LEN0"
            for state, byte, following in (("LEN0", length[:8], "LEN1"),
                                           ("LEN1", length[8:], "OP"),
                                           ("OP", opcode, None),
                                           ("DATA", payload[:8], None),
                                           ("CRC0", generator.crc[8:], "CRC1"),
                                           ("CRC1", generator.crc[:8], "IDLE")):
                with m.State(state):
                    m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(byte)]
                    if not state.startswith("CRC"):
                        m.d.comb += generator.valid.eq(sent)
                    if state == "LEN0":
                        m.d.comb += generator.start.eq(1)
                    with m.If(sent):
                        if following:
                            m.next = following
                        if state in ("OP", "DATA"):
                            if state == "DATA":
                                m.d.sync += [payload.eq(payload >> 8), left.eq(left - 1)]
                            remaining = left - 1 if state == "DATA" else left
                            m.next = "CRC0"
                            with m.If(remaining != 0):
                                m.next = "DATA"
        return m
