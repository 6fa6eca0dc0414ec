"""Is the dashboard responsive with 100,000 stored sessions and 10 live tails?

    python bench/dashboard.py [--stored 100000] [--tails 10] [--rounds 5]

Serves trigger-mock with ``--stored`` sessions from a seed file, opens ``--tails / 2`` pages
of the dashboard in headless Chromium (the system's ``/usr/bin/chromium``), each tailing one
session's ``.in`` and ``.out`` (so ``--tails`` live tails), keeps appending to those sessions
through the API, and measures in one more page what a user feels:

- the first page of sessions shown after opening the dashboard;
- a search typed into the filter until the table shows its matches;
- a record appended through the API until it shows in a tail;
- the page's main-thread stalls (long tasks over 50 ms) while all of that runs.

Prints one JSON document; docs/dashboard.md quotes a run. Not a test: timings vary by machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processes import SECRET_KEY, write_seed

from mock_server.testing import MockServer, TriggerMock

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def open_session(page: Page, mock: TriggerMock, external_id: str) -> None:
    page.goto(mock.ui_url)
    page.fill("#f-q", external_id)
    cell = page.get_by_role("cell", name=external_id, exact=True)
    page.locator("#sessions tbody tr").filter(has=cell).click()
    expect(page.locator(".channel h3", has_text=".out")).to_contain_text("live")


def append(mock: TriggerMock, external_id: str, text: str) -> None:
    with mock.client() as client:
        answer = client.post(f"/realtime/v1/sessions/{external_id}/in/append", content=text)
        assert answer.status_code == 200, answer.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--tails", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        seed = Path(scratch) / "seed.json"
        write_seed(seed, options.stored)
        started = time.monotonic()
        with MockServer("--seed-file", str(seed)) as fake, sync_playwright() as playwright:
            ready = time.monotonic() - started
            mock = fake.handle(SECRET_KEY)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            # Ids with the most digits: a search for one matches that session only.
            last = options.stored - 1
            tailed = [f"stored-{last - n * 97}" for n in range(options.tails // 2)]
            tail_pages = []
            for external_id in tailed:
                page = browser.new_page()
                open_session(page, mock, external_id)
                tail_pages.append(page)
            stop = threading.Event()

            def keep_appending() -> None:
                n = 0
                while not stop.is_set():
                    append(mock, tailed[n % len(tailed)], f'{{"note": {n}}}')
                    n += 1
                    time.sleep(0.05)

            writer = threading.Thread(target=keep_appending, daemon=True)
            writer.start()
            user = browser.new_page()
            user.add_init_script(LONG_TASKS)
            first_page, search, tail_seen = [], [], []
            for round_ in range(options.rounds):
                began = time.monotonic()
                user.goto(mock.ui_url)
                expect(user.locator("#sessions tbody tr")).to_have_count(50, timeout=30_000)
                first_page.append(time.monotonic() - began)
                wanted = f"stored-{last - 5000 - round_}"
                began = time.monotonic()
                user.fill("#f-q", wanted)
                row = user.locator("#sessions tbody tr").filter(
                    has=user.get_by_role("cell", name=wanted, exact=True)
                )
                expect(row).to_have_count(1)
                search.append(time.monotonic() - began)
                row.click()
                expect(user.locator(".channel h3", has_text=".in")).to_contain_text("live")
                marker = f"round-{round_}-marker"
                began = time.monotonic()
                append(mock, wanted, json.dumps({"mark": marker}))
                expect(user.get_by_label("records on .in")).to_contain_text(marker)
                tail_seen.append(time.monotonic() - began)
            long_tasks: list[float] = user.evaluate("window.__longTasks")
            stop.set()
            writer.join()
            browser.close()
    report: dict[str, Any] = {
        "stored": options.stored,
        "live_tails": len(tailed) * 2 + 2,
        "server_ready_seconds": round(ready, 1),
        "first_page_ms": {"median": ms(statistics.median(first_page)), "max": ms(max(first_page))},
        "search_ms": {"median": ms(statistics.median(search)), "max": ms(max(search))},
        "append_to_tail_ms": {
            "median": ms(statistics.median(tail_seen)),
            "max": ms(max(tail_seen)),
        },
        "long_tasks": {"count": len(long_tasks), "max_ms": round(max(long_tasks, default=0), 1)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
