"""Chunked work on the machine's cores: the one place onemap runs code in threads.

shapely 2 releases the GIL inside its vectorised GEOS calls (tree queries with a predicate,
buffers, offset curves) and numpy does inside its large array operations, so the corridor
graph's cold build runs its heavy, independent chunks on every core with threads — no copy of
the polygons per process, no pickling (issue 18). ``ONEMAP_THREADS`` sets the number of threads
(``1``: run in the calling thread, e.g. to profile); the default is the number of cores.

Threads that allocate make glibc's malloc open an arena per thread, each keeping freed memory
of its own: the Xinwu build peaked 210 MiB higher on two threads until the arenas were capped
(``mallopt(M_ARENA_MAX)``, once, before the first pool; the ``MALLOC_ARENA_MAX`` environment
variable does the same for a whole process). The cap is one arena per worker plus one for the
calling thread: capped at the workers alone, the calling thread and a worker contend for one
arena and GEOS-heavy chunks run up to 3× slower (Xinwu's graph 12.5 s against 11 s, for about
30 MiB more peak).

>>> map_chunks(lambda lo, hi: list(range(lo, hi)), 5, 2)
[[0, 1], [2, 3], [4]]
>>> chunked(np.add, np.arange(5), np.ones(5), size=2).tolist()
[1.0, 2.0, 3.0, 4.0, 5.0]
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

__all__ = [
    "chunk_size",
    "chunked",
    "collector_paused",
    "map_chunks",
    "query_nearest",
    "release_memory",
    "threads",
]

CHUNK = 8192  # items per chunk of a vectorised call at most (speed only)
MIN_CHUNK = 512  # items per chunk at least: below it a thread costs more than it saves

T = TypeVar("T")


def threads() -> int:
    """Threads for chunked work: ``ONEMAP_THREADS``, else the cores this process may use."""
    given = os.environ.get("ONEMAP_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@functools.cache
def _cap_arenas(n: int) -> bool:
    """Cap glibc's malloc arenas at ``n`` (see the module docstring); False where there is no
    glibc or the environment already sets ``MALLOC_ARENA_MAX``."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = getattr(_libc(), "mallopt", None)
    m_arena_max = -8  # glibc's malloc.h
    return bool(mallopt and mallopt(m_arena_max, max(1, n)))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def release_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``); False where
    there is no glibc.

    A phase of the cold build frees hundreds of MiB of temporary arrays and geometries, but
    glibc keeps the freed pages of its arenas mapped, so the process stays as large as its
    largest phase and the next phase grows on top of it: Xinwu's graph held 623 MiB after its
    build, 374 MiB once trimmed (issue 18). Calling it between phases keeps the peak near the
    largest single phase. It costs a walk over the free lists (milliseconds).
    """
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim(0)
    return True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a phase that makes objects by the million:
    the corridor graph's cold build, the graph cache's reads and writes, a long route's verdict
    rows, bulk readiness (the one pause of onemap; it was two, the verdict's own and the build's).

    Every shapely geometry is an object the collector tracks, and each few hundred new ones
    start a collection; the older generations' collections walk every tracked object of the
    process — the map's polygons, the frames, the geometries made so far — holding the GIL all
    the while. During the corridor graph's cold build they took a fifth of the CPU time and
    kept the second core waiting for the GIL: Xinwu's graph took 8.2–9.1 s with the collector,
    6.7–7.7 s without (issue 18). The phase makes few reference cycles (arrays and geometries
    hold none), and the collector resumes at the end.

    At the end, the objects made in the pause join the oldest generation at once
    (``gc.freeze()`` then ``gc.unfreeze()``: two list splices). Left in the youngest, the first
    collection after the pause walked every one of them — 160 ms after the answer of a
    50k-vertex route, for rows that are garbage once sent. The oldest generation's next full
    collection sees them, as it sees every long-lived object; so does any reference cycle made
    meanwhile, which waits for that collection instead of a young one. This is skipped when
    something else keeps objects frozen (a pre-fork server may: unfreezing would undo it).
    A permanent ``gc.freeze()`` of a warmed server was tried and is not used: it made one
    preview in twenty wait 40 ms on the city map (p95 45 ms against 5 ms, one request at a time).

    Nested and concurrent uses are safe: only the outermost one that found the collector
    running starts it again.

    >>> with collector_paused():
    ...     gc.isenabled()
    False
    """
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def chunk_size(n: int, *, most: int = CHUNK, least: int = MIN_CHUNK, per_thread: int = 1) -> int:
    """Items per chunk for ``n`` items: ``per_thread`` chunks a thread, between ``least`` and
    ``most`` items (the one chunk-size rule of chunked work).

    >>> chunk_size(10, most=16_384), chunk_size(10**9, most=16_384)
    (512, 16384)
    """
    return min(most, max(least, -(-n // (per_thread * threads()))))


def map_chunks(fn: Callable[[int, int], T], n: int, size: int) -> list[T]:
    """``fn(lo, hi)`` over the chunks ``[0, size)``, ``[size, 2·size)``… of ``range(n)``.

    Parameters
    ----------
    fn
        Work on one chunk; it must not change shared state (chunks run at the same time).
    n
        Number of items.
    size
        Items per chunk (at least 1).

    Returns
    -------
    list
        The chunks' results in chunk order (an empty list for ``n == 0``).
    """
    bounds = [(lo, min(lo + size, n)) for lo in range(0, n, max(1, size))]
    workers = min(threads(), len(bounds))
    if workers <= 1:
        return [fn(lo, hi) for lo, hi in bounds]
    _cap_arenas(threads() + 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onemap") as pool:
        return list(pool.map(lambda b: fn(*b), bounds))


def chunked(
    fn: Callable[..., np.ndarray], *arrays: np.ndarray, size: int | None = None
) -> np.ndarray:
    """A vectorised ``fn`` over aligned chunks of ``arrays``, results joined in order.

    For element-wise functions (``shapely.buffer(lines, distances)``): the same answer as
    ``fn(*arrays)``, computed on every core.

    Parameters
    ----------
    fn
        An element-wise function of the arrays, returning one array element per item.
    *arrays
        Arrays of the same length.
    size
        Items per chunk (default: two chunks a thread, between :data:`MIN_CHUNK` and
        :data:`CHUNK` items).

    Returns
    -------
    numpy.ndarray
        ``fn(*arrays)``.
    """
    n = len(arrays[0])
    if size is None:
        # at most CHUNK items, and a few chunks a thread even for a few thousand items: a GEOS
        # buffer of a district's 20k road pieces is one chunk too few to keep two cores busy
        size = chunk_size(n, per_thread=2)
    if n <= size:
        return fn(*arrays)
    parts = map_chunks(lambda lo, hi: fn(*(a[lo:hi] for a in arrays)), n, size)
    return np.concatenate(parts)


def query_nearest(tree, geoms: np.ndarray, *, size: int | None = None, **options) -> np.ndarray:
    """``tree.query_nearest(geoms, **options)`` of a shapely ``STRtree``, over chunks of
    ``geoms`` on every core; the same (2, n) array of (input index, tree index) pairs.

    Parameters
    ----------
    tree
        A ``shapely.STRtree``.
    geoms
        The geometries to find the nearest tree geometries of.
    size
        Geometries per chunk (default :data:`CHUNK`).
    **options
        Passed on (``max_distance``, ``all_matches``…; not ``return_distance``).

    Returns
    -------
    numpy.ndarray
        Pairs sorted by input index, as ``query_nearest`` gives them.
    """
    size = CHUNK if size is None else size
    if len(geoms) <= size:
        return tree.query_nearest(geoms, **options)

    def part(lo: int, hi: int) -> np.ndarray:
        found = tree.query_nearest(geoms[lo:hi], **options)
        return found + np.array([[lo], [0]], dtype=found.dtype)

    return np.concatenate(map_chunks(part, len(geoms), size), axis=1)
