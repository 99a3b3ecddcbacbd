"""Timestamps and event ids (eventlog.write.clock)."""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime

import pytest

from eventlog.write import clock as _clock


def test_ids_are_uuid7_and_sort_by_time():
    """Ids are RFC 9562 version 7 UUIDs carrying the millisecond of the reading,
    and ids of later readings sort after earlier ones."""
    base = time.time_ns()
    readings = [base + step * 250_000 for step in range(40)]  # 0.25 ms apart
    ids = [_clock.uuid7(ns) for ns in readings]
    for ns, text in zip(readings, ids, strict=True):
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == ns // 1_000_000
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_in_one_millisecond_differ():
    """Many ids from the same instant are all different (62 random bits each)."""
    ns = time.time_ns()
    ids = {_clock.uuid7(ns) for _ in range(20_000)}
    assert len(ids) == 20_000


def test_seeding_the_random_module_does_not_repeat_ids():
    """A user's random.seed() does not touch the generator behind the ids."""
    ns = time.time_ns()
    random.seed(7)
    first = [_clock.uuid7(ns) for _ in range(5)]
    random.seed(7)
    second = [_clock.uuid7(ns) for _ in range(5)]
    assert not set(first) & set(second)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_does_not_repeat_the_parents_ids():
    """A child forked after ids were made draws other ids than the parent's
    next ones (the generator is reseeded when the process id changes)."""
    ns = time.time_ns()
    _clock.uuid7(ns)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            os.write(write_end, ",".join(_clock.uuid7(ns) for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        child = set(pipe.read().decode().split(","))
    parent = {_clock.uuid7(ns) for _ in range(50)}
    assert len(child) == 50
    assert not child & parent


def test_timestamps_are_rfc3339_utc_with_microseconds():
    """format_ns gives YYYY-MM-DDTHH:MM:SS.ffffffZ of the instant, in UTC."""
    moment = datetime(2026, 11, 23, 7, 55, 43, 123456, tzinfo=UTC)
    ns = int(moment.timestamp()) * 1_000_000_000 + 123_456_789
    assert _clock.format_ns(ns) == "2026-11-23T07:55:43.123456Z"
    assert _clock.format_ns(ns + 1_000_000_000) == "2026-11-23T07:55:44.123456Z"


def test_stamp_gives_what_format_ns_and_uuid7_give():
    """The kept per-millisecond text never goes stale: every instant's stamp
    matches the separate formatters, across microseconds, milliseconds,
    seconds and days, and going back in time."""
    from eventlog.write import clock

    base = 1_767_225_599_998_000_000  # 2025-12-31T23:59:59.998Z
    instants = [base + step for step in (0, 1, 999, 1000, 999_999, 1_000_000, 2_000_001, 5_000)]
    instants += [base - 86_400_000_000_000, base + 3_999_999]
    for ns in instants:
        timestamp, event_id = clock.stamp(ns)
        assert timestamp == clock.format_ns(ns)
        assert event_id[:19] == clock.uuid7(ns)[:19]
        assert uuid.UUID(event_id).version == 7
