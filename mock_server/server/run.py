"""Running the assembled app: uvicorn for everything (its HTTP/1.1 protocol hands HTTP/2
connections to hypercorn's handling, :mod:`.http2`), and the state saver alongside, all
in one event loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn

from ..control.persistence import StateSaver
from ..core.settings import Settings
from .collector import SurvivorFreezer

if TYPE_CHECKING:
    from ..app import MockApp


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (uvicorn's ``standard`` extra brings it;
    ``uvicorn.run`` would pick it, but ``serve`` runs uvicorn and the state saver in one
    loop of its own). It serves a little more than asyncio's own loop (docs/performance.md)."""
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
    """uvicorn for everything, and the state saver when there is a state file."""
    state = mock.state
    server = _Server(config, on_exit=state.channels.close_readers)
    # Everything built so far (the app, a seed, a restored state file) lives as long as the
    # process: moved out of the collector's reach, full collections under load stay short
    # (the create p99 in docs/performance.md).
    gc.collect()
    gc.freeze()
    freezer = SurvivorFreezer()  # and what it stores from now on (.collector)
    saving = stop_saving = None
    if settings.state_file is not None:
        saver = StateSaver(
            Path(settings.state_file), state.store, state.channels, state.environments
        )
        stop_saving = asyncio.Event()
        saving = asyncio.create_task(saver.run(stop_saving))
    try:
        with freezer.installed():
            await server.serve()
    finally:
        if saving is not None and stop_saving is not None:
            stop_saving.set()
            await saving  # its last round saves what the stop left
