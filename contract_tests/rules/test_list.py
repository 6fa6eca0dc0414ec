"""GET /api/v1/sessions: order, cursor paging, filters, query errors.

Every list a test makes is scoped to the sessions that test created (by their type), so
the suite never reads anybody else's sessions on a shared target."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from ..harness.client import ContractApi
from .test_create import ROW_KEYS

pytestmark = pytest.mark.anyio


async def make(api: ContractApi, count: int, **fields: Any) -> list[str]:
    """Create ``count`` sessions; their ids, oldest first."""
    return [(await api.created_session(**fields))["id"] for _ in range(count)]


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


def cursor(session_id: str) -> str:
    """The list cursor for a session: its id without the ``session_`` prefix."""
    return session_id.removeprefix("session_")


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def query_error(response: httpx.Response, path: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Query Error"
    assert response.json()["details"][0]["path"] == [path]


@pytest.mark.writes
async def test_list_is_newest_first_and_omits_trigger_config(api: ContractApi) -> None:
    created = await make(api, 3)
    response = await api.list()
    assert ids(response) == created[::-1]
    assert response.json()["pagination"] == {}
    assert list(response.json()["data"][0]) == [k for k in ROW_KEYS if k != "triggerConfig"]


@pytest.mark.writes
async def test_the_default_page_is_twenty_rows(api: ContractApi) -> None:
    created = await make(api, 21)
    first = await api.list()
    assert ids(first) == created[::-1][:20]
    assert first.json()["pagination"] == {"next": cursor(created[1])}
    second = await api.list({"page[after]": first.json()["pagination"]["next"]})
    assert ids(second) == [created[0]]
    assert second.json()["pagination"] == {"previous": cursor(created[0])}


@pytest.mark.writes
async def test_next_cursors_walk_every_row_once(api: ContractApi) -> None:
    created = await make(api, 7)
    seen: list[str] = []
    params: dict[str, str] = {"page[size]": "3"}
    while True:
        page = await api.list(params)
        seen += ids(page)
        following = page.json()["pagination"].get("next")
        if not following:
            break
        params = {"page[size]": "3", "page[after]": following}
    assert seen == created[::-1]


@pytest.mark.writes
async def test_page_before_walks_back_to_the_same_page(api: ContractApi) -> None:
    newest_first = (await make(api, 7))[::-1]
    first = await api.list({"page[size]": 3})
    second = await api.list({"page[size]": 3, "page[after]": first.json()["pagination"]["next"]})
    assert ids(second) == newest_first[3:6]
    assert second.json()["pagination"] == {
        "next": cursor(newest_first[5]),
        "previous": cursor(newest_first[3]),
    }
    back = await api.list(
        {"page[size]": 3, "page[before]": second.json()["pagination"]["previous"]}
    )
    assert ids(back) == ids(first)
    assert back.json()["pagination"] == {"next": cursor(newest_first[2])}


@pytest.mark.writes
async def test_page_before_in_the_middle_has_both_cursors(api: ContractApi) -> None:
    newest_first = (await make(api, 7))[::-1]
    response = await api.list({"page[size]": 2, "page[before]": cursor(newest_first[5])})
    assert ids(response) == newest_first[3:5]
    assert response.json()["pagination"] == {
        "next": cursor(newest_first[4]),
        "previous": cursor(newest_first[3]),
    }


@pytest.mark.writes
async def test_cursors_at_the_ends_of_the_list(api: ContractApi) -> None:
    created = await make(api, 3)
    past_the_newest = await api.list({"page[after]": "zzzz"})
    short_backwards = await api.list({"page[size]": 5, "page[before]": cursor(created[0])})
    assert ids(past_the_newest) == created[::-1]
    assert ids(short_backwards) == created[:0:-1]
    api.observe(
        "edge_cursors_deployed_style",
        documented=past_the_newest.json()["pagination"] == {}
        and short_backwards.json()["pagination"] == {"next": cursor(created[1])},
        deployed=past_the_newest.json()["pagination"] == {"previous": cursor(created[2])}
        and short_backwards.json()["pagination"] == {},
    )


@pytest.mark.writes
async def test_an_unknown_cursor_is_a_position_not_an_error(api: ContractApi) -> None:
    await make(api, 2)
    response = await api.list({"page[after]": "a"})
    assert response.status_code == 200
    assert response.json() == {"data": [], "pagination": {}}


@pytest.mark.writes
async def test_empty_cursors_are_ignored(api: ContractApi) -> None:
    created = await make(api, 2)
    response = await api.list({"page[after]": "", "page[before]": cursor(created[0])})
    assert ids(response) == [created[1]]


async def test_both_cursors_at_once_are_refused(api: ContractApi) -> None:
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
    api: ContractApi, size: str, code: str, message: str
) -> None:
    response = await api.list({"page[size]": size})
    query_error(response, "page[size]")
    detail = response.json()["details"][0]
    assert (detail["code"], detail["message"]) == (code, message)


@pytest.mark.writes
async def test_page_size_limits_the_page(api: ContractApi) -> None:
    created = await make(api, 4)
    response = await api.list({"page[size]": "1"})
    assert ids(response) == [created[-1]]
    assert response.json()["pagination"] == {"next": cursor(created[-1])}
    assert len(ids(await api.list({"page[size]": "100"}))) == 4


@pytest.mark.writes
async def test_filters_by_type_task_external_id_and_tags(api: ContractApi) -> None:
    chat, inbox = f"{api.naming.type}.chat", f"{api.naming.type}.inbox"
    red, blue, bee = api.ext("red"), api.ext("blue"), api.ext("bee")
    a = (await api.created_session(type=chat, tags=[red, "big"]))["id"]
    b = (await api.created_session(type=inbox, tags=[blue], externalId=bee))["id"]
    c = (await api.created_session(type=inbox, tags=[red]))["id"]
    assert ids(await api.list({"filter[type]": inbox})) == [c, b]
    assert ids(await api.list({"filter[type]": inbox, "filter[externalId]": bee})) == [b]
    assert ids(await api.list({"filter[type]": chat, "filter[tags]": red})) == [a]
    assert ids(await api.list({"filter[type]": inbox, "filter[tags]": red})) == [c]
    assert ids(await api.list({"filter[type]": inbox, "filter[externalId]": api.ext("no")})) == []
    assert ids(await api.list({"filter[type]": f"{api.naming.type}.none"})) == []


@pytest.mark.writes
async def test_filter_by_task_identifier(api: ContractApi) -> None:
    created = await make(api, 2)
    assert ids(await api.list({"filter[taskIdentifier]": api.task_identifier})) == created[::-1]
    assert ids(await api.list({"filter[taskIdentifier]": api.ext("other-task")})) == []


@pytest.mark.writes
async def test_the_tag_filter_follows_updates(api: ContractApi) -> None:
    old, new = api.ext("old"), api.ext("new")
    session = (await api.created_session(tags=[old]))["id"]
    await api.update(session, {"tags": [new]})
    assert ids(await api.list({"filter[tags]": old})) == []
    assert ids(await api.list({"filter[tags]": new})) == [session]


@pytest.mark.writes
async def test_list_filter_values_as_commas_and_repeated_keys(api: ContractApi) -> None:
    red, blue = api.ext("red"), api.ext("blue")
    red_one = (await api.created_session(tags=[red]))["id"]
    blue_one = (await api.created_session(tags=[blue]))["id"]
    literal = (await api.created_session(tags=[f"{red},{blue}"]))["id"]
    commas = await api.list({"filter[tags]": f"{red},{blue}"})
    repeated = await api.list([("filter[tags]", red), ("filter[tags]", blue)])
    statuses = await api.list({"filter[status]": "ACTIVE,CLOSED"})
    api.observe(
        "split_comma_filters",
        documented=ids(commas) == [blue_one, red_one]
        and ids(repeated) == [blue_one, red_one]
        and ids(statuses) == [literal, blue_one, red_one],
        deployed=ids(commas) == [literal]
        and ids(repeated) == [blue_one]
        and statuses.status_code == 400,
    )


@pytest.mark.writes
async def test_the_status_filter_is_derived_from_closed_at(api: ContractApi) -> None:
    active = (await api.created_session())["id"]
    external_id = api.ext()
    closed = (await api.created_session(externalId=external_id))["id"]
    await api.close(external_id)
    assert ids(await api.list({"filter[status]": "ACTIVE"})) == [active]
    assert ids(await api.list({"filter[status]": "CLOSED"})) == [closed]
    assert ids(await api.list({"filter[status]": "EXPIRED"})) == []


@pytest.mark.mock_only
async def test_the_status_filter_is_derived_from_expires_at(api: ContractApi) -> None:
    await api.set_clock(set="2040-01-01T00:00:00.000Z")
    active = (await api.created_session())["id"]
    expiring = (await api.created_session(expiresAt="2040-01-01T01:00:00.000Z"))["id"]
    assert ids(await api.list({"filter[status]": "EXPIRED"})) == []
    await api.set_clock(advanceSeconds=7200)
    assert ids(await api.list({"filter[status]": "ACTIVE"})) == [active]
    assert ids(await api.list({"filter[status]": "EXPIRED"})) == [expiring]


async def test_an_unknown_status_is_a_query_error(api: ContractApi) -> None:
    response = await api.list({"filter[status]": "FOOBAR"})
    query_error(response, "filter[status]")
    assert response.json()["details"][0]["message"] == (
        "Invalid enum value. Expected 'ACTIVE' | 'CLOSED' | 'EXPIRED', received 'FOOBAR'"
    )


@pytest.mark.mock_only
async def test_created_at_from_and_to_are_inclusive_epoch_ms(api: ContractApi) -> None:
    await api.set_clock(set="2041-01-01T00:00:00.000Z", frozen=True)
    first = await api.created_session()
    await api.set_clock(advanceSeconds=10, frozen=True)
    second = await api.created_session()
    await api.set_clock(advanceSeconds=10, frozen=True)
    third = await api.created_session()
    low, high = epoch_ms(second["createdAt"]), epoch_ms(third["createdAt"])
    window = {"filter[createdAt][from]": str(low), "filter[createdAt][to]": str(high)}
    assert ids(await api.list(window)) == [third["id"], second["id"]]
    assert ids(await api.list({"filter[createdAt][to]": str(low - 1)})) == [first["id"]]


async def test_created_at_bounds_given_as_iso_dates(api: ContractApi) -> None:
    response = await api.list({"filter[createdAt][to]": "2099-01-01T00:00:00.000Z"})
    details = response.json().get("details") or [{}]
    api.observe(
        "created_at_bounds_are_numbers",
        documented=response.status_code == 200,
        deployed=response.status_code == 400
        and details[0].get("message") == "Expected number, received nan"
        and details[0].get("path") == ["filter[createdAt][to]"],
    )


@pytest.mark.mock_only
async def test_created_at_period_is_a_window_ending_now(api: ContractApi) -> None:
    await api.set_clock(set="2042-01-01T00:00:00.000Z")
    old = (await api.created_session())["id"]
    await api.set_clock(advanceSeconds=3 * 3600)
    new = (await api.created_session())["id"]
    assert ids(await api.list({"filter[createdAt][period]": "1h"})) == [new]
    assert ids(await api.list({"filter[createdAt][period]": "1h30m"})) == [new]
    assert ids(await api.list({"filter[createdAt][period]": "4 hours"})) == [new, old]


@pytest.mark.writes
async def test_an_unreadable_period(api: ContractApi) -> None:
    created = await make(api, 1)
    response = await api.list({"filter[createdAt][period]": "soon"})
    api.observe(
        "bad_period_ignored",
        documented=response.status_code == 400
        and response.json()["details"][0]["path"] == ["filter[createdAt][period]"],
        deployed=response.status_code == 200 and ids(response) == created,
    )
