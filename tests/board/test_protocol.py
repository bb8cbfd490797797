"""The frame format and the host driver, against an independent CRC and a scripted port."""
import pytest
from amaranth.lib import crc

from hwgen.board import protocol
from hwgen.host import Device, DeviceError, LinkError

MANIFEST = {
    "name": "toy", "kind": "modred", "params": {"modulus": 3329},
    "streams": {
        "i": {"dir": "in", "payload_width": 12, "fields": {
            "x": {"lsb": 0, "width": 8, "signed": False},
            "tag": {"lsb": 8, "width": 4, "signed": False}}},
        "o": {"dir": "out", "payload_width": 9, "fields": {
            "r": {"lsb": 0, "width": 8, "signed": True},
            "err": {"lsb": 8, "width": 1, "signed": False}}},
    },
}


def test_crc_is_ccitt_false():
    assert protocol.crc16(b"123456789") == 0x29B1
    algorithm = crc.catalog.CRC16_CCITT_FALSE()
    for data in (b"", b"\x00", bytes(range(40))):
        assert protocol.crc16(data) == algorithm.compute(data)


def test_encode_layout_and_residue():
    frame = protocol.encode(protocol.PUSH, b"\x12\x34\x56")
    assert frame[:3] == b"\x03\x00\x01" and frame[3:6] == b"\x12\x34\x56"
    assert len(frame) == 3 + 3 + 2
    assert protocol.crc16(frame) == 0


def test_encode_rejects_bad_opcode():
    with pytest.raises(ValueError, match=r"opcode must be a byte, not 256"):
        protocol.encode(256)


def test_ident_depends_on_config():
    a = protocol.ident("x", "modred", {"modulus": 3329})
    assert a == protocol.ident("x", "modred", {"modulus": 3329})
    assert a != protocol.ident("x", "modred", {"modulus": 7681})
    assert 0 <= a < 1 << 64


class ScriptedPort:
    """Answers each write with the next scripted reply bytes."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.written = []
        self.pending = b""

    def write(self, data):
        self.written.append(bytes(data))
        if self.replies:
            self.pending += self.replies.pop(0)

    def read(self, count):
        data, self.pending = self.pending[:count], self.pending[count:]
        return data


def _info_reply(buffer_beats=2, ident=None):
    ident = protocol.ident("toy", "modred", {"modulus": 3329}) if ident is None else ident
    payload = b"".join(value.to_bytes(size, "little") for value, (_, size) in
                       zip((12, 9, buffer_beats, ident), protocol.INFO_FIELDS))
    return protocol.encode(protocol.INFO_REPLY, payload)


def _ack(count):
    return protocol.encode(protocol.ACK, count.to_bytes(2, "little"))


def test_push_packs_beats_and_chunks_frames():
    results = protocol.encode(protocol.RESULT, (0x1FF).to_bytes(2, "little"))
    port = ScriptedPort([_info_reply(), results + _ack(2), _ack(1)])
    device = Device(port, MANIFEST)
    assert device.run([{"x": 1, "tag": 2}, {"x": 255, "tag": 15}, {"x": 3}], 1) == [
        {"r": -1, "err": 1}]
    assert port.written[1] == protocol.encode(protocol.PUSH, b"\x01\x02\xff\x0f")
    assert port.written[2] == protocol.encode(protocol.PUSH, b"\x03\x00")


def test_rejected_push_is_resent_then_reported():
    error = protocol.encode(protocol.ERROR, bytes([protocol.Error.CRC]))
    port = ScriptedPort([_info_reply(), error, _ack(1)])
    Device(port, MANIFEST).push([{"x": 1}])
    assert port.written[1] == port.written[2]
    port = ScriptedPort([_info_reply(), error, error])
    with pytest.raises(DeviceError, match=r"rejected PUSH of beats 0\.\.0: CRC"):
        Device(port, MANIFEST, retries=1).push([{"x": 1}])


def test_wrong_design_is_refused():
    port = ScriptedPort([_info_reply(ident=5)])
    with pytest.raises(LinkError, match=r"the device is not 'toy': ident 0x5"):
        Device(port, MANIFEST).info()


def test_corrupt_reply_and_silence_are_link_errors():
    reply = bytearray(_ack(1))
    reply[3] ^= 1
    with pytest.raises(LinkError, match="bad CRC"):
        Device(ScriptedPort([bytes(reply)]), MANIFEST).transact(b"")
    with pytest.raises(LinkError, match="timed out waiting for a frame header"):
        Device(ScriptedPort([]), MANIFEST).results(1)


def test_manifest_without_i_and_o_is_refused():
    manifest = dict(MANIFEST, streams={"i": MANIFEST["streams"]["i"]})
    with pytest.raises(ValueError, match=r"must describe exactly an input stream 'i' and an "
                                         r"output stream 'o', not \['i'\]"):
        Device(ScriptedPort([]), manifest)
