"""The dashboard (``GET /_mock/ui``): static files from ``mock_server/ui/``, read once at
start, served with a content security policy that lets the page talk to this server only."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.responses import Response

from ..core.errors import ControlTargetNotFound

UI_DIR: Final = Path(__file__).resolve().parent.parent / "ui"
_TYPES: Final = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
_HEADERS: Final = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


class UiHandlers:
    def __init__(self, *, enabled: bool, directory: Path = UI_DIR) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        if enabled:
            for path in directory.iterdir():
                kind = _TYPES.get(path.suffix)
                if kind is not None:
                    self.files[path.name] = (path.read_bytes(), f"{kind}; charset=utf-8")

    def _serve(self, name: str) -> Response:
        found = self.files.get(name)
        if found is None:
            message = (
                "No dashboard here: the fake runs with --no-ui"
                if not self.files
                else "No such file"
            )
            raise ControlTargetNotFound(message)
        body, media_type = found
        return Response(body, media_type=media_type, headers=_HEADERS)

    async def mock_ui(self) -> Response:
        return self._serve("index.html")

    async def mock_ui_asset(self, asset: str) -> Response:
        return self._serve(asset)
