"""The slice of S2's REST API the SDK's task-side writers call, served by the fake.

``PUT /realtime/v1/sessions/{session}/{io}`` hands out S2 credentials: an endpoint (this
server's ``/s2/v1``), a basin, a stream name and an access token. The SDK then appends
to ``POST {endpoint}/streams/{stream}/records`` in one of three forms, all served here:
JSON (control records such as ``turn-complete``), one protobuf message (trims), or an
``s2s/proto`` append session (the streaming ``.out`` writer; HTTP/2, see ``cli.py``).
Records land in the session's channel; an S2 ``trim`` command drops older records.

Stream names carry the session key and channel name percent-encoded, so a key holding
``/`` still parses back to one :class:`StreamKey`. The access token is derived from the
environment's secret key, so it outlives resets and restarts and names its environment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote, unquote

from connexion import request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .auth import Environment
from .channel_errors import S2BadRequest, S2UnknownStream
from .channels import TRIM_COMMAND, ChannelStore, Headers, StreamKey
from .errors import ApiError
from .jsoncodec import dump_json
from .responses import json_response
from .s2proto import (
    COMPRESSED,
    TERMINAL,
    AppendInput,
    FrameReader,
    ProtoError,
    decode_append_input,
    encode_append_ack,
    frame,
)

S2_BASIN: Final = "trigger-mock"
S2_BASE_PATH: Final = "/s2/v1"
S2S_TYPE: Final = "s2s/proto"
PROTOBUF_TYPE: Final = "application/protobuf"
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


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _items(append: AppendInput) -> list[tuple[Headers, str]]:
    items: list[tuple[Headers, str]] = []
    for record in append.records:
        headers = tuple((_text(k), _text(v)) for k, v in record.headers)
        if headers == TRIM_COMMAND:
            # Binary (a big-endian u64) on the wire; kept in decimal so bodies stay text.
            items.append((headers, str(int.from_bytes(record.body[-8:], "big"))))
        else:
            items.append((headers, _text(record.body)))
    return items


class DuplexAppendSession(Response):
    """An ``s2s/proto`` append session: acknowledges each input frame as it arrives, on
    a response that stays open until the client ends its request."""

    def __init__(self, append: Callable[[AppendInput], tuple[int, ...]]) -> None:
        super().__init__(media_type=S2S_TYPE)
        self._append = append

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", S2S_TYPE.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        frames = FrameReader()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            try:
                for flag, payload in frames.feed(message.get("body", b"")):
                    if flag & TERMINAL:
                        continue
                    if flag & COMPRESSED:
                        raise ProtoError("compressed frames are not supported")
                    first, last, tail, stamp = self._append(decode_append_input(payload))
                    ack = encode_append_ack((first, stamp), (last, stamp), (tail, stamp))
                    await send(
                        {"type": "http.response.body", "body": frame(ack), "more_body": True}
                    )
            except (ProtoError, ApiError) as exc:
                status = exc.status if isinstance(exc, ApiError) else 400
                error = dump_json({"code": "invalid", "message": str(exc)})
                body = frame(status.to_bytes(2, "big") + error, TERMINAL)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return


class S2Handlers:
    """Operations of ``openapi/s2.yaml``."""

    def __init__(self, channels: ChannelStore) -> None:
        self.channels = channels

    def _append(
        self, env_id: str, key: StreamKey, items: list[tuple[Headers, str]], match: int | None
    ) -> tuple[int, ...]:
        """Append, returning the first seq, one past the last, the tail and the time."""
        added = self.channels.append(env_id, key, items, match_seq_num=match)
        assert added is not None
        tail = self.channels.channel(env_id, key).tail
        return added[0].seq_num, added[-1].seq_num + 1, tail, added[-1].timestamp

    def _append_input(self, env_id: str, key: StreamKey, append: AppendInput) -> tuple[int, ...]:
        if not append.records:
            raise S2BadRequest("an append needs at least one record")
        return self._append(env_id, key, _items(append), append.match_seq_num)

    async def s2_append(self, stream: str, token_info: dict[str, Any]) -> Response:
        env: Environment = token_info["environment"]
        key = parse_stream_name(unquote(stream))
        if key is None:
            raise S2UnknownStream()
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if kind == S2S_TYPE:
            return DuplexAppendSession(lambda append: self._append_input(env.id, key, append))
        raw = await request.body()
        if kind == PROTOBUF_TYPE:
            try:
                decoded = decode_append_input(raw)
            except ProtoError as exc:
                raise S2BadRequest(str(exc)) from exc
            first, end, tail, stamp = self._append_input(env.id, key, decoded)
            ack = encode_append_ack((first, stamp), (end, stamp), (tail, stamp))
            return Response(ack, media_type=PROTOBUF_TYPE)
        body = json.loads(raw)
        items: list[tuple[Headers, str]] = [
            (tuple((h[0], h[1]) for h in record.get("headers", ())), record.get("body", ""))
            for record in body["records"]
        ]
        first, end, tail, stamp = self._append(env.id, key, items, body.get("match_seq_num"))
        return json_response(
            {
                "start": {"seq_num": first, "timestamp": stamp},
                "end": {"seq_num": end, "timestamp": stamp},
                "tail": {"seq_num": tail, "timestamp": stamp},
            }
        )
