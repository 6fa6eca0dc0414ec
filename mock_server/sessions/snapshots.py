"""Chat snapshots: the one object a ``chat.agent`` keeps per session in the object store,
reached through short-lived presigned URLs.

The real server presigns S3 URLs for ``sessions/{id}/snapshot.json``; the fake is its own
object store. A grant names the method, the object and when it was issued, signed with a
key only the fake knows (the environment's secret key), and lapses after
:data:`PRESIGN_SECONDS` on the fake's clock, as the real presign does. Refusals are S3's
(:class:`ObjectRefused`), since the caller is talking to an object store, not the API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

PRESIGN_SECONDS: Final = 300
"""How long a presigned snapshot URL works: the server presigns for five minutes."""
MAX_SNAPSHOT_BYTES: Final = 16 * 1024 * 1024
"""The fake's cap on one snapshot (the real store takes far more; a test never needs to)."""
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
ALGORITHM: Final = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class Snapshot:
    body: bytes
    content_type: str
    stored_at: int
    """Epoch milliseconds."""

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.body, usedforsecurity=False).hexdigest() + '"'


class ObjectRefused(Exception):
    """An object-store refusal, in S3's words (``<Error><Code>…``)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def amz_date(ms: int) -> str:
    """``X-Amz-Date``'s basic ISO 8601 form, to the second: ``20301231T235959Z``."""
    moment = dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def parse_amz_date(text: str) -> int | None:
    try:
        moment = dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) * 1000


@dataclass(frozen=True, slots=True)
class Grant:
    """What a presigned URL allows: ``method`` on ``object_path``, from ``issued_ms`` for
    ``seconds``."""

    method: str
    object_path: str
    issued_ms: int
    seconds: int = PRESIGN_SECONDS

    def signature(self, key: bytes) -> str:
        text = "\n".join(
            (ALGORITHM, self.method, self.object_path, amz_date(self.issued_ms), str(self.seconds))
        )
        return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def query(self, key: bytes) -> dict[str, str]:
        """The ``X-Amz-*`` parameters that carry this grant."""
        return {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Date": amz_date(self.issued_ms),
            "X-Amz-Expires": str(self.seconds),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self.signature(key),
        }


def check_grant(
    method: str, object_path: str, query: dict[str, str], key: bytes | None, now_ms: int
) -> None:
    """Refuse a request to ``object_path`` unless ``query`` carries a live grant for it,
    signed with ``key`` (``None``: the environment is unknown, so nothing is signed)."""
    if not query.get("X-Amz-Signature") or query.get("X-Amz-Algorithm") != ALGORITHM:
        raise ObjectRefused(403, "AccessDenied", "Query-string authentication requires a signature")
    issued = parse_amz_date(query.get("X-Amz-Date", ""))
    seconds_text = query.get("X-Amz-Expires", "")
    if issued is None or not seconds_text.isdigit() or not seconds_text.isascii():
        raise ObjectRefused(
            400, "AuthorizationQueryParametersError", "Malformed X-Amz-Date or X-Amz-Expires"
        )
    grant = Grant(method, object_path, issued, int(seconds_text))
    if key is None or not hmac.compare_digest(grant.signature(key), query["X-Amz-Signature"]):
        raise ObjectRefused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        )
    if now_ms >= issued + grant.seconds * 1000:
        raise ObjectRefused(403, "AccessDenied", "Request has expired")
