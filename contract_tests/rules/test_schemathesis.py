"""Schemathesis against the target: every operation with generated inputs and all checks,
then the stateful phase along the spec's links (create → retrieve → update → close).

Three kinds of finding are not counted as failures:

* refusals that only a rule outside the schema explains: an update that sends an
  ``externalId`` other than the stored one (``422``), a schema-valid body over the
  operation's byte limit (close bodies whose ``reason`` is 256 escaped non-ASCII
  characters; channel records whose stored envelope outgrows 1 MiB), channel or
  end-and-continue calls on a session that is closed or expired, and a minted token's
  expiry that is unreadable, past or more than 30 days away;
* a ``413`` answer to invalid data: it is a refusal, but not among the statuses
  schemathesis expects for one;
* on a target not known to follow the docs, behaviour that one row of the fidelity table
  explains as the deployed server's. It is recorded for the summary instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData, UnsupportedMethodResponse

from mock_server.core.specs import api_spec_path

from ..harness.client import TargetInfo, new_key
from ..harness.plugin import REPORT, LiveTarget
from ..harness.report import Report

# A subscription holds its connection open for up to Timeout-Seconds (60 by default):
# test_channels.py covers it with short timeouts instead.
SCHEMA = schemathesis.openapi.from_path(str(api_spec_path())).exclude(
    operation_id_regex="^subscribe_to_"
)
NOT_IN_A_SCHEMA = (
    "externalId cannot be changed after creation; "
    "close this session and create a new one with the desired externalId",
    "Request body too large",
    "Cannot end-and-continue a closed session",
    "Cannot end-and-continue an expired session",
    "Cannot initialize a channel on a closed session",
    "Cannot append to an expired session",
    "Invalid expiration time",
    "Expiration time must be in the future",
    "Expiration time cannot exceed 30 days",
)
NOT_IN_A_SCHEMA_PREFIXES = ("Record metered size",)

pytestmark = pytest.mark.writes


@dataclass
class Running:
    target: TargetInfo
    report: Report
    created: list[str] = field(default_factory=list)


# The target of the test being run: schemathesis's hooks are global, the target is not.
RUNNING: ContextVar[Running | None] = ContextVar("RUNNING", default=None)


def _error(response: Any) -> tuple[str | None, list[Any]]:
    try:
        body = json.loads(response.content)
    except (ValueError, AttributeError):
        return None, []
    if not isinstance(body, dict):
        return None, []
    return body.get("error"), body.get("details") or []


CREATED_AT_BOUNDS = ("filter[createdAt][from]", "filter[createdAt][to]")


def deployed_departure(failure: Any, response: Any) -> str | None:
    """The fidelity-table row that explains ``failure`` as the deployed server's way."""
    error, details = _error(response)
    if isinstance(failure, RejectedPositiveData):
        if error == "Request body is empty":
            return "empty_close_body_rejected"
        if error == "Query Error" and all(
            d.get("path", [""])[0] in CREATED_AT_BOUNDS for d in details
        ):
            return "created_at_bounds_are_numbers"
        if error == "Query Error" and all(
            d.get("path", [""])[0].startswith("filter[") for d in details
        ):
            return "split_comma_filters"
    if (
        isinstance(failure, UnsupportedMethodResponse)
        and failure.failure_reason == "missing_allow_header"
        and failure.method in ("GET", "HEAD")
        and not response.content
    ):
        return "action_only_loader_405"
    if isinstance(failure, AcceptedNegativeData):
        if "/properties/period" in failure.message:
            return "bad_period_ignored"
        if "/createdAt/properties/from" in failure.message or (
            "/createdAt/properties/to" in failure.message
        ):
            return "created_at_bounds_are_numbers"
        if "/properties/expiresAt" in failure.message:
            return "expires_at_coerced"
        if "Content-Type" in failure.message or "media type" in failure.message:
            return "content_type_checked"
    return None


@SCHEMA.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: schemathesis.Case[Any], response: Any
) -> bool:
    """Keep every failure except the two kinds the module docstring names."""
    error, _ = _error(response)
    if isinstance(failure, RejectedPositiveData) and (
        error in NOT_IN_A_SCHEMA or str(error).startswith(NOT_IN_A_SCHEMA_PREFIXES)
    ):
        return False
    if isinstance(failure, AcceptedNegativeData) and response.status_code == 413:
        return False  # a refusal, though not among the statuses schemathesis expects
    running = RUNNING.get()
    row = deployed_departure(failure, response)
    if running is None or row is None or running.target.fidelity == "documented":
        return True
    running.report.observe(running.target.id, row, False, True)
    return False


@SCHEMA.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], response: Any
) -> None:
    """Note every session schemathesis creates, to close it afterwards on a real target."""
    running = RUNNING.get()
    created = case.method.upper() == "POST" and case.path == "/api/v1/sessions"
    if running is not None and created and response.status_code in (200, 201):
        running.created.append(json.loads(response.content)["id"])


@pytest.fixture(scope="session")
def call_kwargs(request: pytest.FixtureRequest, contract_target: LiveTarget) -> dict[str, Any]:
    """Where and as whom schemathesis calls: one environment for the whole run."""
    if contract_target.spec.kind == "inprocess":
        pytest.skip("schemathesis calls over HTTP: the served targets cover the same app")
    dedicated = request.config.getoption("--contract-dedicated-environment")
    if not contract_target.info.is_mock and not dedicated:
        pytest.skip(
            "schemathesis makes up ids and externalIds that may be other people's sessions: "
            "pass --dedicated-environment if this key's environment holds nothing else"
        )
    key = contract_target.key or new_key()
    return {"base_url": contract_target.base_url, "headers": {"Authorization": f"Bearer {key}"}}


@pytest.fixture(autouse=True)
def running(
    request: pytest.FixtureRequest, contract_target: LiveTarget, call_kwargs: dict[str, Any]
) -> Iterator[None]:
    """Lets the hooks know the target, record what they find, and note what they create;
    on a real target, closes what was created."""
    state = Running(contract_target.info, request.config.stash[REPORT])
    token = RUNNING.set(state)
    yield
    RUNNING.reset(token)
    if not contract_target.info.is_mock:
        with httpx.Client(base_url=call_kwargs["base_url"], headers=call_kwargs["headers"]) as http:
            for session_id in state.created:
                http.post(
                    f"/api/v1/sessions/{session_id}/close", json={"reason": "contract cleanup"}
                )


@SCHEMA.parametrize()
def test_every_operation_answers_as_the_spec_says(
    case: schemathesis.Case[Any], call_kwargs: dict[str, Any]
) -> None:
    case.call_and_validate(**call_kwargs)


def test_linked_operations_keep_their_promises(call_kwargs: dict[str, Any]) -> None:
    """Create, then retrieve / update / close what was created, in generated orders."""

    class Machine(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return call_kwargs

    examples = max(10, hypothesis.settings().max_examples // 2)
    Machine.run(settings=hypothesis.settings(max_examples=examples))
