"""A small HTTP load generator, used when ``wrk`` is not installed and cannot
be installed: ``connections`` threads, each sending GET requests over its own
connection (reconnecting when the server closes it, as gunicorn's sync
workers do) for ``seconds``. Slower than wrk (it needs the GIL the server's
workers also compete for on a small machine), so its absolute numbers are
lower; the on/off ratio is what the comparison uses.
"""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any


def run(host: str, port: int, path: str, seconds: float, connections: int = 8) -> dict[str, Any]:
    """``{"requests": n, "errors": e, "rps": r}`` of a run of ``seconds``."""
    deadline = time.monotonic() + seconds
    counts = [[0, 0] for _ in range(connections)]

    def worker(slot: list[int]) -> None:
        conn: http.client.HTTPConnection | None = None
        while time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                slot[0 if 200 <= response.status < 400 else 1] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                slot[1] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(slot,)) for slot in counts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ok = sum(c[0] for c in counts)
    return {"requests": ok, "errors": sum(c[1] for c in counts), "rps": ok / elapsed}
