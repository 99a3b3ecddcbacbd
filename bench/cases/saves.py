"""1. Per-save overhead: create, update, delete of a registered model minus its
unregistered twin, on in-memory SQLite, beside the same model under
django-auditlog and django-simple-history (when installed).

Every operation runs outside a transaction (autocommit), so eventlog writes
its line at once, inside the measured time, to a real file.
Target: eventlog's overhead at most 1/15 of the better peer's, per operation.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import interleave, measurement, median, paired, setup_django

OPS = ("create", "update", "delete")
TARGET = 1 / 15
NOTE = (
    "eventlog's overhead is one line (50-65 µs here, see 3.), the model "
    "receivers (about 6 µs) and Django's own signal dispatch; for delete also "
    "the transaction Django opens once a model has delete receivers. The "
    "peers' overhead here is an INSERT (and a SELECT) on in-memory SQLite, the "
    "cheapest a table can ever be; on a database server each adds a round "
    "trip. Closing it needs the per-line cost of 3. down to a few µs "
    "(see Performance: profile and sink suggestions)."
)


def run(quick: bool) -> dict[str, Any]:
    """Interleaved rounds of n creates, n updates and n deletes per twin."""
    setup_django()
    from bench.benchapp.models import TWINS

    n = 20 if quick else 200
    rounds = 2 if quick else 15
    dob = dt.date(1990, 5, 17)

    def one_round(model: Any) -> dict[str, float]:
        clock = time.perf_counter_ns
        t0 = clock()
        objs = [
            model.objects.create(
                first_name="Ada", last_name=f"Lovelace {i}", age=36, date_of_birth=dob
            )
            for i in range(n)
        ]
        t1 = clock()
        for obj in objs:
            obj.age += 1
            obj.address = "12 St James's Square"
            obj.save()
        t2 = clock()
        for obj in objs:
            obj.delete()
        t3 = clock()
        return {
            "create": (t1 - t0) / n / 1000,
            "update": (t2 - t1) / n / 1000,
            "delete": (t3 - t2) / n / 1000,
        }

    variants = {name: (lambda m=model: one_round(m)) for name, model in TWINS.items()}
    results = interleave(variants, rounds)
    peers = [name for name in TWINS if name not in {"plain", "eventlog"}]
    measurements = []
    for op in OPS:
        base = results["plain"][op]
        overhead = {
            name: paired(results[name][op], base, "diff") for name in TWINS if name != "plain"
        }
        best = min((overhead[p] for p in peers), default=None)
        ratio = None if best is None or best <= 0 else overhead["eventlog"] / best
        values = {f"{name} µs/op": median(results[name][op]) for name in TWINS}
        values.update({f"{name} overhead µs": overhead[name] for name in overhead})
        measurements.append(
            measurement(
                f"saves.{op}",
                f"Overhead per {op}: eventlog vs the better peer",
                unit="µs",
                values=values,
                ratio=ratio,
                ratio_of="eventlog overhead / better peer overhead",
                target=TARGET,
                op="<=",
                note=NOTE,
                shown=tuple(f"{name} overhead µs" for name in overhead),
            )
        )
    info = {"ops_per_round": n, "rounds": rounds, "peers": peers}
    if not peers:
        info["skipped_peers"] = "django-auditlog and django-simple-history are not installed"
    return {
        "title": "Per-save overhead (in-memory SQLite)",
        "measurements": measurements,
        "info": info,
    }
