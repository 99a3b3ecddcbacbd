"""``python -m bench.writer N READY GO``: one writer process of the
many-processes comparison (:mod:`bench.cases.procs`).

Sets up Django (``bench.settings``, ``EVENTLOG_DIR`` and rotation from the
environment), touches ``READY``, waits for ``GO`` to exist, sends ``N``
events, waits for its background compression and prints
``{"start": t0, "end": t1}`` (wall clock, seconds) as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.harness import setup_django


def main(argv: list[str]) -> int:
    """Write ``argv[0]`` events once ``argv[2]`` exists."""
    count, ready, go = int(argv[0]), Path(argv[1]), Path(argv[2])
    setup_django(migrate=False)
    from eventlog.signals import event_signal
    from eventlog.write import pipeline as _pipeline

    send = event_signal.send
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    start = time.time()
    for i in range(count):
        send("bench.writer", message="order shipped", order_id=i, amount="12.50", items=3)
    end = time.time()
    _pipeline.flush()
    print(json.dumps({"start": start, "end": end, "errors": _pipeline.errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
