"""What the failures layer leaves in a request's scope for what runs after it: the id of
the fault rule that fired (the journal shows it), and a cut an event stream must make."""

from __future__ import annotations

from typing import Final

from starlette.types import Scope

FAULT_ID: Final = "trigger_mock.fault"
FAULT_HEADER: Final = b"x-trigger-mock-fault"
"""On an answer a fault rule made or changed (its status, an injected ``429``, a cut
stream): the rule's id, so a client (or ``trigger-mock proxy``) can tell it from the
API's own."""
CUT_AFTER_RECORDS: Final = "trigger_mock.cut_after_records"


def cut_after_records(scope: Scope) -> int | None:
    """How many records an event stream may send before it is cut (a fault's
    ``cutAfterRecords``), or ``None``."""
    value = scope.get(CUT_AFTER_RECORDS)
    return value if isinstance(value, int) else None
