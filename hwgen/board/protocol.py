"""The framed host protocol, as data: shared by the hardware (:mod:`hwgen.board.framing`) and
the host driver (:mod:`hwgen.host`). No hardware imports.

Every frame, in both directions, is::

    LEN (2 bytes, little-endian)  OP (1 byte)  PAYLOAD (LEN bytes)  CRC (2 bytes, big-endian)

``CRC`` is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no
final XOR) over ``LEN``, ``OP`` and ``PAYLOAD``; sent most significant byte first, so the CRC
of a whole, intact frame is 0.

Host → device opcodes: :data:`PUSH` (one or more input beats, each packed little-endian in
``ceil(width / 8)`` bytes) and :data:`INFO` (empty payload). Device → host opcodes:
:data:`RESULT` (one output beat), :data:`ACK` (a ``PUSH`` was executed: 2-byte beat count),
:data:`INFO_REPLY` and :data:`ERROR` (1-byte :class:`Error` code). A frame that is bad in any
way is dropped whole, never executed; the device waits until the line has been idle for its
inter-byte timeout and then answers with one ``ERROR`` frame.
"""
import binascii
import enum
import hashlib
import json

__all__ = ["PUSH", "INFO", "RESULT", "ACK", "INFO_REPLY", "ERROR", "Error", "HEADER_BYTES",
           "TRAILER_BYTES", "INFO_FIELDS", "crc16", "encode", "beat_bytes", "ident"]

PUSH = 0x01
INFO = 0x02
RESULT = 0x81
ACK = 0x82
INFO_REPLY = 0x83
ERROR = 0xEE

HEADER_BYTES = 3   # LEN, OP
TRAILER_BYTES = 2  # CRC

# INFO_REPLY payload: (name, bytes), little-endian, in this order.
INFO_FIELDS = (("in_width", 2), ("out_width", 2), ("buffer_beats", 2), ("ident", 8))


class Error(enum.IntEnum):
    """The code an ``ERROR`` frame carries: why the device dropped a frame."""
    CRC = 1       # the CRC does not match
    LENGTH = 2    # LEN is zero, too long for the buffer, or not whole beats (or not 0 for INFO)
    OPCODE = 3    # not PUSH or INFO
    TIMEOUT = 4   # the frame was cut short: the line fell idle before its last byte
    LINE = 5      # a UART framing error (bad stop bit) or a byte lost to overrun


def crc16(data):
    """CRC-16/CCITT-FALSE of ``data`` (``binascii.crc_hqx`` with initial value 0xFFFF)."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def encode(opcode, payload=b""):
    """The bytes of one frame."""
    payload = bytes(payload)
    if not 0 <= opcode <= 0xFF:
        raise ValueError(f"opcode must be a byte, not {opcode!r}")
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload must be at most 65535 bytes, not {len(payload)}")
    body = len(payload).to_bytes(2, "little") + bytes([opcode]) + payload
    return body + crc16(body).to_bytes(2, "big")


def beat_bytes(width):
    """Bytes a beat of ``width`` bits takes in a frame."""
    return -(-width // 8)


def ident(name, kind, params):
    """The 64-bit identifier a device reports in ``INFO_REPLY``: a hash of its config echo
    (the manifest's ``name``, ``kind`` and ``params``), so a host can tell that the board runs
    the design whose manifest it holds."""
    text = json.dumps({"name": name, "kind": kind, "params": params}, sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
