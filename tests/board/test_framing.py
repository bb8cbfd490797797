# amaranth: UnusedElaboratable=no
"""UART and frame receiver/transmitter in the Amaranth simulator, under random backpressure."""
import random

import pytest
from amaranth import Module
from amaranth.sim import Simulator

from hwgen.board import protocol
from hwgen.board.framing import FrameReceiver, FrameTransmitter
from hwgen.board.uart import UARTReceiver, UARTTransmitter

E = protocol.Error
TIMEOUT = 24


def receive(items, *, beat_bytes=2, buffer_beats=4, replies_expected, seed=1, ready_prob=0.5):
    """Feed ``items`` (bytes, or an int: idle cycles, or ("err", byte)) to a FrameReceiver;
    return the beats it replays and its replies."""
    dut = FrameReceiver(beat_bytes=beat_bytes, buffer_beats=buffer_beats, timeout=TIMEOUT,
                        info=b"\x01\x02\x03")
    rng = random.Random(seed)
    beats, replies = [], []

    async def producer(ctx):
        for item in items:
            if isinstance(item, int):
                await ctx.tick().repeat(item)
                continue
            err, data = (1, bytes([item[1]])) if isinstance(item, tuple) else (0, item)
            for byte in data:
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.p, {"data": byte, "err": err})
                await ctx.tick().until(dut.i.ready)
                ctx.set(dut.i.valid, 0)

    async def consumer(ctx):
        while True:
            ctx.set(dut.beats.ready, rng.random() < ready_prob)
            ctx.set(dut.reply.ready, rng.random() < ready_prob)
            _, _, bv, br, beat, rv, rr, reply = await ctx.tick().sample(
                dut.beats.valid, dut.beats.ready, dut.beats.payload,
                dut.reply.valid, dut.reply.ready, dut.reply.payload)
            if bv and br:
                beats.append(beat)
            if rv and rr:
                replies.append((reply.opcode, reply.data & ((1 << 8 * reply.length) - 1)))

    async def watchdog(ctx):
        for _ in range(5000):
            await ctx.tick()
            if len(replies) >= replies_expected:
                await ctx.tick().repeat(4 * TIMEOUT)
                return

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(consumer, background=True)
    sim.add_testbench(watchdog)
    sim.run()
    return beats, replies


def push(*beats, beat_bytes=2):
    return protocol.encode(protocol.PUSH, b"".join(b.to_bytes(beat_bytes, "little") for b in beats))


def error(code):
    return (protocol.ERROR, code)


def test_good_frames_replay_beats_in_order():
    beats, replies = receive([push(0x1234, 0xBEEF, 7), push(0xFFFF)], replies_expected=2)
    assert beats == [0x1234, 0xBEEF, 7, 0xFFFF]
    assert replies == [(protocol.ACK, 3), (protocol.ACK, 1)]


def test_info():
    _, replies = receive([protocol.encode(protocol.INFO)], replies_expected=1)
    assert replies == [(protocol.INFO_REPLY, 0x030201)]


@pytest.mark.parametrize("frame, code", [
    (bytes([3, 0, protocol.PUSH, 1, 2, 3, 0, 0]), E.LENGTH),     # not whole beats
    (protocol.encode(protocol.PUSH, bytes(10)), E.LENGTH),       # more than 4 beats
    (protocol.encode(protocol.PUSH), E.LENGTH),                  # no beats
    (protocol.encode(protocol.INFO, b"\x00"), E.LENGTH),         # INFO takes no payload
    (protocol.encode(0x42, b"\x00\x00"), E.OPCODE),
], ids=["partial-beat", "too-long", "empty", "info-payload", "opcode"])
def test_bad_frames_are_rejected_and_never_executed(frame, code):
    beats, replies = receive([frame, 2 * TIMEOUT, push(5)], replies_expected=2)
    assert replies == [error(code), (protocol.ACK, 1)]
    assert beats == [5]


def test_corrupted_frame_is_rejected_whole():
    frame = bytearray(push(0x1111, 0x2222))
    frame[5] ^= 0x80
    beats, replies = receive([bytes(frame), 2 * TIMEOUT, push(9)], replies_expected=2)
    assert replies == [error(E.CRC), (protocol.ACK, 1)]
    assert beats == [9]


def test_frame_cut_short_times_out():
    frame = push(0x1111, 0x2222)
    beats, replies = receive([frame[:-3], 2 * TIMEOUT, push(3)], replies_expected=2)
    assert replies == [error(E.TIMEOUT), (protocol.ACK, 1)]
    assert beats == [3]


def test_line_error_discards_the_frame():
    frame = push(0x1111)
    beats, replies = receive([frame[:4], ("err", frame[4]), frame[5:], 2 * TIMEOUT, push(4)],
                             replies_expected=2)
    assert replies == [error(E.LINE), (protocol.ACK, 1)]
    assert beats == [4]


