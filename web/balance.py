"""Even shares of the kept-alive connections between ``onemap serve --workers N`` processes.

uvicorn's workers accept from one shared listening socket: a burst of new connections (a load
generator's sixteen, a proxy's pool) goes to whichever worker calls ``accept`` first, often all
to one, and kept-alive connections stay where they landed, so one worker serves most requests
while the other idles (measured on the city: splits of 16/0 and 12/4 as often as 8/8).

:class:`BalancedHttpToolsProtocol` (uvicorn's httptools protocol, configured by
:func:`onemap.cli.serve.serve` with several workers) publishes each worker's number of open
connections in a small file of a folder the workers share (:class:`Shares`). A worker holding
more than its even share of all of them (``ceil(total / workers)``) answers the request it is
reading with ``Connection: close`` (HTTP/1.1 allows a server to close after any response): the
client reconnects, and the connection lands again on whichever worker accepts first — the idler
one, usually; one that is over its share passes it on the same way. No request is refused or
answered differently; a client pays one new TCP connection.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import time
from pathlib import Path
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ENV_SHARES", "ENV_WORKERS", "BalancedHttpToolsProtocol", "Shares"]

ENV_SHARES = "ONEMAP_SERVE_SHARES"  # the folder of the workers' connection counts
ENV_WORKERS = "ONEMAP_SERVE_WORKERS"  # how many workers share it
MAX_SLOTS = 256  # slot files a folder may hold (restarted workers take fresh ones)
# How long a worker trusts the total it read (tuning): reads are a few small files.
TOTAL_TTL_S = 0.05
_RECORD = struct.Struct("<qq")  # pid, open connections
LOG = logging.getLogger("onemap.web")


class Shares:
    """The open connections of every worker, one file per worker in ``folder``.

    Parameters
    ----------
    folder
        The folder the workers share (created by the serving process).
    workers
        How many workers serve.
    """

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = Path(folder)
        self.workers = max(1, workers)
        self.pid = os.getpid()
        self._fd = self._claim()
        self._total = 0
        self._read_at = -math.inf

    def _claim(self) -> int:
        for i in range(MAX_SLOTS):
            try:  # O_EXCL: one worker per slot, whoever creates it first
                fd = os.open(self.folder / f"{i}.slot", os.O_CREAT | os.O_EXCL | os.O_RDWR)
            except FileExistsError:
                continue
            os.pwrite(fd, _RECORD.pack(self.pid, 0), 0)
            return fd
        raise RuntimeError(f"no free connection-share slot in {self.folder}")

    def publish(self, open_connections: int) -> None:
        """Record this worker's number of open connections."""
        os.pwrite(self._fd, _RECORD.pack(self.pid, open_connections), 0)

    def total(self) -> int:
        """Open connections of the live workers (read at most every TOTAL_TTL_S)."""
        now = time.monotonic()
        if now - self._read_at < TOTAL_TTL_S:
            return self._total
        total = 0
        for path in self.folder.glob("*.slot"):
            try:
                pid, count = _RECORD.unpack(path.read_bytes()[: _RECORD.size])
            except (OSError, struct.error):
                continue
            if pid == self.pid or _alive(pid):
                total += count
        self._total, self._read_at = total, now
        return total

    def over_share(self, open_connections: int) -> bool:
        """Whether a worker with ``open_connections`` holds more than its even share."""
        return open_connections > math.ceil(self.total() / self.workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_shares: Shares | None = None
_unavailable = False  # the folder could not be used: no balancing in this worker


def shares() -> Shares | None:
    """This worker's :class:`Shares` from the environment (None when not configured)."""
    global _shares, _unavailable
    folder, workers = os.environ.get(ENV_SHARES), os.environ.get(ENV_WORKERS)
    if _shares is None and not _unavailable and folder and workers:
        try:
            _shares = Shares(Path(folder), int(workers))
        except (OSError, ValueError, RuntimeError):  # serve as uvicorn would, unbalanced
            _unavailable = True
            LOG.warning("connection shares unavailable in %s", folder, exc_info=True)
    return _shares


class BalancedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that keeps this worker's share of connections even."""

    # Connections of this worker told to close and not closed yet (they count as gone).
    closing: ClassVar[set[BalancedHttpToolsProtocol]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shares = shares()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.shares is not None:
            self.shares.publish(len(self.connections))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.closing.discard(self)
        if self.shares is not None:
            self.shares.publish(len(self.connections))

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if (
            self.shares is not None
            and cycle is not None
            and cycle.keep_alive
            and self not in self.closing
            and self.shares.over_share(len(self.connections) - len(self.closing))
        ):
            cycle.keep_alive = False  # "Connection: close" after this response
            self.closing.add(self)
