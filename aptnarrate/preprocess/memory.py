"""Give freed memory back to the operating system after a stage's large temporaries.

Ingest, condense and facts allocate and free per-row temporaries of tens of megabytes each
at 10M rows. Freed memory is not returned by itself: Arrow's allocator (mimalloc) keeps
its freed pages, and glibc's heap keeps the freed holes between live arrays (below its
mmap threshold, which rises to 32 MB once a large array was freed). Both then count in
the peak of every later stage: at 10M rows 300 MB after ingest and 220 MB after condense
(measured with /proc/self/status). Returning them costs milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc only (musl has none): absent -> nothing to do
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> None:
    """Return the pages Arrow's pool and the C heap hold free to the OS (best effort)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
