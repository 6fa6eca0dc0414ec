"""Reading request headers from an ASGI scope, one way for the edge, the fast lane and the
body validator.

A header sent twice counts once, by its first value: that is what Starlette's ``Headers``
(and so Connexion) reads, and what Node's HTTP parser keeps for ``Authorization`` and
``Content-Type`` on the real server. Names are matched in lower case, as ASGI servers
pass them.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope

RawHeaders = Iterable[tuple[bytes, bytes]]


def first_values(raw: RawHeaders, *names: bytes) -> list[str | None]:
    """The first value of each of ``names`` (lower case), in one pass over the headers."""
    found: list[str | None] = [None] * len(names)
    for name, value in raw:
        if name in names:
            at = names.index(name)
            if found[at] is None:
                found[at] = value.decode("latin-1")
    return found


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of one request header."""
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` value, in lower case and without parameters
    (``""`` when there is none)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def declared_length(value: str | None) -> int | None:
    """A ``Content-Length`` that is a number; ``None`` for none, or for anything else."""
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    return int(value)
