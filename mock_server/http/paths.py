"""The request path in one canonical percent-encoding, segment by segment, so an
``externalId`` holding ``/`` (sent as ``%2F``) stays inside its segment. Handlers decode
their path parameters with :func:`urllib.parse.unquote`. A path that is not
percent-encoded UTF-8 is the client's error (``400``)."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote, unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.errors import Issue, ParamsError
from ..core.fidelity import Behaviour
from .responses import error_response

# A path of unreserved characters only is already in canonical form.
_PLAIN_PATH: Final = re.compile(rb"[A-Za-z0-9_.~/-]*")


def canonical_scope(scope: Scope) -> Scope:
    """``scope`` with its path re-encoded (the same object when nothing changes). Raises
    :class:`ParamsError` for a path that is not percent-encoded UTF-8."""
    # ASGI's raw_path has no query string, but some servers have sent one.
    raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
    if _PLAIN_PATH.fullmatch(raw):
        plain = raw.decode("ascii")
        return scope if plain == scope["path"] else {**scope, "path": plain}
    try:
        segments = [unquote_to_bytes(s).decode("utf-8") for s in raw.split(b"/")]
    except UnicodeDecodeError:
        message = "The path is not valid percent-encoded UTF-8"
        raise ParamsError([Issue("custom", message, ("path",))]) from None
    return {**scope, "path": "/".join(quote(s, safe="") for s in segments)}


class CanonicalPath:
    """:func:`canonical_scope` as an ASGI layer, answering a bad path itself."""

    def __init__(self, app: ASGIApp, *, behaviour: Behaviour) -> None:
        self.app = app
        self.behaviour = behaviour

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                scope = canonical_scope(scope)
            except ParamsError as error:
                await error_response(error, self.behaviour)(scope, receive, send)
                return
        await self.app(scope, receive, send)
