"""GET /api/v1/sessions: order, cursor paging, filters, query errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support import ROW_KEYS, Api

pytestmark = pytest.mark.anyio


async def make(api: Api, count: int, **fields: Any) -> list[str]:
    """Create ``count`` sessions; their ids, oldest first."""
    return [(await api.created(**fields))["id"] for _ in range(count)]


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


def internal(session_id: str) -> str:
    return session_id.removeprefix("session_")


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


async def test_list_is_newest_first_and_omits_trigger_config(api: Api) -> None:
    created = await make(api, 3)
    response = await api.list()
    assert ids(response) == created[::-1]
    assert response.json()["pagination"] == {}
    row = response.json()["data"][0]
    assert "triggerConfig" not in row
    assert list(row) == [key for key in ROW_KEYS if key != "triggerConfig"]


async def test_default_page_is_twenty_and_next_walks_every_row_once(api: Api) -> None:
    created = await make(api, 25)
    first = await api.list()
    assert ids(first) == created[::-1][:20]
    cursor = first.json()["pagination"]["next"]
    assert cursor == internal(created[5])
    assert "previous" not in first.json()["pagination"]
    second = await api.list({"page[after]": cursor})
    assert ids(second) == created[::-1][20:]
    assert second.json()["pagination"] == {"previous": internal(created[4])}


async def test_page_before_walks_back_to_the_same_page(api: Api) -> None:
    created = await make(api, 12)
    newest_first = created[::-1]
    first = await api.list({"page[size]": 5})
    second = await api.list({"page[size]": 5, "page[after]": first.json()["pagination"]["next"]})
    assert ids(second) == newest_first[5:10]
    assert second.json()["pagination"] == {
        "next": internal(newest_first[9]),
        "previous": internal(newest_first[5]),
    }
    back = await api.list(
        {"page[size]": 5, "page[before]": second.json()["pagination"]["previous"]}
    )
    assert ids(back) == ids(first)
    assert back.json()["pagination"] == {"next": internal(newest_first[4])}


async def test_page_before_in_the_middle_has_both_cursors(api: Api) -> None:
    created = await make(api, 12)
    newest_first = created[::-1]
    response = await api.list({"page[size]": 3, "page[before]": internal(newest_first[8])})
    assert ids(response) == newest_first[5:8]
    assert response.json()["pagination"] == {
        "next": internal(newest_first[7]),
        "previous": internal(newest_first[5]),
    }


async def test_cursors_at_the_ends_of_the_list(api: Api) -> None:
    created = await make(api, 3)
    past_the_newest = await api.list({"page[after]": "zzzz"})
    short_backwards = await api.list({"page[size]": 5, "page[before]": internal(created[0])})
    assert ids(past_the_newest) == created[::-1]
    assert ids(short_backwards) == created[:0:-1]
    if api.deployed:
        assert past_the_newest.json()["pagination"] == {"previous": internal(created[2])}
        assert short_backwards.json()["pagination"] == {}
    else:
        assert past_the_newest.json()["pagination"] == {}
        assert short_backwards.json()["pagination"] == {"next": internal(created[1])}


async def test_an_unknown_cursor_is_a_position_not_an_error(api: Api) -> None:
    await make(api, 2)
    response = await api.list({"page[after]": "a"})
    assert response.status_code == 200
    assert response.json() == {"data": [], "pagination": {}}


async def test_empty_cursors_are_ignored(api: Api) -> None:
    created = await make(api, 2)
    assert ids(await api.list({"page[after]": "", "page[before]": internal(created[0])})) == [
        created[1]
    ]


async def test_both_cursors_at_once_are_refused(api: Api) -> None:
    response = await api.list({"page[after]": "a", "page[before]": "b"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Query Error",
        "details": [
            {
                "code": "custom",
                "message": "Cannot pass both page[after] and page[before] on the same request",
                "path": ["page[before]"],
            }
        ],
    }


@pytest.mark.parametrize(
    ("size", "code", "message"),
    [
        ("0", "too_small", "Number must be greater than or equal to 1"),
        ("101", "too_big", "Number must be less than or equal to 100"),
        ("abc", "invalid_type", "Expected number, received nan"),
        ("2.5", "invalid_type", "Expected integer, received float"),
    ],
)
async def test_page_size_must_be_between_1_and_100(
    api: Api, size: str, code: str, message: str
) -> None:
    response = await api.list({"page[size]": size})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Query Error",
        "details": [{"code": code, "message": message, "path": ["page[size]"]}],
    }


async def test_page_size_limits_the_page(api: Api) -> None:
    created = await make(api, 4)
    response = await api.list({"page[size]": "1"})
    assert ids(response) == [created[-1]]
    assert response.json()["pagination"] == {"next": internal(created[-1])}
    assert len(ids(await api.list({"page[size]": "100"}))) == 4


async def test_filters_by_type_task_external_id_and_tags(api: Api) -> None:
    a = (await api.created(type="chat.agent", taskIdentifier="one", tags=["red", "big"]))["id"]
    b = (await api.created(type="inbox", taskIdentifier="two", tags=["blue"], externalId="bee"))[
        "id"
    ]
    c = (await api.created(type="inbox", taskIdentifier="one", tags=["red"]))["id"]
    assert ids(await api.list({"filter[type]": "inbox"})) == [c, b]
    assert ids(await api.list({"filter[taskIdentifier]": "one"})) == [c, a]
    assert ids(await api.list({"filter[tags]": "red"})) == [c, a]
    assert ids(await api.list({"filter[externalId]": "bee"})) == [b]
    assert ids(await api.list({"filter[externalId]": "nobody"})) == []
    assert ids(await api.list({"filter[type]": "inbox", "filter[tags]": "red"})) == [c]
    assert ids(await api.list({"filter[type]": "nothing"})) == []


async def test_tag_filter_follows_updates(api: Api) -> None:
    session = (await api.created(tags=["old"]))["id"]
    await api.update(session, {"tags": ["new"]})
    assert ids(await api.list({"filter[tags]": "old"})) == []
    assert ids(await api.list({"filter[tags]": "new"})) == [session]


async def test_list_values_as_commas_and_repeated_keys(api: Api) -> None:
    red = (await api.created(tags=["red"]))["id"]
    blue = (await api.created(tags=["blue"]))["id"]
    literal = (await api.created(tags=["red,blue"]))["id"]
    commas = await api.list({"filter[tags]": "red,blue"})
    repeated = await api.list([("filter[tags]", "red"), ("filter[tags]", "blue")])
    statuses = await api.list({"filter[status]": "ACTIVE,CLOSED"})
    if api.deployed:
        assert ids(commas) == [literal]
        assert ids(repeated) == [blue]
        assert statuses.status_code == 400
        assert statuses.json()["details"][0]["path"] == ["filter[status]"]
    else:
        assert ids(commas) == [blue, red]
        assert ids(repeated) == [blue, red]
        assert ids(statuses) == [literal, blue, red]


async def test_status_filter_is_derived_from_closed_at_and_expires_at(api: Api) -> None:
    await api.set_clock(set="2040-01-01T00:00:00.000Z")
    active = (await api.created())["id"]
    closed = (await api.created(externalId="shut"))["id"]
    expiring = (await api.created(expiresAt="2040-01-01T01:00:00.000Z"))["id"]
    await api.close("shut")
    assert ids(await api.list({"filter[status]": "EXPIRED"})) == []
    await api.set_clock(advanceSeconds=7200)
    assert ids(await api.list({"filter[status]": "ACTIVE"})) == [active]
    assert ids(await api.list({"filter[status]": "CLOSED"})) == [closed]
    assert ids(await api.list({"filter[status]": "EXPIRED"})) == [expiring]


async def test_an_unknown_status_is_a_query_error(api: Api) -> None:
    response = await api.list({"filter[status]": "FOOBAR"})
    assert response.status_code == 400
    assert response.json()["error"] == "Query Error"
    assert response.json()["details"] == [
        {
            "code": "invalid_enum_value",
            "message": (
                "Invalid enum value. Expected 'ACTIVE' | 'CLOSED' | 'EXPIRED', received 'FOOBAR'"
            ),
            "path": ["filter[status]"],
        }
    ]


async def test_created_at_from_and_to_are_inclusive_epoch_ms(api: Api) -> None:
    await api.set_clock(set="2041-01-01T00:00:00.000Z", frozen=True)
    first = await api.created()
    await api.set_clock(advanceSeconds=10, frozen=True)
    second = await api.created()
    await api.set_clock(advanceSeconds=10, frozen=True)
    third = await api.created()
    low, high = epoch_ms(second["createdAt"]), epoch_ms(third["createdAt"])
    window = {"filter[createdAt][from]": str(low), "filter[createdAt][to]": str(high)}
    assert ids(await api.list(window)) == [third["id"], second["id"]]
    iso = {"filter[createdAt][to]": first["createdAt"]}
    assert ids(await api.list(iso)) == [first["id"]]


async def test_created_at_period_is_a_window_ending_now(api: Api) -> None:
    await api.set_clock(set="2042-01-01T00:00:00.000Z")
    old = (await api.created())["id"]
    await api.set_clock(advanceSeconds=3 * 3600)
    new = (await api.created())["id"]
    assert ids(await api.list({"filter[createdAt][period]": "1h"})) == [new]
    assert ids(await api.list({"filter[createdAt][period]": "1h30m"})) == [new]
    assert ids(await api.list({"filter[createdAt][period]": "4 hours"})) == [new, old]
    bad = await api.list({"filter[createdAt][period]": "soon"})
    if api.deployed:
        assert ids(bad) == [new, old]
    else:
        assert bad.status_code == 400
        assert bad.json()["details"][0]["path"] == ["filter[createdAt][period]"]
