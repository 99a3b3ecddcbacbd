"""The block scan behind selective filters (``history``, ``tail --object-id``...):
it finds exactly the lines the line-by-line reader would, at any block size,
and reports bad lines with their true line numbers."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog import reader
from tests.helpers import make_line

TS = "2026-11-23T10:00:00.000000Z"

LINES = st.one_of(
    st.builds(
        lambda oid, n: make_line(TS, model="speedy.employees", object_id=oid, n=n),
        st.sampled_from(["42", "4", "420", "1"]),
        st.integers(0, 99),
    ),
    st.builds(
        lambda n: make_line(TS, model="speedy.employees", object_id=42, n=n), st.integers(0, 9)
    ),
    st.builds(
        lambda ids, n: make_line(
            TS, "model.bulk_updated", model="speedy.employees", object_ids=ids, n=n
        ),
        st.lists(st.sampled_from(["42", "7", "142"]), max_size=3),
        st.integers(0, 9),
    ),
    st.builds(lambda n: make_line(TS, "app.event", actor="bob", pad="x" * n), st.integers(0, 300)),
    st.just(b'{"object_id":"42", not json\n'),
)


def expected(lines: list[bytes], flt: reader.Filter) -> list[bytes]:
    """What a line-by-line reading keeps: whole lines that parse and match."""
    kept = []
    for line in lines:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if flt.matches(value):
            kept.append(line)
    return kept


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(LINES, max_size=40),
    torn=st.booleans(),
    block=st.sampled_from([7, 64, 300, 1 << 20]),
    gz=st.booleans(),
    criteria=st.sampled_from(
        [{"object_id": "42"}, {"actor": "bob"}, {"model": "speedy.employees"}]
    ),
)
def test_scan_finds_what_line_by_line_reading_finds(
    tmp_path_factory, lines, torn, block, gz, criteria
):
    """At any block size, compressed or not, with or without a torn final
    line: the same matching lines in the same order; the torn line reported
    with its line number."""
    directory: Path = tmp_path_factory.mktemp("scan")
    data = b"".join(lines) + (make_line(TS, object_id="42")[:-5] if torn else b"")
    name = "events.jsonl.2026-11-23T10-00-00.000000Z.gz" if gz else "events.jsonl"
    if gz:
        with gzip.open(directory / name, "wb") as f:
            f.write(data)
    else:
        (directory / name).write_bytes(data)
    flt = reader.Filter(**criteria)
    reports: list[tuple[int, str]] = []
    old = reader._BLOCK
    reader._BLOCK = block
    try:
        found = [
            raw
            for raw, _event in reader.iter_events(
                directory, filter=flt, on_bad_line=lambda p, n, r: reports.append((n, r))
            )
        ]
    finally:
        reader._BLOCK = old
    assert found == expected(lines, flt)
    torn_reports = [n for n, r in reports if r.startswith("incomplete final line")]
    assert torn_reports == ([len(lines) + 1] if torn else [])
    bad = [n for n, r in reports if r.startswith("not valid JSON")]
    assert all(lines[n - 1].startswith(b'{"object_id":"42", not json') for n in bad)


def test_scan_skips_an_over_long_line_and_goes_on(tmp_path, monkeypatch):
    """A line longer than the reader's limit is reported with its number and
    skipped; the lines after it are found."""
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(reader, "_BLOCK", 256)
    first = make_line(TS, object_id="42", n=1)
    long = make_line(TS, object_id="42", pad="y" * 3000)
    last = make_line(TS, object_id="42", n=3)
    (tmp_path / "events.jsonl").write_bytes(first + long + last)
    reports: list[tuple[int, str]] = []
    found = [
        event["n"]
        for _raw, event in reader.iter_events(
            tmp_path,
            filter=reader.Filter(object_id="42"),
            on_bad_line=lambda p, n, r: reports.append((n, r)),
        )
    ]
    assert found == [1, 3]
    assert reports == [(2, "line longer than 1000 bytes: skipped")]


@pytest.mark.parametrize("criteria", [{"object_id": "42"}, {"event": "model.*"}, {}])
def test_anchors_are_a_superset_of_matches(criteria: dict[str, Any]):
    """Every line a filter can match contains one of its anchors (none for
    filters without a selective criterion)."""
    flt = reader.Filter(**criteria)
    line = make_line(TS, "model.updated", object_id="42")
    if flt.anchors():
        assert any(a in line for a in flt.anchors())
    else:
        assert criteria == {}
