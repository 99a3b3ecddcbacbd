"""eventlog.read.pages: newest-first pages of the log, and the ``level`` and
``request_id`` criteria of Filter that the admin's event browser uses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from eventlog.core.ecs import to_ecs
from eventlog.read import pages
from eventlog.read.filters import Filter
from eventlog.read.scan import _BLOCK
from tests.helpers import make_line
from tests.helpers import write_log as write

R1 = "events.jsonl.2026-11-23T09-00-00.000000Z.gz"
R2 = "events.jsonl.2026-11-23T10-00-00.000000Z"
R3 = "events.jsonl.2026-11-23T11-00-00.000000Z.gz"


def ts(n: int) -> str:
    return f"2026-11-23T{8 + n // 60:02d}:{n % 60:02d}:00.000000Z"


def line(n: int, **fields) -> bytes:
    return make_line(ts(n), seq=n, object_id=str(n), **fields)


def spread(directory: Path) -> list[bytes]:
    """Lines 0-9 over a gzip, a plain rotated, another gzip and the live file."""
    lines = [line(n) for n in range(10)]
    write(directory / R1, *lines[0:3])
    write(directory / R2, *lines[3:5])
    write(directory / R3, *lines[5:8])
    write(directory / "events.jsonl", *lines[8:10])
    return lines


def seqs(page: pages.Page) -> list[int]:
    return [event["seq"] for _raw, event in page.events]


# -- Filter: level and request_id ----------------------------------------------------


def test_filter_level_matches_the_level_case_insensitively():
    flt = Filter(level="WARNING")
    assert flt.level == "warning"
    warn = orjson.loads(make_line(ts(0), level="warning"))
    info = orjson.loads(make_line(ts(0), level="info"))
    assert flt.matches(warn)
    assert not flt.matches(info)
    assert flt.might_match(make_line(ts(0), level="warning"))
    assert not flt.might_match(make_line(ts(0), level="info"))


def test_filter_request_id_matches_and_anchors():
    flt = Filter(request_id="req-7")
    hit = make_line(ts(0), request_id="req-7")
    miss = make_line(ts(0), request_id="req-70")
    assert flt.matches(orjson.loads(hit))
    assert not flt.matches(orjson.loads(miss))
    assert flt.might_match(hit)
    assert not flt.might_match(miss)
    assert any(anchor in hit for anchor in flt.anchors())
    assert not any(anchor in miss for anchor in flt.anchors())


def test_filter_level_and_request_id_hold_for_ecs_lines():
    native = orjson.loads(make_line(ts(0), level="error", request_id="req-9"))
    ecs = orjson.dumps(to_ecs(native)) + b"\n"
    flt = Filter(level="error", request_id="req-9")
    assert flt.might_match(ecs)
    assert any(anchor in ecs for anchor in flt.anchors())
    assert not Filter(request_id="req-8").might_match(ecs)


def test_filter_level_and_request_id_through_the_block_scan(tmp_path):
    from eventlog.read.events import iter_events

    write(
        tmp_path / "events.jsonl",
        make_line(ts(0), level="info", request_id="a"),
        make_line(ts(1), level="error", request_id="b"),
        make_line(ts(2), level="error", request_id="a"),
    )
    got = [e["timestamp"] for _r, e in iter_events(tmp_path, filter=Filter(request_id="a"))]
    assert got == [ts(0), ts(2)]
    got = [e["timestamp"] for _r, e in iter_events(tmp_path, filter=Filter(level="error"))]
    assert got == [ts(1), ts(2)]


# -- newest-first pages ----------------------------------------------------------------


def test_newest_page_is_newest_first_across_rotated_files(tmp_path):
    spread(tmp_path)
    page = pages.newest(tmp_path, offset=0, limit=4)
    assert seqs(page) == [9, 8, 7, 6]
    assert page.more
    page = pages.newest(tmp_path, offset=4, limit=4)
    assert seqs(page) == [5, 4, 3, 2]
    page = pages.newest(tmp_path, offset=8, limit=4)
    assert seqs(page) == [1, 0]
    assert not page.more
    assert pages.newest(tmp_path, offset=20, limit=4).events == []


def test_every_offset_and_limit_agrees_with_the_whole_list(tmp_path):
    lines = spread(tmp_path)
    every = [orjson.loads(raw)["seq"] for raw in reversed(lines)]
    for offset in range(12):
        for limit in range(1, 6):
            page = pages.newest(tmp_path, offset=offset, limit=limit)
            assert seqs(page) == every[offset : offset + limit], (offset, limit)
            assert page.more == (offset + limit < len(every))


def test_raw_lines_are_the_file_bytes(tmp_path):
    lines = spread(tmp_path)
    page = pages.newest(tmp_path, offset=0, limit=10)
    assert [raw for raw, _ in page.events] == list(reversed(lines))


def test_torn_final_line_is_skipped(tmp_path):
    write(tmp_path / "events.jsonl", line(0), line(1), b'{"timestamp":"2026-11-23T1')
    reports = []
    page = pages.newest(tmp_path, offset=0, limit=5, on_bad_line=lambda *a: reports.append(a))
    assert seqs(page) == [1, 0]
    assert len(reports) == 1
    assert "incomplete final line" in reports[0][2]


def test_bad_lines_are_skipped_and_do_not_count(tmp_path):
    write(tmp_path / "events.jsonl", line(0), b"not json\n", b"[1]\n", line(1))
    page = pages.newest(tmp_path, offset=0, limit=2, on_bad_line=lambda *a: None)
    assert seqs(page) == [1, 0]


def test_lines_longer_than_a_block_are_read_whole(tmp_path):
    big = line(1, message="x" * (_BLOCK + 10))
    write(tmp_path / "events.jsonl", line(0), big, line(2))
    page = pages.newest(tmp_path, offset=0, limit=5)
    assert seqs(page) == [2, 1, 0]
    assert page.events[1][0] == big


def test_many_blocks_backwards(tmp_path):
    lines = [line(n, message="m" * 3000) for n in range(1200)]  # several blocks
    write(tmp_path / "events.jsonl", *lines)
    page = pages.newest(tmp_path, offset=1000, limit=300)
    assert seqs(page) == list(range(199, -1, -1))


def test_gzip_file_with_more_lines_than_first_wanted(tmp_path):
    write(tmp_path / R1, *[line(n) for n in range(50)])
    write(tmp_path / "events.jsonl", line(50))
    page = pages.newest(tmp_path, offset=3, limit=40)
    assert seqs(page) == list(range(47, 7, -1))


def test_a_file_compressed_since_listing_is_read_from_its_gz(tmp_path, monkeypatch):
    spread(tmp_path)
    listed = pages.log_files(tmp_path)
    plain = tmp_path / R2
    write(tmp_path / (R2 + ".gz"), plain.read_bytes())
    plain.unlink()
    monkeypatch.setattr(pages, "log_files", lambda d, n: listed)
    assert seqs(pages.newest(tmp_path, offset=0, limit=10)) == list(range(9, -1, -1))


def test_missing_directory_is_an_empty_page(tmp_path):
    page = pages.newest(tmp_path / "nope", offset=0, limit=10)
    assert page.events == []
    assert not page.more


def test_ecs_lines_are_given_in_native_form(tmp_path):
    native = orjson.loads(line(3))
    write(tmp_path / "events.jsonl", orjson.dumps(to_ecs(native)) + b"\n")
    page = pages.newest(tmp_path, offset=0, limit=1)
    assert page.events[0][1]["event_id"] == native["event_id"]


def test_filtered_page_counts_and_keeps_the_newest(tmp_path):
    lines = [line(n, actor="ann" if n % 3 == 0 else "bob") for n in range(30)]
    write(tmp_path / R1, *lines[:10])
    write(tmp_path / R2, *lines[10:20])
    write(tmp_path / "events.jsonl", *lines[20:])
    flt = Filter(actor="ann")
    page = pages.newest(tmp_path, offset=0, limit=4, filter=flt)
    assert seqs(page) == [27, 24, 21, 18]
    assert page.total == 10
    assert page.more
    page = pages.newest(tmp_path, offset=8, limit=4, filter=flt)
    assert seqs(page) == [3, 0]
    assert not page.more
    assert pages.newest(tmp_path, offset=0, limit=4).total is None


def test_empty_filter_reads_backwards(tmp_path, monkeypatch):
    spread(tmp_path)
    monkeypatch.setattr(pages, "iter_events", None)  # the forward scan is not used
    assert seqs(pages.newest(tmp_path, offset=0, limit=2, filter=Filter())) == [9, 8]


@pytest.mark.parametrize("bad", [(-1, 5), (0, 0), (0, -3)])
def test_bad_offset_or_limit(tmp_path, bad):
    with pytest.raises(ValueError, match="offset must be"):
        pages.newest(tmp_path, offset=bad[0], limit=bad[1])


# -- one event by its id -----------------------------------------------------------------


def test_find_event_names_its_file(tmp_path):
    wanted = "0190a1b2-c3d4-7e5f-8a9b-000000000007"
    write(tmp_path / R1, line(0), line(1, event_id=wanted, message="here"))
    write(tmp_path / "events.jsonl", line(2))
    found = pages.find_event(tmp_path, wanted)
    assert found is not None
    path, raw, event = found
    assert path == tmp_path / R1
    assert event["message"] == "here"
    assert raw == line(1, event_id=wanted, message="here")
    assert pages.find_event(tmp_path, "0190a1b2-c3d4-7e5f-8a9b-000000000008") is None
    assert pages.find_event(tmp_path / "nope", wanted) is None


def test_find_event_in_ecs_lines(tmp_path):
    wanted = "0190a1b2-c3d4-7e5f-8a9b-000000000009"
    native = orjson.loads(line(1, event_id=wanted))
    write(tmp_path / "events.jsonl", line(0), orjson.dumps(to_ecs(native)) + b"\n")
    found = pages.find_event(tmp_path, wanted)
    assert found is not None
    assert found[2]["event_id"] == wanted
