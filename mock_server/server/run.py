"""Running the assembled app: uvicorn for everything, hypercorn on the S2 port (the
HTTP/2 in cleartext that Node's S2 client speaks), and the state saver alongside, all in
one event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

from ..control.persistence import StateSaver
from ..core.settings import Settings

if TYPE_CHECKING:
    from ..app import MockApp


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (uvicorn's ``standard`` extra brings it;
    ``uvicorn.run`` would pick it, but ``serve`` runs uvicorn and hypercorn in one loop
    of its own). It serves a little more than asyncio's own loop (docs/performance.md)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class _Server(uvicorn.Server):
    """uvicorn, ending open SSE streams as soon as a stop is asked for (else they hold
    the graceful shutdown until their clients leave)."""

    def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


async def run_servers(mock: MockApp, config: uvicorn.Config, settings: Settings) -> None:
    """uvicorn for everything; with an S2 port, also hypercorn there, which speaks the
    HTTP/2 (cleartext, prior knowledge) the S2 client uses on Node."""
    state = mock.state
    server = _Server(config, on_exit=state.channels.close_readers)
    # Everything built so far (the app, a seed, a restored state file) lives as long as the
    # process: moved out of the collector's reach, full collections under load stay short
    # (the create p99 in docs/performance.md).
    gc.collect()
    gc.freeze()
    saving = stop_saving = None
    if settings.state_file is not None:
        saver = StateSaver(
            Path(settings.state_file), state.store, state.channels, state.environments
        )
        stop_saving = asyncio.Event()
        saving = asyncio.create_task(saver.run(stop_saving))
    try:
        await _serve_all(server, mock, settings)
    finally:
        if saving is not None and stop_saving is not None:
            stop_saving.set()
            await saving  # its last round saves what the stop left


async def _serve_all(server: uvicorn.Server, mock: MockApp, settings: Settings) -> None:
    if settings.s2_port is None:
        await server.serve()
        return
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig

    limits = mock.state.limits

    class S2Config(HypercornConfig):
        """hypercorn's settings, its keep-alive timeout read from the fake's ``Limits``
        each time it is armed. hypercorn arms it from a connection's start and after each
        answer until the next request's header is whole (HTTP/1.1) or a stream opens
        (HTTP/2), so it also bounds a header that never completes; an open HTTP/2 stream
        (the SDK's append session) stops it."""

        @property
        def keep_alive_timeout(self) -> float:
            return limits.keep_alive_timeout

        @keep_alive_timeout.setter
        def keep_alive_timeout(self, value: float) -> None:
            pass

    s2_config = S2Config()
    # No read_timeout: it would cut an HTTP/2 connection whose client is only waiting on
    # an open stream. h11_max_incomplete_size (16 KiB) already bounds a header's size.
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    s2_config.bind = [f"{host}:{settings.s2_port}"]
    s2_config.accesslog = None
    s2_config.errorlog = logging.getLogger("trigger_mock.s2")
    s2_config.graceful_timeout = 1
    stopping = asyncio.Event()
    s2 = asyncio.create_task(
        hypercorn_serve(mock, s2_config, shutdown_trigger=stopping.wait, mode="asgi")  # type: ignore[arg-type]
    )
    try:
        await server.serve()
    finally:
        stopping.set()
        await s2
