"""The slice of S2's REST API the SDK's task-side writers call, served by the fake.

``PUT /realtime/v1/sessions/{session}/{io}`` hands out S2 credentials: an endpoint (this
server's ``/s2/v1``), a basin, a stream name and an access token. The SDK then appends
control records (``turn-complete``, ``upgrade-required``) with S2's unary JSON append,
``POST {endpoint}/streams/{stream}/records``; those land in the session's channel here.

Stream names carry the session key and channel name percent-encoded, so a key holding
``/`` still parses back to one :class:`StreamKey`. The access token is derived from the
environment's secret key, so it outlives resets and restarts and names its environment.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final
from urllib.parse import quote, unquote

from starlette.responses import Response

from .auth import Environment
from .channels import ChannelStore, Headers, Record, StreamKey
from .errors import S2UnknownStream
from .responses import json_response

S2_BASIN: Final = "trigger-mock"
S2_BASE_PATH: Final = "/s2/v1"
_IOS: Final = ("in", "out")


def s2_access_token(env: Environment) -> str:
    digest = hashlib.sha256(b"trigger-mock s2 token\0" + env.secret_key.encode()).hexdigest()
    return "s2_" + digest[:40]


def stream_name(stream: StreamKey) -> str:
    named = f"/channels/{quote(stream.channel, safe='')}" if stream.channel else ""
    return f"/sessions/{quote(stream.key, safe='')}{named}/{stream.io}"


def parse_stream_name(name: str) -> StreamKey | None:
    parts = name.split("/")
    if len(parts) == 4 and parts[:2] == ["", "sessions"] and parts[3] in _IOS:
        return StreamKey(unquote(parts[2]), parts[3])
    named = len(parts) == 6 and parts[:2] == ["", "sessions"] and parts[3] == "channels"
    if named and parts[5] in _IOS:
        return StreamKey(unquote(parts[2]), parts[5], unquote(parts[4]))
    return None


def _position(record: Record | None, seq_num: int) -> dict[str, int]:
    return {"seq_num": seq_num, "timestamp": 0 if record is None else record.timestamp}


class S2Handlers:
    """Operations of ``openapi/s2.yaml``."""

    def __init__(self, channels: ChannelStore) -> None:
        self.channels = channels

    async def s2_append(
        self, stream: str, body: dict[str, Any], token_info: dict[str, Any]
    ) -> Response:
        env: Environment = token_info["environment"]
        key = parse_stream_name(unquote(stream))
        if key is None:
            raise S2UnknownStream()
        items: list[tuple[Headers, str]] = [
            (tuple((h[0], h[1]) for h in record.get("headers", ())), record.get("body", ""))
            for record in body["records"]
        ]
        added = self.channels.append(env.id, key, items)
        assert added is not None
        channel = self.channels.channel(env.id, key)
        last = added[-1]
        return json_response(
            {
                "start": _position(added[0], added[0].seq_num),
                "end": _position(last, last.seq_num + 1),
                "tail": _position(last, channel.tail),
            }
        )
