"""2. Load overhead: 10,000 rows of the registered model read through a
queryset, against its unregistered twin (eventlog wraps ``from_db`` to keep
the loaded values, so an update needs no ``SELECT``).
Target: at most 1.25x the twin's time.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import interleave, measurement, median, paired, setup_django

TARGET = 1.25
NOTE = (
    "The from_db wrapper keeps two references per row (the row's values and "
    "their names, no new object) and costs one Python call per row. The ratio "
    "moves with the machine and its load: 1.15-1.6 on earlier runs, and on a "
    "faster machine, where the twin loads a row in about 3 µs, 1.5-1.6 for "
    "this comparison run alone, the same for the code before the package "
    "was layered. Going lower means no per-row work at all: keeping "
    "nothing at load and reading the old row at the first save (a SELECT per "
    "update, which is what the target exists to avoid), or a C-level hook."
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
