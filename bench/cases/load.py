"""2. Load overhead: 10,000 rows of the registered model read through a
queryset, against its unregistered twin (eventlog wraps ``from_db`` to keep
the loaded values, so an update needs no ``SELECT``).
Target (issue 18): at most 1.10x the twin's time.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import interleave, measurement, median, paired, setup_django

TARGET = 1.10
NOTE = (
    "The from_db wrapper keeps one reference per row (the row's values; their "
    "names too for a partial row), set as an attribute (reading the "
    "instance's __dict__ instead made CPython build a dict per row, which "
    "doubled the time through the garbage collector), and builds a whole row "
    "itself as Django's from_db does. What is left is the wrapper's own "
    "Python call per row; below it, only keeping nothing at load (a SELECT "
    "per update, which the baseline exists to avoid) or a C-level hook."
)


def run(quick: bool) -> dict[str, Any]:
    """Interleaved rounds of ``list(Model.objects.all())`` for both twins."""
    setup_django()
    from bench.benchapp.models import Logged, Plain

    rows = 500 if quick else 10_000
    rounds = 2 if quick else 41  # short rounds: more of them to ride out bursts of a shared machine
    dob = dt.date(1990, 5, 17)
    twins: tuple[Any, ...] = (Plain, Logged)
    for model in twins:
        model.objects.bulk_create(
            model(first_name="Ada", last_name=f"Lovelace {i}", age=36, date_of_birth=dob)
            for i in range(rows)
        )

    def one_round(model: Any) -> dict[str, float]:
        started = time.perf_counter_ns()
        loaded = list(model.objects.all())
        elapsed = time.perf_counter_ns() - started
        assert len(loaded) == rows
        return {"ms": elapsed / 1e6}

    results = interleave(
        {"plain": lambda: one_round(Plain), "eventlog": lambda: one_round(Logged)}, rounds
    )
    ratio = paired(results["eventlog"]["ms"], results["plain"]["ms"], "ratio")
    return {
        "title": f"Load {rows:,} rows through a queryset",
        "measurements": [
            measurement(
                "load.queryset",
                f"Load {rows:,} registered rows vs the unregistered twin",
                unit="ms",
                values={
                    "plain ms": median(results["plain"]["ms"]),
                    "eventlog ms": median(results["eventlog"]["ms"]),
                },
                ratio=ratio,
                ratio_of="eventlog time / unregistered time",
                target=TARGET,
                op="<=",
                note=NOTE,
            )
        ],
        "info": {"rows": rows, "rounds": rounds},
    }
