"""What every comparison shares: interleaved rounds, medians, result records.

Each variant of a comparison is a callable that runs one *round* (a batch of
operations) and returns its numbers (``{metric: value}``). :func:`interleave`
calls the variants in turn, round after round, rotating which goes first, so
that a slow minute of a shared machine slows every variant alike; results
are then compared round by round (:func:`paired`), not as far-apart totals.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Callable, Mapping
from typing import Any

Round = Callable[[], Mapping[str, float]]


def interleave(
    variants: Mapping[str, Round], rounds: int, warmup: int = 1
) -> dict[str, dict[str, list[float]]]:
    """``{variant: {metric: [value per round]}}`` after ``warmup`` discarded
    rounds; round ``r`` starts with variant ``r mod len(variants)``."""
    names = list(variants)
    out: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for r in range(warmup + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            values = variants[name]()
            if r < warmup:
                continue
            for metric, value in values.items():
                out[name].setdefault(metric, []).append(value)
    return out


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def paired(a: list[float], b: list[float], how: str) -> float:
    """Median over rounds of ``a - b`` (``how="diff"``) or ``a / b`` (``"ratio"``)."""
    if how == "diff":
        return median([x - y for x, y in zip(a, b, strict=True)])
    return median([x / y for x, y in zip(a, b, strict=True)])


def measurement(
    mid: str,
    title: str,
    *,
    unit: str,
    values: Mapping[str, float],
    ratio: float | None,
    ratio_of: str,
    target: float,
    op: str,
    note: str | None = None,
    shown: tuple[str, ...] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One row of the results: the medians per variant, the ratio the target
    is about, the target (``op`` is ``"<="`` or ``">="``) and whether it holds.
    ``note`` is kept only where the target is missed (it says why and what
    would close it). ``shown`` names the values the README table shows (all
    by default)."""
    passed = None if ratio is None else (ratio <= target if op == "<=" else ratio >= target)
    row: dict[str, Any] = {
        "id": mid,
        "title": title,
        "unit": unit,
        "values": {k: round(v, 3) for k, v in values.items()},
        "ratio": None if ratio is None else round(ratio, 4),
        "ratio_of": ratio_of,
        "target": f"{op} {target:g}",
        "pass": passed,
    }
    if shown:
        row["shown"] = list(shown)
    if passed is False and note:
        row["note"] = note
    if extra:
        row.update(extra)
    return row


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """The machine and software the numbers were taken on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "versions": {
            dist: _version(dist)
            for dist in (
                "Django",
                "orjson",
                "structlog",
                "python-json-logger",
                "django-auditlog",
                "django-simple-history",
                "gunicorn",
            )
        },
    }


def setup_django(settings: str = "bench.settings", migrate: bool = True) -> None:
    """Set up Django with ``settings`` and create the tables in memory."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", run_syncdb=True, verbosity=0)
