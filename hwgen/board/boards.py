"""Boards a design can be built for: an amaranth-boards platform, its UART and its packer.

A board's clock feeds the design directly (the platform's default ``sync`` domain with its
power-on reset); the UART divisor comes from that clock and the baud rate.
"""
import dataclasses

from amaranth import Elaboratable, Module
from amaranth.build import Attrs, Pins, Resource, Subsignal
from amaranth.lib import io

from hwgen.board.bridge import HostBridge
from hwgen.params import did_you_mean

__all__ = ["Board", "BOARDS", "lookup", "BoardTop", "divisor_for"]

DEFAULT_BAUD = 115200
# The line may be idle this long inside a frame before the frame counts as cut short.
INTER_BYTE_TIMEOUT_S = 0.010
# Most baud-rate error an 8N1 receiver tolerates with margin (half a bit over ten bits is 5%).
MAX_BAUD_ERROR = 0.02


@dataclasses.dataclass(frozen=True)
class Board:
    """A board: ``platform()`` makes its amaranth-boards platform with a ``uart`` resource."""
    name: str
    description: str
    family: str            # nextpnr/packer family: "ice40" or "ecp5"
    platform_class: type
    # Resources beyond those amaranth-boards declares.
    extra_resources: tuple = ()

    def platform(self):
        platform = self.platform_class()
        platform.add_resources(list(self.extra_resources))
        return platform


def _boards():
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    class OrangeCrabPlatform(OrangeCrabR0_2_25FPlatform):
        """Without the last build step, ``dfu-suffix`` (from dfu-util, not on PyPI), which
        only marks the bitstream for the DFU bootloader; docs/tops.md says how to run it."""

        @property
        def command_templates(self):
            return [command for command in super().command_templates
                    if "dfu-suffix" not in command]

    return {board.name: board for board in (
        Board("icebreaker", "iCEBreaker: iCE40 UP5K-SG48, 12 MHz, UART on the FTDI (channel B)",
              "ice40", ICEBreakerPlatform),
        Board("ulx3s", "ULX3S 85F: ECP5 LFE5U-85F-6 BG381, 25 MHz, UART on the FTDI (US1)",
              "ecp5", ULX3S_85F_Platform),
        Board("orangecrab", "OrangeCrab r0.2 25F: ECP5 LFE5U-25F-8 MG285, 48 MHz, UART on "
                            "Feather pins 0 (RX) and 1 (TX), 3.3 V: attach a USB-serial adapter",
              "ecp5", OrangeCrabPlatform,
              # amaranth-boards gives the OrangeCrab no UART (its USB port is direct USB);
              # the Feather header's RX/TX pins are the usual place for one.
              extra_resources=(Resource("uart", 0,
                                        Subsignal("rx", Pins("0", dir="i", conn=("io", 0))),
                                        Subsignal("tx", Pins("1", dir="o", conn=("io", 0))),
                                        Attrs(IO_TYPE="LVCMOS33")),)),
    )}


BOARDS = ("icebreaker", "ulx3s", "orangecrab")


def lookup(name):
    """The board called ``name``; ``ValueError`` naming the choices otherwise."""
    boards = _boards()
    if name not in boards:
        raise ValueError(f"board must be one of {', '.join(map(repr, boards))}, not "
                         f"{name!r}{did_you_mean(str(name), boards)}")
    return boards[name]


def divisor_for(clock_hz, baud):
    """Clock cycles per UART bit; ``ValueError`` if the rate would be off by more than 2%."""
    divisor = round(clock_hz / baud)
    error = abs(clock_hz / divisor / baud - 1) if divisor else 1
    if divisor < 4 or error > MAX_BAUD_ERROR:
        raise ValueError(f"baud must be reachable within {MAX_BAUD_ERROR:.0%} from the "
                         f"{clock_hz / 1e6:g} MHz board clock with at least 4 cycles per bit, "
                         f"not {baud!r}")
    return divisor


class BoardTop(Elaboratable):
    """The board's UART pins around a :class:`HostBridge` holding ``top``."""

    def __init__(self, top, *, clock_hz, baud=DEFAULT_BAUD, ident=0):
        self.divisor = divisor_for(clock_hz, baud)
        self.baud = baud
        self.bridge = HostBridge(top, divisor=self.divisor,
                                 timeout=round(clock_hz * INTER_BYTE_TIMEOUT_S), ident=ident)

    def elaborate(self, platform):
        m = Module()
        m.submodules.bridge = bridge = self.bridge
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        m.d.comb += [bridge.rx.eq(rx.i), tx.o.eq(bridge.tx)]
        return m
