"""Bytes per stored session: fill a store through the real create path and measure.

    python bench/memory.py [COUNT]

Reports the Python heap (tracemalloc) and resident-set growth per session, for sessions
shaped like the SDK's `sessions.start` (externalId, tags, a small triggerConfig)."""

from __future__ import annotations

import gc
import json
import resource
import sys
import tracemalloc

from mock_server.clock import ControllableClock
from mock_server.ids import IdSource
from mock_server.session_input import NewSession
from mock_server.store import SessionStore


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def fill(count: int) -> SessionStore:
    clock = ControllableClock()
    store = SessionStore(clock, IdSource(clock))
    body = json.dumps(
        {
            "type": "chat.agent",
            "taskIdentifier": "my-chat",
            "triggerConfig": {
                "basePayload": {"chatId": "chat-0000000"},
                "tags": ["chat:chat-0000000"],
            },
            "tags": ["user:42"],
        }
    )
    for i in range(count):
        data = json.loads(body)  # a fresh parse per request, as the server does
        store.create(
            "env",
            NewSession(
                type=data["type"],
                task_identifier=data["taskIdentifier"],
                trigger_config=data["triggerConfig"],
                external_id=f"chat-{i:07d}",
                tags=data["tags"],
            ),
        )
    return store


def main(count: int) -> dict[str, float]:
    gc.collect()
    rss_before = rss_kib()
    kept = fill(count)
    gc.collect()
    rss = (rss_kib() - rss_before) * 1024
    del kept
    gc.collect()
    tracemalloc.start()
    kept = fill(count)
    gc.collect()
    heap, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kept.count() == count
    return {
        "sessions": count,
        "heap_bytes_per_session": round(heap / count),
        "rss_bytes_per_session": round(rss / count),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)))
