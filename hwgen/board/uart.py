"""UART receiver and transmitter, 8N1, with streams of bytes on the inside."""
from amaranth import Module, Signal, unsigned
from amaranth.lib import cdc, data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["rx_byte_layout", "check_divisor", "UARTReceiver", "UARTTransmitter"]

MIN_DIVISOR = 4


def rx_byte_layout():
    """A received byte; ``err`` marks a framing error (no stop bit) or an earlier lost byte."""
    return data.StructLayout({"data": unsigned(8), "err": unsigned(1)})


def check_divisor(divisor):
    if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < MIN_DIVISOR:
        raise ValueError(f"divisor must be an integer of at least {MIN_DIVISOR} (clock cycles "
                         f"per bit), not {divisor!r}")


class UARTReceiver(wiring.Component):
    """Receives 8N1 characters from a serial line.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (``clock frequency / baud rate``), at least 4.

    Members
    -------
    rx : ``In(1)``, the line, idle high; synchronized inside.
    o : ``Out(stream.Signature(rx_byte_layout()))``, one beat per character.

    A character whose stop bit is low arrives with ``err`` set. The receiver never stalls the
    line: a character that completes while the previous one still waits on ``o`` is lost, and
    the next character that is delivered carries ``err``, so a loss is never silent.

    Latency: a character is on ``o`` about half a bit time after its stop bit is sampled plus
    two cycles of synchronizer. Throughput: one character per ``10 * divisor`` cycles.
    """

    def __init__(self, *, divisor):
        check_divisor(divisor)
        self._divisor = divisor
        super().__init__({"rx": In(1, init=1), "o": Out(stream.Signature(rx_byte_layout()))})

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = cdc.FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(self._divisor))
        bits = Signal(range(9))
        shift = Signal(8)
        lost = Signal()

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        def deliver(err):
            with m.If(self.o.valid & ~self.o.ready):
                m.d.sync += lost.eq(1)
            with m.Else():
                m.d.sync += [self.o.valid.eq(1), self.o.p.data.eq(shift),
                             self.o.p.err.eq(err | lost), lost.eq(0)]

        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self._divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(line):  # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(self._divisor - 1), bits.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shift.eq((shift >> 1) | (line << 7)), bits.eq(bits + 1),
                                 timer.eq(self._divisor - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer == 0):
                    deliver(~line)
                    m.next = "IDLE"
                    # After a framing error, wait for the line to return high before looking
                    # for the next start bit.
                    with m.If(~line):
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        return m


class UARTTransmitter(wiring.Component):
    """Sends bytes as 8N1 characters.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, at least 4.

    Members
    -------
    i : ``In(stream.Signature(8))``, the bytes to send.
    tx : ``Out(1)``, the line, idle high.

    Latency: the start bit begins the cycle after a byte is accepted. Throughput: one byte
    per ``10 * divisor`` cycles.
    """

    def __init__(self, *, divisor):
        check_divisor(divisor)
        self._divisor = divisor
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self._divisor))
        # Start bit, eight data bits, stop bit, shifted out LSB first.
        frame = Signal(10, init=1)
        bits_left = Signal(range(11))

        m.d.comb += [self.tx.eq(frame[0]), self.i.ready.eq(bits_left == 0)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [frame.eq(self.i.payload << 1 | (1 << 9)), bits_left.eq(10),
                         timer.eq(self._divisor - 1)]
        with m.Elif(bits_left != 0):
            with m.If(timer == 0):
                m.d.sync += [frame.eq(frame >> 1 | (1 << 9)), bits_left.eq(bits_left - 1),
                             timer.eq(self._divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        return m
