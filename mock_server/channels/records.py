"""A channel record as the fake keeps it (S2's shape: a sequence number, a timestamp,
headers, a body), the stream it belongs to, and S2's rules for its size."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from ..core.jsoncodec import dump_json, dump_json_kept
from .budget import charged_bytes
from .errors import S2BadRequest

MAX_RECORD_BYTES: Final = 1024 * 1024
"""S2's per-record cap on a record's metered size."""
RECORD_OVERHEAD_BYTES: Final = 8
CONTROL_HEADER: Final = "trigger-control"

Headers = tuple[tuple[str, str], ...]
TRIM_COMMAND: Final[Headers] = (("", "trim"),)


def metered_bytes(headers: Headers, body: str) -> int:
    """S2's size of a record: 8 bytes, plus 2 per header, plus names, values and body."""
    header_bytes = sum(2 + len(k.encode()) + len(v.encode()) for k, v in headers)
    return RECORD_OVERHEAD_BYTES + header_bytes + len(body.encode("utf-8", "surrogatepass"))


APPEND_MAX_RECORDS: Final = 1000
APPEND_MAX_BYTES: Final = 1024 * 1024
"""S2's bounds on one append: records, and their metered size together."""


def check_append(items: Sequence[tuple[Headers, str]]) -> None:
    """:class:`S2BadRequest` for an append S2 would refuse as too big."""
    if len(items) > APPEND_MAX_RECORDS:
        raise S2BadRequest(f"an append holds at most {APPEND_MAX_RECORDS} records")
    total = sum(metered_bytes(headers, body) for headers, body in items)
    if total > APPEND_MAX_BYTES:
        raise S2BadRequest(
            f"an append's records meter {total} bytes together; at most {APPEND_MAX_BYTES}"
        )


def envelope(data: Any, part_id: str) -> str:
    """The record body the server writes for an appended part: ``{"data":…,"id":…}``."""
    return dump_json({"data": data, "id": part_id}).decode("utf-8", "surrogatepass")


class StreamKey(NamedTuple):
    key: str
    io: str
    channel: str | None = None
    """A named side channel, or ``None`` for the session's own ``.in`` / ``.out``."""

    def describe(self) -> str:
        named = f"channels/{self.channel}/" if self.channel else ""
        return f"sessions/{self.key}/{named}{self.io}"


@dataclass(frozen=True, slots=True)
class Record:
    seq_num: int
    timestamp: int
    headers: Headers
    wire: bytes = field(repr=False)
    """The record as S2's JSON (``seq_num``, ``timestamp``, ``headers``, ``body``): built
    once and shared by every reader; the body is kept only in here."""

    @classmethod
    def make(cls, seq_num: int, timestamp: int, headers: Headers, body: str) -> Record:
        wire = dump_json_kept(
            {
                "seq_num": seq_num,
                "timestamp": timestamp,
                "headers": [list(h) for h in headers],
                "body": body,
            }
        )
        return cls(seq_num, timestamp, headers, wire)

    @property
    def body(self) -> str:
        body = json.loads(self.wire)["body"]
        assert isinstance(body, str)
        return body

    @property
    def charge(self) -> int:
        """What the record counts against the memory budget (:mod:`.budget`)."""
        return charged_bytes(self.wire, self.headers)

    @property
    def is_command(self) -> bool:
        """S2 command records (trim, fence) carry one header with an empty name."""
        return bool(self.headers) and self.headers[0][0] == ""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    @property
    def control(self) -> str | None:
        return self.header(CONTROL_HEADER)
