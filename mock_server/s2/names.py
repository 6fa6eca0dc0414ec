"""What ``PUT /realtime/v1/sessions/{session}/{io}`` hands out for writing a channel
straight to S2: an endpoint (this server's ``/s2/v1``), a basin, a stream name and an
access token.

Stream names carry the session key and channel name percent-encoded, so a key holding
``/`` still parses back to one :class:`StreamKey`. The access token is derived from the
environment's secret key, so it outlives resets and restarts and names its environment.
"""

from __future__ import annotations

import hashlib
from typing import Final
from urllib.parse import quote, unquote

from ..auth.environments import Environment, Environments
from ..channels.streams import StreamKey

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


def environment_of_token(environments: Environments, token: str | None) -> Environment | None:
    """The environment whose S2 access token ``token`` is."""
    return next((env for env in environments.known() if token == s2_access_token(env)), None)
