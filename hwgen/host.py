"""Host driver for a design behind the board's UART bridge (:mod:`hwgen.board.bridge`).

:class:`Device` speaks the framed protocol of :mod:`hwgen.board.protocol` over any byte
stream with pyserial's two methods, ``write(bytes)`` and ``read(n)`` (which returns fewer
than ``n`` bytes when its timeout passes): a serial port (:meth:`Device.open_serial`) or a
simulation adapter (``hwgen/testbenches/uart_tb.py``). It reads the design's manifest to pack input beats
and unpack results exactly as the testbenches do (:mod:`hwgen.flow.payload`)::

    from hwgen.host import Device
    with Device.open_serial("/dev/ttyUSB1", "build/llm_tile_small/llm_tile_small.json") as dev:
        print(dev.info())
        results = dev.run([{"x": 5, "tag": 1}], count=1)
"""
import collections
import json
import pathlib

from hwgen.board import protocol
from hwgen.flow.payload import pack, unpack

__all__ = ["Device", "DeviceError", "LinkError"]


class LinkError(Exception):
    """The device did not answer, or its answer was not a valid frame."""


class DeviceError(Exception):
    """The device rejected a frame; ``code`` is the :class:`~hwgen.board.protocol.Error`."""

    def __init__(self, code, what):
        self.code = code
        super().__init__(f"device rejected {what}: {code.name}")


class Device:
    """A design behind the UART bridge.

    Parameters
    ----------
    port
        A byte stream with ``write(data)`` and ``read(n)``.
    manifest : dict or path
        The design's manifest (``build/NAME/NAME.json``).
    retries : int
        How often a rejected ``PUSH`` frame is sent again; the device never executes a
        rejected frame, so resending cannot duplicate beats.
    """

    def __init__(self, port, manifest, *, retries=2):
        if not isinstance(manifest, dict):
            manifest = json.loads(pathlib.Path(manifest).read_text())
        streams = manifest["streams"]
        if sorted(streams) != ["i", "o"] or streams["i"]["dir"] != "in":
            raise ValueError(f"manifest of {manifest['name']!r} must describe exactly an input "
                             f"stream 'i' and an output stream 'o', not {sorted(streams)}")
        self.port = port
        self.manifest = manifest
        self.retries = retries
        self._in = streams["i"]
        self._out = streams["o"]
        self._in_bytes = protocol.beat_bytes(self._in["payload_width"])
        self._out_bytes = protocol.beat_bytes(self._out["payload_width"])
        self._buffer_beats = None
        self._results = collections.deque()

    @classmethod
    def open_serial(cls, device, manifest, *, baud=115200, timeout=1.0, **kwargs):
        """A :class:`Device` on serial port ``device`` (8N1); ``timeout`` in seconds."""
        import serial
        return cls(serial.Serial(device, baud, timeout=timeout), manifest, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        close = getattr(self.port, "close", None)
        if close:
            close()

    # Frames ------------------------------------------------------------------------------

    def _read_exactly(self, count, what):
        data = self.port.read(count)
        if len(data) != count:
            raise LinkError(f"timed out waiting for {what} ({len(data)} of {count} bytes)")
        return bytes(data)

    def receive(self):
        """The next frame from the device, as ``(opcode, payload)``."""
        header = self._read_exactly(protocol.HEADER_BYTES, "a frame header")
        length = int.from_bytes(header[:2], "little")
        rest = self._read_exactly(length + protocol.TRAILER_BYTES, "a frame body")
        if protocol.crc16(header + rest) != 0:
            raise LinkError(f"frame with a bad CRC from the device: {(header + rest).hex()}")
        return header[2], rest[:length]

    def _next(self):
        """Read one frame: queue it and return ``None`` if it is a result, else return it."""
        opcode, payload = self.receive()
        if opcode != protocol.RESULT:
            return opcode, payload
        if len(payload) != self._out_bytes:
            raise LinkError(f"RESULT frame of {len(payload)} bytes, the manifest's output "
                            f"beats take {self._out_bytes}")
        self._results.append(unpack(self._out["fields"], int.from_bytes(payload, "little")))
        return None

    def _reply(self):
        """The next frame that is not a result; results are queued for :meth:`results`."""
        while (frame := self._next()) is None:
            pass
        return frame

    def transact(self, frame):
        """Send raw ``frame`` bytes and return the device's reply as ``(opcode, payload)``.

        For diagnostics and tests: a malformed frame gets ``(ERROR, code)``."""
        self.port.write(bytes(frame))
        return self._reply()

    # Commands ----------------------------------------------------------------------------

    def info(self):
        """The device's description; ``LinkError`` if it is not the manifest's design."""
        opcode, payload = self.transact(protocol.encode(protocol.INFO))
        if opcode != protocol.INFO_REPLY:
            raise LinkError(f"INFO answered with opcode {opcode:#04x}, payload {payload.hex()}")
        info, offset = {}, 0
        for name, size in protocol.INFO_FIELDS:
            info[name] = int.from_bytes(payload[offset:offset + size], "little")
            offset += size
        expected = {"in_width": self._in["payload_width"],
                    "out_width": self._out["payload_width"],
                    "ident": protocol.ident(self.manifest["name"], self.manifest["kind"],
                                            self.manifest["params"])}
        wrong = [f"{name} {info[name]:#x} (manifest: {value:#x})"
                 for name, value in expected.items() if info[name] != value]
        if wrong:
            raise LinkError(f"the device is not {self.manifest['name']!r}: " + ", ".join(wrong))
        self._buffer_beats = info["buffer_beats"]
        return info

    def push(self, beats):
        """Send input beats (mappings of field name to value), as many per frame as the
        device buffers; return once every frame was acknowledged."""
        if self._buffer_beats is None:
            self.info()
        words = [pack(self._in["fields"], beat).to_bytes(self._in_bytes, "little")
                 for beat in beats]
        for start in range(0, len(words), self._buffer_beats):
            chunk = words[start:start + self._buffer_beats]
            frame = protocol.encode(protocol.PUSH, b"".join(chunk))
            for attempt in range(self.retries + 1):
                opcode, payload = self.transact(frame)
                if opcode == protocol.ACK:
                    if int.from_bytes(payload, "little") != len(chunk):
                        raise LinkError(f"ACK for {int.from_bytes(payload, 'little')} beats, "
                                        f"sent {len(chunk)}")
                    break
                if opcode != protocol.ERROR or attempt == self.retries:
                    code = protocol.Error(payload[0]) if opcode == protocol.ERROR else None
                    if code is not None:
                        raise DeviceError(code, f"PUSH of beats {start}..{start + len(chunk) - 1}")
                    raise LinkError(f"PUSH answered with opcode {opcode:#04x}")

    def results(self, count):
        """The next ``count`` output beats, waiting for them as needed."""
        while len(self._results) < count:
            frame = self._next()
            if frame is None:
                continue
            opcode, payload = frame
            raise LinkError(f"unexpected frame {opcode:#04x} ({payload.hex()}) while waiting "
                            f"for results")
        return [self._results.popleft() for _ in range(count)]

    def pending(self):
        """Results received but not yet taken."""
        return len(self._results)

    def run(self, beats, count):
        """Push ``beats`` and return the next ``count`` results."""
        self.push(beats)
        return self.results(count)
