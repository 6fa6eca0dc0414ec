"""A stand-in for the task behind a chat session: it answers each message a client
appends to a session's ``.in`` with one streamed turn on ``.out``.

A turn is what the SDK's chat transport renders (AI SDK v5 UI-message chunks), each
stored the way the SDK's own writer stores them, ``{"data": <chunk>, "id": <part id>}``:

``start`` → ``start-step`` → ``text-start`` → ``text-delta``… → ``text-end`` →
``finish-step`` → ``finish``, then an empty-bodied ``turn-complete`` control record
carrying ``public-access-token`` (a fresh session token) and ``session-in-event-id``
(the ``.in`` sequence number it answers).

A session created with the first message in its ``basePayload`` (``trigger:
"submit-message"``) is answered at once. After each turn the agent trims ``.out`` back to the
previous ``turn-complete``, as a ``chat.agent`` does.

``echo`` replies ``echo: <the user's text>``. A script file gives the replies instead:
a list of ``{match?: regex, text?: str, chunks?: [chunk…]}`` rules, the first whose
``match`` finds the user's text wins. Other chat sends (actions, tool approvals) get an
empty turn, since the transport waits for a ``turn-complete`` after every send; a
``stop`` cuts the turn in flight short (it still ends with its ``turn-complete``);
``trigger: close`` gets a ``session-closed`` record. Records that are not chat messages
are left alone.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from ..auth.authenticator import Authenticator
from ..core.ids import IdSource
from ..sessions.model import Session
from .realtime import IN, OUT, SESSION_CLOSED, Realtime, control_headers
from .records import TRIM_COMMAND, Headers, Record, StreamKey, envelope

TURN_COMPLETE = "turn-complete"


@dataclass(frozen=True, slots=True)
class Rule:
    match: re.Pattern[str] | None
    text: str | None = None
    chunks: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True, slots=True)
class Script:
    rules: tuple[Rule, ...] = ()
    echo: bool = True

    @classmethod
    def load(cls, path: Path) -> Script:
        """Rules from a YAML or JSON file: a list, or ``{"replies": [...]}``."""
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = loaded.get("replies") if isinstance(loaded, dict) else loaded
        if not isinstance(items, list) or not items:
            raise ValueError(f"{path}: expected a non-empty list of replies")
        rules = []
        for n, item in enumerate(items):
            if not isinstance(item, dict) or not ({"text", "chunks"} & item.keys()):
                raise ValueError(f"{path}: reply {n} needs `text` or `chunks`")
            chunks = item.get("chunks")
            if chunks is not None and not all(isinstance(c, dict) for c in chunks):
                raise ValueError(f"{path}: reply {n}: `chunks` must be a list of objects")
            match = item.get("match")
            rules.append(
                Rule(
                    re.compile(str(match)) if match is not None else None,
                    None if item.get("text") is None else str(item["text"]),
                    None if chunks is None else tuple(chunks),
                )
            )
        return cls(tuple(rules), echo=False)

    def reply(self, user_text: str) -> Rule:
        for rule in self.rules:
            if rule.match is None or rule.match.search(user_text):
                return rule
        if len(user_text) > ECHO_MAX_CHARS:  # one record per word: a huge echo would flood
            user_text = user_text[:ECHO_MAX_CHARS] + " …"
        return Rule(None, text=f"echo: {user_text}" if self.echo else "")


ECHO_MAX_CHARS: Final = 4096
"""The most of a user's message ``echo`` repeats."""


def text_chunks(text: str, message_id: str, part: str) -> list[dict[str, Any]]:
    """The UI-message chunks of one assistant message holding ``text``."""
    words = re.findall(r"\S+\s*|\s+", text) or [""]
    return [
        {"type": "start", "messageId": message_id},
        {"type": "start-step"},
        {"type": "text-start", "id": part},
        *({"type": "text-delta", "id": part, "delta": w} for w in words if w),
        {"type": "text-end", "id": part},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
    ]


def user_text(message: Any) -> str:
    """The text parts of a UI message, joined."""
    if not isinstance(message, dict):
        return ""
    parts = message.get("parts")
    if isinstance(parts, list):
        texts = [
            p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text"
        ]
        return "".join(t for t in texts if isinstance(t, str))
    content = message.get("content")
    return content if isinstance(content, str) else ""


