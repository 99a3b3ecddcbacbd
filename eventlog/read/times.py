"""Times as the readers take them: what a user types (RFC 3339, a date,
``now``, a time ago) as the canonical ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` of the
files' timestamps, which compares like the instants it names.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

__all__ = ["just_after", "parse_time"]

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"\s*([Zz]|[+-]\d\d:?\d\d)?"
)
_RELATIVE: Final = re.compile(r"(?:\d+[smhdw])+")
_RELATIVE_PART: Final = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FORMS: Final = (
    "expected RFC 3339 (2026-11-23T10:15:00Z, 2026-11-23T11:15:00+01:00), "
    "a date (2026-11-23), 'now' or a time ago (30s, 10m, 2h, 3d, 1w, 1h30m)"
)


def _canonical(moment: datetime) -> str:
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def parse_time(text: str, now: datetime | None = None) -> str:
    """The instant ``text`` names, as the canonical ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Accepted: RFC 3339 with ``Z`` or an offset, with or without seconds and
    fraction (``2026-11-23T10:15:00.5Z``, ``2026-11-23 11:15+01:00``); a bare
    date (``2026-11-23``, midnight UTC); a date-time without offset, taken as
    UTC like every timestamp in the files; ``now``; and a time ago, one or more
    ``<number><unit>`` with unit ``s``, ``m``, ``h``, ``d`` or ``w``
    (``30s``, ``10m``, ``2h``, ``3d``, ``1w``, ``1h30m``), counted back from
    ``now`` (default: the current time; a naive ``now`` is taken as UTC).
    Fractions beyond microseconds are truncated.

    Canonical strings compare like the instants they name, so the result can
    be compared with a line's ``timestamp`` as a string.

    Raises :class:`ValueError` with a one-line message on anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid time {text!r}: {_FORMS}")
    value = text.strip()
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    try:
        if value.lower() == "now" or _RELATIVE.fullmatch(value):
            base = now if now is not None else datetime.now(UTC)
            if base.tzinfo is None:
                base = base.replace(tzinfo=UTC)
            seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _RELATIVE_PART.findall(value))
            return _canonical(base - timedelta(seconds=seconds))
        match = _RFC3339.fullmatch(value)
        if match is None:
            raise ValueError(f"invalid time {shown}: {_FORMS}")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        tz: timezone = UTC
        if offset and offset not in "Zz":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
        return _canonical(moment)
    except OverflowError as exc:
        raise ValueError(f"invalid time {shown}: out of range") from exc
    except ValueError as exc:
        if str(exc).startswith("invalid time "):
            raise
        raise ValueError(f"invalid time {shown}: {exc}") from exc


def just_after(stamp: str) -> str:
    """The canonical time one microsecond after the canonical ``stamp``: an
    exclusive bound that keeps the events at ``stamp``."""
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return _canonical(moment + timedelta(microseconds=1))
