"""4. Many processes: 4 writer processes append to one log with rotation at
1 MB; the aggregate rate, against a single process in interleaved rounds,
and proof of zero loss: every line counted across the live, rotated and
gzipped files, and ``manage.py eventlog verify`` (seq gap-free, every hash
chain holds) exits 0.
Target: lines found / lines sent = 1 (and verify clean) in every round.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import interleave, measurement, median

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 4
MAX_BYTES = 1024 * 1024
NOTE = "Lines were lost or a chain broke: verify's report in info names the file and line."


def _count(directory: Path) -> int:
    total = 0
    for path in sorted(directory.iterdir()):
        if not path.name.startswith("events.jsonl") or path.name.endswith(".tmp"):
            continue
        opener: Any = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            total += sum(1 for _ in f)
    return total


def _writers(processes: int, per_writer: int, directory: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "EVENTLOG_DIR": str(directory),
        "EVENTLOG_MAX_BYTES": str(MAX_BYTES),
        "EVENTLOG_BACKUP_COUNT": "100000",
        "PYTHONPATH": str(ROOT),
    }
    go = directory.parent / "go"
    go.unlink(missing_ok=True)
    ready = [directory.parent / f"ready-{i}" for i in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.writer", str(per_writer), str(r), str(go)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    while not all(r.exists() for r in ready):
        time.sleep(0.01)
    go.touch()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"writer exited with {proc.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    for r in ready:
        r.unlink()
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return {"rate": processes * per_writer / wall, "wall": wall}


def run(quick: bool) -> dict[str, Any]:
    """Interleaved rounds: 1 writer, then 4 writers, each in a fresh directory."""
    per_writer = 2000 if quick else 20_000
    rounds = 1 if quick else 3
    base = Path(tempfile.mkdtemp(prefix="eventlog-bench-procs-"))
    checks: list[dict[str, Any]] = []

    def one_round(processes: int) -> dict[str, float]:
        directory = base / f"logs-{processes}-{len(checks)}"
        directory.mkdir()
        result = _writers(processes, per_writer, directory)
        if processes == WRITERS:
            verify = subprocess.run(
                [sys.executable, "manage.py", "eventlog", "verify"],
                cwd=ROOT,
                env={
                    **os.environ,
                    "EVENTLOG_DIR": str(directory),
                    "DJANGO_SETTINGS_MODULE": "config.settings",
                },
                capture_output=True,
                text=True,
                check=False,
            )
            files = [p.name for p in directory.iterdir()]
            checks.append(
                {
                    "sent": processes * per_writer,
                    "found": _count(directory),
                    "files": len(files),
                    "gz": sum(name.endswith(".gz") for name in files),
                    "verify_exit": verify.returncode,
                    "verify_report": (verify.stdout + verify.stderr).strip()[-500:],
                }
            )
        shutil.rmtree(directory)
        return {"rate": result["rate"]}

    try:
        results = interleave(
            {"1 process": lambda: one_round(1), f"{WRITERS} processes": lambda: one_round(WRITERS)},
            rounds,
            warmup=0,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    sent = sum(c["sent"] for c in checks)
    found = sum(c["found"] for c in checks)
    clean = all(c["verify_exit"] == 0 for c in checks)
    ratio = found / sent if clean else 0.0
    values = {f"{name} lines/s": median(r["rate"]) for name, r in results.items()}
    values.update({"lines sent": sent, "lines found": found})
    return {
        "title": f"{WRITERS} processes, rotation every {MAX_BYTES // 1024} KiB",
        "measurements": [
            measurement(
                "procs.zero_loss",
                f"{WRITERS} writer processes with rotation: lines found / sent, verify clean",
                unit="lines",
                values=values,
                ratio=ratio,
                ratio_of="lines found / lines sent (0 if verify failed)",
                target=1.0,
                op=">=",
                note=NOTE,
            )
        ],
        "info": {"per_writer": per_writer, "rounds": rounds, "checks": checks},
    }
