"""How the process asks the C allocator for memory.

glibc serves a large allocation (a request body, a record's JSON) from its own mapping, but
after such a mapping is freed it raises the size it maps at, up to 32 MiB, and from then on
serves large blocks from the heap, where freed ones are kept rather than returned. A fake
flooded with 900 KB appends then held some 55 MB more than its records and journal
(measured with 600 of them under a 64 MiB record budget: +159 MB against +105 MB with the
size fixed). Fixing the size at glibc's own starting value keeps large blocks mapped, so
what is freed goes back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Final

M_MMAP_THRESHOLD: Final = -3
MMAP_THRESHOLD_BYTES: Final = 128 * 1024

logger = logging.getLogger("trigger_mock")


def fix_large_allocations() -> bool:
    """Fix glibc's mmap threshold (a no-op elsewhere); whether it was set."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    if not done:
        logger.debug("mallopt(M_MMAP_THRESHOLD) refused; large blocks follow glibc's defaults")
    return done
