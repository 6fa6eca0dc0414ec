"""S2's binary wire forms, as far as the SDK's writers use them.

- ``application/protobuf``: one ``s2.v1.AppendInput`` message in, one ``AppendAck`` out
  (the unary append the SDK uses for records with binary bodies, such as trims).
- ``s2s/proto``: the append *session* of the streaming writer, over HTTP/2: both ways, a
  sequence of frames, each a 3-byte big-endian length (of what follows), a flag byte
  (``0x80`` terminal, ``0x20``/``0x40`` compressed) and a message: ``AppendInput`` from
  the client, one ``AppendAck`` per input back.

Only the fields the messages carry are read and written; field numbers are those of S2's
``s2.v1`` protobuf package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

TERMINAL: Final = 0x80
COMPRESSED: Final = 0x20 | 0x40


class ProtoError(ValueError):
    """Bytes that are not the message (or frame) they should be."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _read_varint(buf: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(buf) or shift > 63:
            raise ProtoError("truncated or overlong varint")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """``(field number, value)`` pairs: varints as ints, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(buf):
        key, at = _read_varint(buf, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, at = _read_varint(buf, at)
            out.append((number, value))
        elif wire_type == 2:
            length, at = _read_varint(buf, at)
            if at + length > len(buf):
                raise ProtoError("truncated field")
            out.append((number, buf[at : at + length]))
            at += length
        elif wire_type in (1, 5):
            at += 8 if wire_type == 1 else 4
        else:
            raise ProtoError(f"unsupported wire type {wire_type}")
    return out


@dataclass(frozen=True, slots=True)
class ProtoRecord:
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class AppendInput:
    records: list[ProtoRecord] = field(default_factory=list)
    match_seq_num: int | None = None


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ProtoError("expected a length-delimited field")
    return value


MAX_BATCH_RECORDS: Final = 1000
"""S2's most records in one append."""
MAX_FRAME_BYTES: Final = 1024 * 1024 + 64 * 1024
"""The longest ``s2s`` frame read: one append of at most 1 MiB metered, plus its framing."""


def decode_append_input(buf: bytes) -> AppendInput:
    """An ``AppendInput`` message; :class:`ProtoError` past :data:`MAX_BATCH_RECORDS`
    (before decoding more of them)."""
    records: list[ProtoRecord] = []
    match: int | None = None
    for number, value in _fields(buf):
        if number == 1:
            if len(records) == MAX_BATCH_RECORDS:
                raise ProtoError(f"an append holds at most {MAX_BATCH_RECORDS} records")
            headers, body = [], b""
            for inner, inner_value in _fields(_bytes(value)):
                if inner == 2:
                    pair = dict(_fields(_bytes(inner_value)))
                    headers.append((_bytes(pair.get(1, b"")), _bytes(pair.get(2, b""))))
                elif inner == 3:
                    body = _bytes(inner_value)
            records.append(ProtoRecord(tuple(headers), body))
        elif number == 2 and isinstance(value, int):
            match = value
    return AppendInput(records, match)


def _message(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _position(seq_num: int, timestamp: int) -> bytes:
    return _varint(1 << 3) + _varint(seq_num) + _varint(2 << 3) + _varint(timestamp)


def encode_append_ack(start: tuple[int, int], end: tuple[int, int], tail: tuple[int, int]) -> bytes:
    return (
        _message(1, _position(*start))
        + _message(2, _position(*end))
        + _message(3, _position(*tail))
    )


def frame(message: bytes, flag: int = 0) -> bytes:
    return (1 + len(message)).to_bytes(3, "big") + bytes([flag]) + message


class FrameReader:
    """Cuts ``s2s`` frames out of a byte stream that arrives in arbitrary pieces."""

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buffer = b""
        self._max = max_frame

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Every ``(flag, message)`` completed by ``data``."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 4:
            length = int.from_bytes(self._buffer[:3], "big")
            if length < 1 or length > self._max:
                raise ProtoError(f"bad frame length {length}")
            if len(self._buffer) < 3 + length:
                break
            frames.append((self._buffer[3], self._buffer[4 : 3 + length]))
            self._buffer = self._buffer[3 + length :]
        return frames

    @property
    def pending(self) -> bool:
        return bool(self._buffer)
