"""``--state-file`` in-process: the saver writes after changes only, a new app restores
what it wrote, and a missing directory stops the start. (Crashes mid-write are in
``tests/http/test_persistence.py``, against real processes.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.control.persistence import StateFileError, StateSaver
from mock_server.core.settings import Settings
from mock_server.sessions.requests import NewSession


def test_the_saver_writes_only_after_changes(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    mock = create_app(Settings())
    saver = StateSaver(state, mock.state.store, mock.state.channels, mock.state.environments)
    assert saver.save_if_changed() is False and not state.exists()
    mock.state.store.create("cenv", NewSession("t", "task", {"basePayload": {}}, external_id="x"))
    assert saver.save_if_changed() is True
    assert (
        json.loads(state.read_text())["environments"]["cenv"]["sessions"][0]["external_id"] == "x"
    )
    assert saver.save_if_changed() is False
    restored = create_app(Settings(state_file=str(state)))
    assert restored.state.store.get("cenv", "x").external_id == "x"


def test_a_missing_directory_is_an_error_at_start(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="no directory"):
        create_app(Settings(state_file=str(tmp_path / "nope" / "state.json")))
