"""cocotb testbench: the host driver (:class:`hwgen.host.Device`) talks to a top wrapped in
the UART bridge, through the bit-level serial lines of the emitted Verilog.

The driver is synchronous, as it is on a real serial port; it runs in a thread bridged into
the simulation (``cocotb.bridge``) and reaches the lines through :class:`SimPort`, whose
``write`` bit-bangs characters onto ``rx`` and whose ``read`` returns characters decoded
from ``tx``. The session checks ``INFO``, rejects a corrupted frame, a frame cut short, a bad
length and an unknown opcode (each answered by ``ERROR`` and never executed), then pushes
the golden input beats and compares every result bit-exactly with the golden outputs.

Environment: ``HWGEN_MANIFEST`` (the top's manifest), ``HWGEN_VECTORS``, ``HWGEN_DIVISOR``
(clock cycles per bit), ``HWGEN_TIMEOUT`` (the bridge's inter-byte timeout in cycles).
"""
import collections
import json
import os
import pathlib

import cocotb
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from hwgen.board import protocol
from hwgen.flow.payload import pack
from hwgen.host import Device, LinkError


class SimPort:
    """pyserial's ``write``/``read`` on the simulated UART lines."""

    def __init__(self, dut, divisor, timeout_cycles):
        self._dut = dut
        self._divisor = divisor
        self.timeout = timeout_cycles
        self.received = collections.deque()
        self.line_errors = []

    async def monitor(self):
        """Decode characters from ``tx`` forever, sampling each bit in its middle."""
        dut, divisor = self._dut, self._divisor
        while True:
            await FallingEdge(dut.tx)
            await ClockCycles(dut.clk, divisor // 2)
            if int(dut.tx.value):
                continue
            byte = 0
            for bit in range(8):
                await ClockCycles(dut.clk, divisor)
                byte |= int(dut.tx.value) << bit
            await ClockCycles(dut.clk, divisor)
            if not int(dut.tx.value):
                self.line_errors.append(byte)
            self.received.append(byte)

    @resume
    async def write(self, data):
        for byte in bytes(data):
            for bit in [0, *((byte >> n) & 1 for n in range(8)), 1]:
                self._dut.rx.value = bit
                await ClockCycles(self._dut.clk, self._divisor)

    @resume
    async def read(self, count):
        waited = 0
        while len(self.received) < count and waited < self.timeout:
            await ClockCycles(self._dut.clk, self._divisor)
            waited += self._divisor
        return bytes(self.received.popleft() for _ in range(min(count, len(self.received))))

    @resume
    async def idle(self, cycles):
        await ClockCycles(self._dut.clk, cycles)


def _expect_error(device, frame, code):
    opcode, payload = device.transact(frame)
    assert (opcode, payload) == (protocol.ERROR, bytes([code])), \
        f"expected ERROR {code.name}, got opcode {opcode:#04x} payload {payload.hex()}"


def _session(port, manifest, vectors):
    device = Device(port, manifest)
    info = device.info()
    inputs, expected = vectors["inputs"]["i"], vectors["outputs"]["o"]
    in_bytes = protocol.beat_bytes(manifest["streams"]["i"]["payload_width"])
    beat = pack(manifest["streams"]["i"]["fields"], inputs[0]).to_bytes(in_bytes, "little")
    good = protocol.encode(protocol.PUSH, beat)

    corrupted = bytearray(good)
    corrupted[protocol.HEADER_BYTES] ^= 0x10
    _expect_error(device, corrupted, protocol.Error.CRC)
    _expect_error(device, good[:-3], protocol.Error.TIMEOUT)
    _expect_error(device, good[:protocol.HEADER_BYTES - 1] + bytes([0x55]) + good[3:],
                  protocol.Error.OPCODE)
    too_long = protocol.encode(protocol.PUSH, bytes(in_bytes * info["buffer_beats"] + 1))
    _expect_error(device, too_long, protocol.Error.LENGTH)
    if in_bytes > 1:
        _expect_error(device, protocol.encode(protocol.PUSH, bytes(in_bytes - 1)),
                      protocol.Error.LENGTH)
    assert device.pending() == 0, "a rejected frame produced results"

    got = device.run(inputs, len(expected))
    for index, (want, have) in enumerate(zip(expected, got)):
        assert want == have, f"result {index}: expected {want}, got {have}"
    # Nothing more may come: rejected frames were never executed.
    port.idle(4 * port.timeout)
    try:
        extra = device.results(1)
    except LinkError:
        extra = []
    assert not extra, f"extra result after the golden ones: {extra}"
    assert not port.line_errors, f"bad stop bits on tx: {port.line_errors}"
    return len(got)


@cocotb.test()
async def host_session(dut):
    """INFO, four rejected frames, then the golden vectors through the host driver."""
    manifest = json.loads(pathlib.Path(os.environ["HWGEN_MANIFEST"]).read_text())
    vectors = json.loads(pathlib.Path(os.environ["HWGEN_VECTORS"]).read_text())
    divisor = int(os.environ["HWGEN_DIVISOR"])
    timeout = int(os.environ["HWGEN_TIMEOUT"])

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rx.value = 1
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    port = SimPort(dut, divisor, 4 * timeout + 64 * divisor * protocol.beat_bytes(
        manifest["streams"]["o"]["payload_width"]))
    cocotb.start_soon(port.monitor())
    count = await bridge(_session)(port, manifest, vectors)
    assert count == len(vectors["outputs"]["o"])
