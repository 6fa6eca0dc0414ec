"""The HTTP/1.1 protocol the CLI serves with: uvicorn's httptools protocol, except that

- requests it cannot even parse (bytes that are not HTTP, non-ASCII request targets, a
  non-numeric ``Content-Length``) are answered in the API's error shape too;
- each request's scope state carries its connection (``trigger_mock.connection``), so injected
  faults can reset, close or cut it (:mod:`mock_server.http.failures.connection`)."""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..core.jsoncodec import dump_json
from ..http.failures.connection import CONNECTION_KEY, Connection
from ..http.responses import JSON_TYPE


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn copies this dict into each request's scope["state"]: the connection rides
        # along at no cost per request.
        self.app_state = {**self.app_state, CONNECTION_KEY: Connection(transport)}

    def send_400_response(self, msg: str) -> None:
        body = dump_json({"error": msg})
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + JSON_TYPE.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
