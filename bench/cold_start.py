"""Cold start: ``trigger-mock serve`` and the bare-ASGI reference (``bench/reference.py``
under uvicorn), each spawned by this Python to its first ``201`` on ``POST
/api/v1/sessions``, taken in turns; the medians and their ratio (target: at most 2).

    python bench/cold_start.py [--runs 5] [--json]

``bench/run.py`` reports the same numbers (``processes.cold_starts``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import processes
from tables import COLD_START_TARGET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="cold starts of each (default 5)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    options = parser.parse_args(argv)
    found = processes.cold_starts(options.runs)
    if options.json:
        print(json.dumps(found))
        return 0
    print(f"trigger-mock serve  {found['cold_start_seconds']:.3f} s")
    print(f"reference (uvicorn) {found['reference_cold_start_seconds']:.3f} s")
    print(
        f"ratio               {found['cold_start_ratio']:.2f}x "
        f"(target <= {COLD_START_TARGET:g}x; medians of {options.runs})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
