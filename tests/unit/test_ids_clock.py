"""Ids and the controllable clock."""

from __future__ import annotations

import re

from mock_server.core.clock import ControllableClock
from mock_server.core.ids import IdSource, environment_id, is_cuid
from mock_server.core.times import js_date_ms


class FakeTime:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_cuids_have_the_real_shape() -> None:
    ids = IdSource(ControllableClock())
    for _ in range(100):
        cuid = ids.cuid()
        assert is_cuid(cuid), cuid
    assert re.fullmatch(r"run_[0-9a-v]{26}", ids.run_id())


def test_cuids_grow_even_when_the_clock_goes_backwards() -> None:
    source = FakeTime(2_000_000_000_000)
    ids = IdSource(ControllableClock(source))
    minted = [ids.cuid()]
    for step in (-5000, 0, 0, 10, -86_400_000, 1):
        source.now += step
        minted.append(ids.cuid())
    assert minted == sorted(minted) and len(set(minted)) == len(minted)


def test_seeded_sources_repeat_and_reset_restarts_them() -> None:
    one, two = IdSource(ControllableClock(), seed=5), IdSource(ControllableClock(), seed=5)
    first = [one.cuid() for _ in range(5)] + [one.run_id()]
    assert first == [two.cuid() for _ in range(5)] + [two.run_id()]
    assert first != [IdSource(ControllableClock(), seed=6).cuid() for _ in range(5)] + [""]
    one.reset()
    assert [one.cuid() for _ in range(5)] == first[:5]


def test_environment_ids_are_stable_per_key() -> None:
    assert environment_id("tr_dev_a") == environment_id("tr_dev_a")
    assert environment_id("tr_dev_a") != environment_id("tr_dev_b")
    assert is_cuid(environment_id("tr_prod_whatever"))


def test_clock_advances_sets_freezes_and_resets() -> None:
    source = FakeTime(1_000_000)
    clock = ControllableClock(source)
    assert clock.now_ms() == 1_000_000 and clock.state().is_real
    clock.advance(2.5)
    source.now += 10
    assert clock.now_ms() == 1_002_510
    clock.set(5_000_000, frozen=True)
    source.now += 999
    assert clock.now_ms() == 5_000_000
    clock.advance(-1)
    assert clock.now_ms() == 4_999_000 and clock.state().frozen
    clock.set(9_000_000)
    source.now += 7
    assert clock.now_ms() == 9_000_007
    clock.reset()
    assert clock.now_ms() == source.now and clock.state().is_real


def test_dates_as_javascript_reads_them() -> None:
    day = 4102444800000  # 2100-01-01T00:00:00Z
    readings = {
        None: 0,
        True: 1,
        day: day,
        1.9: 1,
        "2100": day,
        "2100-01": day,
        "2100-01-01": day,
        " 2100-01-01T00:00:00Z ": day,
        "2100-01-01T01:00:00+01:00": day,
        "2100-01-01T00:00:00": day,  # no zone: the server's own, UTC
        "2100/1/1": day,
        "Fri, 01 Jan 2100 00:00:00 GMT": day,
        "+002100-01-01": day,
    }
    for value, expected in readings.items():
        assert js_date_ms(value) == expected, value
    unreadables: list[object] = ["soon", "", "2100-13-01", 1e20, float("nan"), [], {}]
    for unreadable in unreadables:
        assert js_date_ms(unreadable) is None, unreadable
