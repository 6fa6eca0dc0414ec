"""``--state-file`` in-process: the saver writes after changes only, a new app restores
what it wrote, and a missing directory stops the start. (Crashes mid-write are in
``tests/http/test_persistence.py``, against real processes.)"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.channels.records import StreamKey
from mock_server.control.persistence import StateFileError, StateSaver, save
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


def test_a_version_1_file_with_records_as_lists_still_loads(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    mock = create_app(Settings())
    channels = mock.state.channels
    key = StreamKey("old-1", "in")
    channels.append("cenv", key, [((("h", "v"),), 'first "quoted"'), ((), "second ☃")])
    save(state, mock.state.store, channels, mock.state.environments)
    document = json.loads(state.read_text())
    assert document["version"] == 2
    (stream,) = document["environments"]["cenv"]["streams"]
    assert stream["records"][0]["body"] == 'first "quoted"'
    # What a fake before version 2 wrote: [seq, timestamp, headers, body].
    document["version"] = 1
    stream["records"] = [
        [r["seq_num"], r["timestamp"], r["headers"], r["body"]] for r in stream["records"]
    ]
    state.write_text(json.dumps(document))
    restored = create_app(Settings(state_file=str(state))).state.channels
    records = restored.channel("cenv", key).records
    assert [(r.seq_num, r.headers, r.body) for r in records] == [
        (0, (("h", "v"),), 'first "quoted"'),
        (1, (), "second ☃"),
    ]
    assert restored.meter.records == 2


def test_a_record_that_is_not_one_stops_the_start(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    mock = create_app(Settings())
    mock.state.channels.append("cenv", StreamKey("k", "in"), [((), "x")])
    save(state, mock.state.store, mock.state.channels, mock.state.environments)
    document = json.loads(state.read_text())
    document["environments"]["cenv"]["streams"][0]["records"][0]["body"] = 7
    state.write_text(json.dumps(document))
    with pytest.raises(StateFileError, match="does not hold together"):
        create_app(Settings(state_file=str(state)))


@pytest.mark.anyio
async def test_a_save_the_system_refuses_is_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    state = directory / "state.json"
    mock = create_app(Settings())
    saver = StateSaver(
        state, mock.state.store, mock.state.channels, mock.state.environments, interval=0.01
    )
    directory.rmdir()  # as if the descriptors or the disk ran out: the write fails
    stopping = asyncio.Event()
    running = asyncio.create_task(saver.run(stopping))
    mock.state.store.create("cenv", NewSession("t", "task", {"basePayload": {}}, external_id="x"))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if "cannot write" in caplog.text:
            break
    assert not running.done() and "cannot write" in caplog.text
    directory.mkdir()  # the system lets it write again: the next round does
    for _ in range(200):
        await asyncio.sleep(0.01)
        if state.exists():
            break
    stopping.set()
    await running
    assert (
        json.loads(state.read_text())["environments"]["cenv"]["sessions"][0]["external_id"] == "x"
    )
