"""``python -m bench.profile [emit|save] [-n N]``: profile a hot path.

* ``emit``: ``event_signal.send()`` to a written line;
* ``save``: create, update and delete of a registered model (in-memory SQLite).

Prints cProfile's 30 most expensive functions by own time, then the cost per
operation without the profiler.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import setup_django


def _emit() -> Callable[[], None]:
    from eventlog.signals import event_signal

    def op() -> None:
        event_signal.send("bench", message="order shipped", order_id=1234, amount="12.50")

    return op


def _save() -> Callable[[], None]:
    from bench.benchapp.models import TWINS

    model: Any = TWINS["eventlog"]
    dob = dt.date(1990, 5, 17)

    def op() -> None:
        obj = model.objects.create(first_name="Ada", last_name="L", age=36, date_of_birth=dob)
        obj.age += 1
        obj.save()
        obj.delete()

    return op


def main(argv: list[str] | None = None) -> int:
    """Profile the chosen path."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("path", choices=["emit", "save"])
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args(argv)
    setup_django()
    op = _emit() if args.path == "emit" else _save()
    for _ in range(500):
        op()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.n):
        op()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    started = time.perf_counter()
    for _ in range(args.n):
        op()
    per_op = (time.perf_counter() - started) / args.n * 1e6
    print(f"{args.path}: {per_op:.1f} µs per operation without the profiler")
    return 0


if __name__ == "__main__":
    sys.exit(main())
