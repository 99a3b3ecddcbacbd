"""The benchmark harness still runs: ``python -m bench --quick`` end to end.

No timing is asserted (the quick numbers mean nothing); what is proven is that
every comparison of ``make bench`` runs in its own process and produces its
measurements, or says why it was skipped (peers, gunicorn or wrk missing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cases import ORDER
from bench.run import table

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_runs_every_comparison(tmp_path):
    """`python -m bench --quick` exits 0 and writes a results file with the
    machine, the load average and, for each of the six comparisons, either
    measurements with a ratio, a target and a verdict, or the reason it was
    skipped; the README table renders a row for each."""
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["quick"] is True
    assert results["machine"]["cores"] >= 1
    assert len(results["load_average"]["before"]) == 3
    assert [case["name"] for case in results["cases"]] == list(ORDER)
    for case in results["cases"]:
        assert "error" not in case, case
        if case.get("skipped"):
            assert case["measurements"] == []
            continue
        assert case["measurements"], case["name"]
        for row in case["measurements"]:
            assert row["id"].startswith(case["name"] + ".")
            assert isinstance(row["ratio"], float | int | None)
            assert row["target"].startswith(("<=", ">="))
            assert row["pass"] in {True, False, None}
            assert row["values"]
    procs = next(c for c in results["cases"] if c["name"] == "procs")
    assert procs["measurements"][0]["pass"] is True, procs  # zero loss is not a timing
    rendered = table(results)
    for case in results["cases"]:
        for row in case["measurements"]:
            assert row["title"] in rendered


def test_unknown_comparison_is_a_one_line_error():
    """`python -m bench --only nope` fails with a usage error, not a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown comparison(s): nope" in proc.stderr
    assert "Traceback" not in proc.stderr