def test_bytes_after_a_bad_frame_are_swallowed_until_idle():
    # A bad opcode, then what looks like a good frame without an idle gap: both are one bad
    # frame to the device, which cannot know where the first one ended.
    beats, replies = receive([protocol.encode(0x42, b"\x00\x00") + push(6), 2 * TIMEOUT,
                              push(7)],
                             replies_expected=2)
    assert replies == [error(E.OPCODE), (protocol.ACK, 1)]
    assert beats == [7]


def test_receiver_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"buffer_beats must be a positive integer and at most "
                                         r"32767, not 0"):
        FrameReceiver(beat_bytes=2, buffer_beats=0, timeout=10, info=b"")
    with pytest.raises(ValueError, match=r"timeout must be a positive integer, not -1"):
        FrameReceiver(beat_bytes=2, buffer_beats=1, timeout=-1, info=b"")


def test_transmitter_sends_protocol_frames_under_backpressure():
    dut = FrameTransmitter(data_bits=32)
    frames = [(protocol.RESULT, 4, 0xDEADBEEF), (protocol.ERROR, 1, 3), (protocol.ACK, 2, 0x102),
              (protocol.INFO_REPLY, 0, 0)]
    expected = b"".join(protocol.encode(op, data.to_bytes(length, "little"))
                        for op, length, data in frames)
    rng = random.Random(2)
    got = bytearray()

    async def producer(ctx):
        for opcode, length, data in frames:
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.p, {"opcode": opcode, "length": length, "data": data})
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def consumer(ctx):
        while len(got) < len(expected):
            ctx.set(dut.o.ready, rng.random() < 0.4)
            _, _, valid, ready, byte = await ctx.tick().sample(dut.o.valid, dut.o.ready,
                                                               dut.o.payload)
            if valid and ready:
                got.append(byte)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    assert bytes(got) == expected


def test_uart_loopback_and_line_errors():
    divisor = 5
    rx = UARTReceiver(divisor=divisor)
    tx = UARTTransmitter(divisor=divisor)
    m = Module()
    m.submodules.rx, m.submodules.tx = rx, tx
    data = bytes(random.Random(3).randrange(256) for _ in range(12))
    got = []

    async def line(ctx):
        # The transmitter's line, then a character with a low stop bit, then one good one.
        for byte in data:
            ctx.set(tx.i.valid, 1)
            ctx.set(tx.i.payload, byte)
            await ctx.tick().until(tx.i.ready)
            ctx.set(tx.i.valid, 0)
        await ctx.tick().until(tx.i.ready)
        await ctx.tick().repeat(10 * divisor)
        for bits in ([0, *[1, 0] * 4, 0], [1] * 3, [0, *[1] * 8, 1]):  # 0x55, bad stop; 0xFF
            for bit in bits:
                ctx.set(rx.rx, bit)
                await ctx.tick().repeat(divisor)
        await ctx.tick().repeat(4 * divisor)

    async def wire(ctx):
        async for tx_line, in ctx.changed(tx.tx):
            ctx.set(rx.rx, tx_line)

    async def sink(ctx):
        ctx.set(rx.o.ready, 1)
        async for _, _, valid, payload in ctx.tick().sample(rx.o.valid, rx.o.payload):
            if valid:
                got.append((payload.data, payload.err))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(line)
    sim.add_process(wire)
    sim.add_testbench(sink, background=True)
    sim.run()
    assert got == [(byte, 0) for byte in data] + [(0x55, 1), (0xFF, 0)]


def test_uart_overrun_marks_the_next_byte():
    divisor = 4
    rx = UARTReceiver(divisor=divisor)
    got = []

    async def line(ctx):
        for byte in (1, 2, 3):
            for bit in [0, *((byte >> n) & 1 for n in range(8)), 1]:
                ctx.set(rx.rx, bit)
                await ctx.tick().repeat(divisor)
        await ctx.tick().repeat(4 * divisor)
        ctx.set(rx.o.ready, 1)  # 1 is taken now; 2 was lost behind it
        await ctx.tick().repeat(12 * divisor)

    async def sink(ctx):
        async for _, _, valid, ready, payload in ctx.tick().sample(rx.o.valid, rx.o.ready,
                                                                   rx.o.payload):
            if valid and ready:
                got.append((payload.data, payload.err))

    sim = Simulator(rx)
    sim.add_clock(1e-6)
    sim.add_testbench(line)
    sim.add_testbench(sink, background=True)
    sim.run()
    assert got == [(1, 0)]


def test_uart_rejects_small_divisor():
    with pytest.raises(ValueError, match=r"divisor must be an integer of at least 4 \(clock "
                                         r"cycles per bit\), not 2"):
        UARTReceiver(divisor=2)
