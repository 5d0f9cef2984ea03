"""A lean HTTP/1.1 client for the benchmarks' load generators (:mod:`bench.bench_store`,
:mod:`bench.bench_city`): real round trips to the served port at a fraction of httpx's CPU, which
on a two-core machine the server's workers would otherwise lack."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any

__all__ = ["LeanClient", "LeanResponse"]


class LeanResponse:
    """What :class:`bench.bench_store.Writes` reads of an answer (as httpx names it)."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """HTTP/1.1 POSTs over :mod:`http.client`, one kept-alive connection per thread.

    The load generator shares the machine's two cores with the server: httpx spends about a
    millisecond of CPU per request (its pool, its header and body models), which the server's
    workers then lack. This client spends a fraction of that, on the same real round trips
    (a TCP connection to the served port, request line, headers, body, the whole answer read).
    A connection the server closes (``Connection: close``) is reopened for the next request;
    a failed request is never retried here (the caller counts it and retries with its key).
    """

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.timeout = timeout
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._open.append(conn)
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None

    def post(
        self, url: str, *, content: bytes, headers: dict[str, str] | None = None
    ) -> LeanResponse:
        """POST ``content`` (JSON bytes, encoded beforehand) to ``url``; the whole answer."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        return self._send("POST", url, content, sent)

    def get(self, url: str, *, headers: dict[str, str] | None = None) -> LeanResponse:
        """GET ``url``; the whole answer."""
        return self._send("GET", url, None, headers or {})

    def _send(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> LeanResponse:
        conn = self._connection()
        try:
            # bytes go out with the headers in one send (no Nagle / delayed-ACK stall)
            conn.request(method, url, body=content, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        except Exception:
            self._drop(conn)
            raise
        if answer.will_close:
            self._drop(conn)
        return LeanResponse(answer.status, data)

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()

    def __enter__(self) -> LeanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