def read_in_record(record: Record) -> dict[str, Any] | None:
    """The client's message in an ``.in`` record (its ``data`` may be JSON text)."""
    try:
        data = json.loads(record.body).get("data")
        if isinstance(data, str):
            data = json.loads(data)
    except (ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Agent:
    """Watches sessions start and ``.in`` appends, and writes reply turns to ``.out``."""

    realtime: Realtime
    authenticator: Authenticator
    ids: IdSource
    script: Script = field(default_factory=Script)
    delay_seconds: float = 0.02
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _last_text: dict[tuple[str, str], str] = field(default_factory=dict)
    _stopping: set[tuple[str, str]] = field(default_factory=set)

    def attach(self) -> None:
        self.realtime.channels.observers.append(self.observe)
        self.realtime.sessions.events.created.append(self.session_started)
        self.realtime.on_reset.append(self.forget)

    def forget(self, env_id: str | None) -> None:
        """Drop what the agent remembers of an environment's chats (or of all)."""

        def kept(chat: tuple[str, str]) -> bool:
            return env_id is not None and chat[0] != env_id

        self._last_text = {chat: text for chat, text in self._last_text.items() if kept(chat)}
        self._stopping = {chat for chat in self._stopping if kept(chat)}

    def _spawn(self, env_id: str, key: str, message: dict[str, Any], in_seq: int | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no server running (a store used on its own)
        task = loop.create_task(self.respond(env_id, key, message, in_seq))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def session_started(self, env_id: str, session: Session) -> None:
        """A new session whose first run carries the first message in its ``basePayload``
        (``trigger: "submit-message"``) is answered at once; ``preload`` waits for ``.in``."""
        payload = session.trigger_config.get("basePayload")
        if isinstance(payload, dict) and payload.get("trigger") == "submit-message":
            key = session.addressing_key
            self._spawn(env_id, key, {"kind": "message", "payload": payload}, None)

    def observe(self, env_id: str, stream: StreamKey, records: Sequence[Record]) -> None:
        if stream.io != IN or stream.channel is not None:
            return  # side channels wake nothing
        session = self.realtime.sessions.lookup(env_id, stream.key)
        if session is not None and session.run_ended_at is not None:
            return  # the run died: nobody reads .in until a new run starts
        for record in records:
            message = read_in_record(record) if record.control is None else None
            if message is not None:
                self._spawn(env_id, stream.key, message, record.seq_num)

    def _plan(
        self, env_id: str, key: str, message: dict[str, Any]
    ) -> list[tuple[Headers, str]] | None:
        kind = message.get("kind")
        raw_payload = message.get("payload")
        payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
        trigger = payload.get("trigger")
        if kind == "message" and trigger == "close":
            return [(control_headers(SESSION_CLOSED), "")]
        if kind == "message" and trigger in ("submit-message", "regenerate-message"):
            text = user_text(payload.get("message"))
            if trigger == "regenerate-message" or not text:
                text = self._last_text.get((env_id, key), text)
            self._last_text[(env_id, key)] = text
            rule = self.script.reply(text)
            if rule.chunks is not None:
                return self.chunk_records(rule.chunks)
            return self.text_turn(rule.text or "")
        if kind == "message":
            return []  # an action, a tool approval…: a turn with nothing to say
        if kind == "stop":
            self._stopping.add((env_id, key))
        return None  # not a chat message: the agent stays quiet

    async def respond(
        self, env_id: str, key: str, message: dict[str, Any], in_seq: int | None
    ) -> None:
        planned = self._plan(env_id, key, message)
        if planned is None:
            return
        out = StreamKey(key, OUT)
        self._stopping.discard((env_id, key))
        for item in planned:
            await asyncio.sleep(self.delay_seconds)
            if (env_id, key) in self._stopping:
                break  # a stop mid-turn still ends with the turn's turn-complete
            self.realtime.append_records(env_id, out, [item])
        self._stopping.discard((env_id, key))
        if planned and planned[0][0] and planned[0][0][0][1] == SESSION_CLOSED:
            return
        previous = self._last_turn_complete(env_id, out)
        self.realtime.append_records(env_id, out, [self.turn_complete(env_id, key, in_seq)])
        # Like a chat.agent, keep .out about one turn long: trim back to the previous
        # turn-complete, which a reader resuming from it still finds.
        if previous is not None:
            self.realtime.append_records(env_id, out, [(TRIM_COMMAND, str(previous))])

    def _last_turn_complete(self, env_id: str, out: StreamKey) -> int | None:
        channel = self.realtime.channels.peek(env_id, out)
        records = () if channel is None else reversed(channel.records)
        return next((r.seq_num for r in records if r.control == TURN_COMPLETE), None)

    def chunk_records(self, chunks: Sequence[dict[str, Any]]) -> list[tuple[Headers, str]]:
        """Chunks as the SDK's writer stores them, each with a part id of its own."""
        return [((), envelope(chunk, self.ids.nanoid(7))) for chunk in chunks]

    def text_turn(self, text: str) -> list[tuple[Headers, str]]:
        """The records of one assistant message holding ``text`` (without its end)."""
        message_id, part = "msg_" + self.ids.nanoid(16), "text_" + self.ids.nanoid(8)
        return self.chunk_records(text_chunks(text, message_id, part))

    def turn_complete(self, env_id: str, key: str, in_seq: int | None) -> tuple[Headers, str]:
        extra: list[tuple[str, str]] = []
        if in_seq is not None:
            extra.append(("session-in-event-id", str(in_seq)))
        env = self.authenticator.environments.by_id(env_id)
        session = self.realtime.sessions.lookup(env_id, key)
        if env is not None and session is not None:
            token = self.authenticator.session_token(env, session.addressing_key)
            extra.insert(0, ("public-access-token", token))
        return control_headers(TURN_COMPLETE, tuple(extra)), ""
