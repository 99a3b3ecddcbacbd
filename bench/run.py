"""``python -m bench [--quick] [--only NAME,...] [--out FILE] [--readme]``.

Runs each comparison of :mod:`bench.cases` in a process of its own
(``python -m bench.case``), prints every ratio with its target, writes the
results (date, machine, load average, every measurement) to
``bench/results.json`` and, with ``--readme``, the table between the
``bench:start``/``bench:end`` markers of the README's Performance section
(``--render`` rewrites that table from an existing results file).

``--quick`` runs a few iterations of each (a smoke test of the harness: its
numbers mean nothing); peers, gunicorn or wrk that are not installed make
their comparison skipped or fall back, and say so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cases import ORDER
from bench.harness import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _run_case(name: str, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"eventlog-bench-{name}-") as tmp:
        out = Path(tmp) / "result.json"
        env = {
            **os.environ,
            "EVENTLOG_DIR": str(Path(tmp) / "logs"),
            "PYTHONPATH": str(ROOT),
        }
        cmd = [sys.executable, "-m", "bench.case", name, "--out", str(out)]
        if quick:
            cmd.append("--quick")
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
        if proc.returncode != 0 or not out.exists():
            return {
                "name": name,
                "measurements": [],
                "error": f"exited with {proc.returncode} after "
                f"{time.perf_counter() - started:.0f} s (see the output above)",
            }
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["name"] = name
    return result


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _verdict(row: dict[str, Any]) -> str:
    return {True: "pass", False: "**miss**", None: "n/a"}[row["pass"]]


def table(results: dict[str, Any]) -> str:
    """The README table (markdown) of ``results``."""
    m = results["machine"]
    load = ", ".join(f"{x:.2f}" for x in results["load_average"]["before"])
    lines = [
        f"Run of {results['date']} (`make bench`, {results['duration_s']:.0f} s) on "
        f"{m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}, "
        f"Django {m['versions']['Django']}; load average before the run {load} "
        "(other work shared the machine).",
        "",
        "| # | comparison | medians | ratio | target | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    notes: dict[str, list[str]] = {}  # note -> ids, each note said once
    for i, case in enumerate(results["cases"], 1):
        if case.get("skipped") or case.get("error"):
            reason = case.get("skipped") or case.get("error")
            lines.append(f"| {i} | {case.get('title', case['name'])} | skipped: {reason} | | | |")
            continue
        for row in case["measurements"]:
            keys = row.get("shown") or list(row["values"])
            medians = ", ".join(f"{k} {_fmt(row['values'][k])}" for k in keys)
            lines.append(
                f"| {i} | {row['title']} | {medians} | {_fmt(row['ratio'])} "
                f"({row['ratio_of']}) | {row['target']} | {_verdict(row)} |"
            )
            if row.get("note"):
                notes.setdefault(row["note"], []).append(row["id"])
    if notes:
        lines.append("")
        lines += [f"- **{', '.join(ids)}** missed: {note}" for note, ids in notes.items()]
    return "\n".join(lines)


def update_readme(text: str) -> bool:
    """Put ``text`` between the README's markers; False when they are missing."""
    readme = README.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        return False
    head, rest = readme.split(START, 1)
    _old, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit 0 when every comparison ran (missed targets included)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations (smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--out", default=str(RESULTS), help="results file (JSON)")
    parser.add_argument("--readme", action="store_true", help="update README's table")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite README's table from --out's results"
    )
    args = parser.parse_args(argv)
    if args.render:
        done = update_readme(table(json.loads(Path(args.out).read_text(encoding="utf-8"))))
        print(f"table: {README}" if done else "README has no bench:start/bench:end markers")
        return 0 if done else 1
    names = [n for n in args.only.split(",") if n] or list(ORDER)
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        parser.error(f"unknown comparison(s): {', '.join(unknown)}")

    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "quick": args.quick,
        "machine": machine(),
        "load_average": {"before": list(os.getloadavg())},
        "cases": [],
    }
    for name in names:
        print(f"== {name}", flush=True)
        case = _run_case(name, args.quick)
        case["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        results["cases"].append(case)
        if case.get("skipped") or case.get("error"):
            print(f"   skipped: {case.get('skipped') or case.get('error')}", flush=True)
        for key, value in case.get("info", {}).items():
            if key.startswith("skipped") or key in {"scaled", "load_tool"}:
                print(f"   {key}: {value}", flush=True)
        for row in case["measurements"]:
            print(
                f"   {row['id']:<18} ratio {_fmt(row['ratio']):>8}  target {row['target']:<12}"
                f" {_verdict(row).strip('*')}",
                flush=True,
            )
    results["load_average"]["after"] = list(os.getloadavg())
    results["duration_s"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results: {out} ({results['duration_s']:.0f} s)")
    if args.readme:
        if update_readme(table(results)):
            print(f"table: {README} (Performance)")
        else:
            print("README has no bench:start/bench:end markers: table not written")
    return 1 if any(c.get("error") for c in results["cases"]) else 0
