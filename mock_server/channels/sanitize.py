"""What the deployed server changes in a client's ``.in`` append before storing it.

Only the server's own webhook ingress may mark an action as coming from a webhook (the run
skips validating such actions), so a client's part claiming ``payload.actionSource:
"webhook"`` loses that key and is stored re-serialised, as ``JSON.stringify`` writes it.
Anything else, including text that is not JSON, is stored as sent.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..core.jsoncodec import dump_js_json

_MARKER = '"actionSource"'


def strip_client_webhook_source(part: str) -> str:
    if _MARKER not in part:
        return part
    try:
        record: Any = orjson.loads(part)
    except orjson.JSONDecodeError:
        return part
    payload = record.get("payload") if isinstance(record, dict) else None
    if not isinstance(payload, dict) or payload.get("actionSource") != "webhook":
        return part
    del payload["actionSource"]
    return dump_js_json(record)
