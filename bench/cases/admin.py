"""7. The admin's pages over the generated 1 GB log set (the set of
comparison 5), rendered through Django's test client as a logged-in
superuser: one object's History page and the event browser filtered by that
object, each against ``grep -F`` of the object's key over the same files;
and the unfiltered newest page of the browser, which reads from the end of
the newest file backwards, against an absolute budget.

The object has no row in the database (its history is all in the files), so
the History page is the one of a deleted object; the page must list every
one of its events.
Targets: each filtered page at most 1.5x grep's time; the newest page under
50 ms.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cases.history import MODEL, OBJECT_ID, _generate, grep_round, set_size
from bench.harness import interleave, measurement, median, paired

TARGET = 1.5
NEWEST_MS = 50.0
ROW = b'<tr class="eventlog-event'  # one per event row, on both pages


def run(quick: bool) -> dict[str, Any]:
    """Generate the set, then interleaved rounds of the pages vs grep."""
    base = Path(tempfile.mkdtemp(prefix="eventlog-bench-admin-"))
    total, scaled = set_size(base, quick)
    rounds = 1 if quick else 3
    os.environ["EVENTLOG_DIR"] = str(base)
    from bench.harness import setup_django

    setup_django("bench.admin_settings")
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    try:
        paths, hits = _generate(base, total)
        size = sum(p.stat().st_size for p in paths)
        user = get_user_model().objects.create_superuser("bench", "b@example.com", "x")
        client = Client()
        client.force_login(user)
        label = MODEL.replace(".", "_")
        history_url = reverse(f"admin:{label}_history", args=[OBJECT_ID])
        browse_url = reverse("admin:eventlog_events")
        filtered_url = f"{browse_url}?model={MODEL}&object_id={OBJECT_ID}"

        def page(url: str, rows: int | None) -> dict[str, float]:
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 200, (url, response.status_code)
            if rows is not None:
                found = response.content.count(ROW)
                assert found == rows, (url, found, rows)
            return {"s": elapsed}

        def grep() -> dict[str, float]:
            return grep_round(paths, hits)

        results = interleave(
            {
                "history_page": lambda: page(history_url, hits),
                "filtered_page": lambda: page(filtered_url, min(hits, 100)),
                "grep": grep,
            },
            rounds,
        )
        newest = [page(browse_url, None)["s"] * 1000 for _ in range(3 if quick else 21)]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    info: dict[str, Any] = {"bytes": size, "files": len(paths), "hits": hits, "rounds": rounds}
    if scaled:
        info["scaled"] = scaled
    grep_s = median(results["grep"]["s"])
    mib = f"{size / (1 << 20):,.0f} MiB"
    rows = [
        measurement(
            f"admin.{name}",
            f"{title} over {mib}: page vs grep -F",
            unit="s",
            values={f"{name} s": median(results[name]["s"]), "grep s": grep_s},
            ratio=paired(results[name]["s"], results["grep"]["s"], "ratio"),
            ratio_of="page time / grep -F time",
            target=TARGET,
            op="<=",
        )
        for name, title in (
            ("history_page", "One object's History page in the admin"),
            ("filtered_page", "Event browser filtered by that object"),
        )
    ]
    rows.append(
        measurement(
            "admin.newest_page",
            f"Event browser's newest page, no filter, over {mib}",
            unit="ms",
            values={"newest page ms": median(newest)},
            ratio=median(newest),
            ratio_of="ms, absolute",
            target=NEWEST_MS,
            op="<=",
        )
    )
    return {
        "title": f"Admin pages over {size / (1 << 30):.2f} GiB of logs",
        "measurements": rows,
        "info": info,
    }
