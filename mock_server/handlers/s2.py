"""The fake's S2 endpoint: the slice of S2's REST API the SDK's task-side writers call,
one method per operationId in ``openapi/s2.yaml``.

After ``PUT /realtime/v1/sessions/{session}/{io}`` hands out S2 credentials
(:mod:`mock_server.s2.names`), the SDK appends to ``POST {endpoint}/streams/{stream}/records``
in one of three forms, all served here: JSON (control records such as ``turn-complete``),
one protobuf message (trims), or an ``s2s/proto`` append session (the streaming ``.out``
writer, over HTTP/2: see :mod:`mock_server.server.run`). Records land in the session's
channel; an S2 ``trim`` command drops older records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from connexion import request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..channels.errors import S2BadRequest, S2UnknownStream
from ..channels.records import TRIM_COMMAND, Headers, StreamKey, check_append
from ..channels.streams import ChannelStore
from ..core.errors import ApiError
from ..core.jsoncodec import dump_json
from ..http.headers import media_type
from ..http.responses import json_response
from ..http.security import s2_environment_of
from ..s2.names import PROTOBUF_TYPE, S2S_TYPE, parse_stream_name
from ..s2.proto import (
    COMPRESSED,
    TERMINAL,
    AppendInput,
    FrameReader,
    ProtoError,
    decode_append_input,
    encode_append_ack,
    frame,
)


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

    def __init__(self, channels: ChannelStore, *, raw_names: bool = False) -> None:
        self.channels = channels
        self.raw_names = raw_names

    def _append(
        self, env_id: str, key: StreamKey, items: list[tuple[Headers, str]], match: int | None
    ) -> tuple[int, ...]:
        """Append, returning the first seq, one past the last, the tail and the time."""
        check_append(items)
        added = self.channels.append(env_id, key, items, match_seq_num=match)
        assert added is not None
        tail = self.channels.channel(env_id, key).tail
        return added[0].seq_num, added[-1].seq_num + 1, tail, added[-1].timestamp

    def _append_input(self, env_id: str, key: StreamKey, append: AppendInput) -> tuple[int, ...]:
        if not append.records:
            raise S2BadRequest("an append needs at least one record")
        return self._append(env_id, key, _items(append), append.match_seq_num)

    async def s2_append(self, stream: str, token_info: dict[str, Any]) -> Response:
        env = s2_environment_of(token_info)
        key = parse_stream_name(unquote(stream), raw=self.raw_names)
        if key is None:
            raise S2UnknownStream()
        kind = media_type(request.headers.get("content-type"))
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
