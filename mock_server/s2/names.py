"""What ``PUT /realtime/v1/sessions/{session}/{io}`` hands out for writing a channel
straight to S2: an endpoint (this server's ``/s2/v1``), a basin, a stream name and an
access token.

Stream names carry the session key and channel name percent-encoded, so a key holding
``/`` still parses back to one :class:`StreamKey`; the deployed server writes them raw,
which parses back too (a side channel's name holds no ``/``). The access token is derived from the
environment's secret key, so it outlives resets and restarts and names its environment.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final
from urllib.parse import quote, unquote

from ..auth.environments import Environment, Environments
from ..channels.records import StreamKey

S2_BASIN: Final = "trigger-mock"
S2_BASE_PATH: Final = "/s2/v1"
S2S_TYPE: Final = "s2s/proto"
PROTOBUF_TYPE: Final = "application/protobuf"
_IOS: Final = ("in", "out")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A raw name: the key may hold "/", a side channel's name may not.
_RAW_NAME: Final = re.compile(
    r"/sessions/(?P<key>.+?)(?:/channels/(?P<channel>[A-Za-z0-9._-]{1,128}))?/(?P<io>in|out)"
)


def s2_access_token(env: Environment) -> str:
    digest = hashlib.sha256(b"trigger-mock s2 token\0" + env.secret_key.encode()).hexdigest()
    return "s2_" + digest[:40]


def stream_name(stream: StreamKey, *, raw: bool = False) -> str:
    """The name initialize hands out: the key and channel percent-encoded, or (``raw``, as
    deployed) as they are, slashes included."""
    if raw and not _CONTROL.search(stream.key):  # no header can carry a control character
        named = f"/channels/{stream.channel}" if stream.channel else ""
        return f"/sessions/{stream.key}{named}/{stream.io}"
    named = f"/channels/{quote(stream.channel, safe='')}" if stream.channel else ""
    return f"/sessions/{quote(stream.key, safe='')}{named}/{stream.io}"


def parse_stream_name(name: str, *, raw: bool = False) -> StreamKey | None:
    """The channel a stream name (as :func:`stream_name` writes it) addresses."""
    if raw:
        found = _RAW_NAME.fullmatch(_utf8_read_as_latin1(name))
        if found is None:
            return None
        key = found["key"]
        if _CONTROL.search(unquote(key)):  # handed out encoded (see stream_name)
            key = unquote(key)
        return StreamKey(key, found["io"], found["channel"])
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


def header_value(name: str) -> str:
    """A raw stream name made fit for a header: as it is when Latin-1 can carry it (as
    Node sends it), else its UTF-8 bytes, which clients read back as Latin-1 characters
    (the deployed server cannot send such a name at all)."""
    try:
        name.encode("latin-1")
    except UnicodeEncodeError:
        return name.encode("utf-8").decode("latin-1")
    return name


def _utf8_read_as_latin1(name: str) -> str:
    """Undo :func:`header_value`'s second case on the way back from a client."""
    try:
        return name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name
