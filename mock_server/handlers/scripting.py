"""Control-plane writes to channels, so a test can play the task precisely:
``POST /_mock/sessions/{session}/{io}/records``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from ..agent import Agent
from ..channels import StreamKey
from ..errors import BadControlRequest
from ..realtime import Realtime, record_items
from ..responses import json_response


class ChannelScripting:
    realtime: Realtime
    agent: Agent

    def _env_id(self, key_or_id: str) -> str:
        raise NotImplementedError

    async def mock_write_records(self, session: str, io: str, body: dict[str, Any]) -> Response:
        env_id = self._env_id(body["environment"])
        ref = unquote(session)
        found = self.realtime.sessions.lookup(env_id, ref)
        if found is not None:
            ref = found.addressing_key
        stream = StreamKey(ref, io, body.get("channel"))
        if ("text" in body) == ("records" in body):
            raise BadControlRequest("Give exactly one of text and records")
        if "records" in body:
            items = record_items(body["records"], self.agent.ids)
        else:
            items = self.agent.text_turn(body["text"])
            if body.get("turnComplete", True):
                items.append(self.agent.turn_complete(env_id, ref, body.get("inEventId")))
        added = self.realtime.append_records(env_id, stream, items)
        return json_response({"seqNums": [r.seq_num for r in added]})
