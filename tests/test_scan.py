"""The block scan behind selective filters (``history``, ``tail --object-id``...):
it finds exactly the lines the line-by-line reader would, at any block size,
with the SIMD search or ``bytearray.find``, in native and ECS lines, and
reports bad lines with their true line numbers; the byte-level pre-filter
(``Filter.might_match``) and the anchors never drop a line that matches."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog import reader
from eventlog.core.ecs import is_ecs, to_ecs, to_native
from eventlog.read import scan
from tests.helpers import ROOT, make_line

TS = "2026-11-23T10:00:00.000000Z"
FINDS = [pytest.param(scan._find, id="picked"), pytest.param(bytearray.find, id="bytearray")]


def ecs_line(line: bytes) -> bytes:
    """The ECS form of a native line, as the sink writes it with EVENTLOG_FORMAT = "ecs"."""
    return orjson.dumps(to_ecs(orjson.loads(line))) + b"\n"


def reordered(line: bytes) -> bytes:
    """The same object with its keys in reverse order (another writer's order)."""
    return orjson.dumps(dict(reversed(list(orjson.loads(line).items())))) + b"\n"


def decoded(line: bytes) -> dict[str, Any] | None:
    """The event a reader sees in ``line`` (ECS turned native), or None."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    return to_native(value) if is_ecs(value) else value


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
    # The same lines in ECS and in another key order.
    st.builds(
        lambda oid, actor: ecs_line(
            make_line(TS, model="speedy.employees", object_id=oid, actor=actor)
        ),
        st.sampled_from(["42", "420", 42]),
        st.sampled_from(["bob", "alice", "CLI"]),
    ),
    st.builds(
        lambda oid: reordered(make_line(TS, model="speedy.employees", object_id=oid, actor="bob")),
        st.sampled_from(["42", "7"]),
    ),
    # Decoys: a filter's needle inside a string value of another key.
    st.builds(
        lambda text: make_line(TS, model="speedy.shifts", object_id="7", object_repr=text),
        st.sampled_from(['"object_id":"42"', '"model":"speedy.employees"', '"actor":"bob"']),
    ),
    st.just(
        make_line(TS, "app.event", actor="alice", extra={"@timestamp": "x", "object_ids": ["42"]})
    ),
)


def expected(lines: list[bytes], flt: reader.Filter) -> list[bytes]:
    """What a line-by-line reading keeps: whole lines that parse and match."""
    kept = []
    for line in lines:
        value = decoded(line)
        if value is not None and flt.matches(value):
            kept.append(line)
    return kept


@pytest.mark.parametrize("find", FINDS)
@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(LINES, max_size=40),
    torn=st.booleans(),
    block=st.sampled_from([7, 64, 300, 1 << 20]),
    gz=st.booleans(),
    criteria=st.sampled_from(
        [
            {"object_id": "42"},
            {"actor": "bob"},
            {"model": "speedy.employees"},
            {"model": "speedy.employees", "object_id": "42"},
            {"event": "model.*", "object_id": "42", "actor": "bob"},
        ]
    ),
)
def test_scan_finds_what_line_by_line_reading_finds(
    tmp_path_factory, find, lines, torn, block, gz, criteria
):
    """At any block size, with either substring search, compressed or not,
    with or without a torn final line, native, ECS and reordered lines and
    decoys mixed: the same matching lines in the same order; the torn line
    reported with its line number."""
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
    old = scan._BLOCK, scan._find
    scan._BLOCK, scan._find = block, find
    try:
        found = [
            raw
            for raw, _event in reader.iter_events(
                directory, filter=flt, on_bad_line=lambda p, n, r: reports.append((n, r))
            )
        ]
    finally:
        scan._BLOCK, scan._find = old
    assert found == expected(lines, flt)
    torn_reports = [n for n, r in reports if r.startswith("incomplete final line")]
    assert torn_reports == ([len(lines) + 1] if torn else [])
    bad = [n for n, r in reports if r.startswith("not valid JSON")]
    assert all(lines[n - 1].startswith(b'{"object_id":"42", not json') for n in bad)


def test_scan_skips_an_over_long_line_and_goes_on(tmp_path, monkeypatch):
    """A line longer than the reader's limit is reported with its number and
    skipped; the lines after it are found."""
    monkeypatch.setattr(scan, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(scan, "_BLOCK", 256)
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


# -- the substring search ------------------------------------------------------------

_HAY = st.lists(st.sampled_from([b"a", b"b", b'"', b"\n", b":", b"ab", b'"a"']), max_size=400)


@settings(max_examples=300, deadline=None)
@given(
    hay=_HAY.map(b"".join),
    needle=st.lists(st.sampled_from([b"a", b"b", b'"', b":", b"\n"]), min_size=1, max_size=20).map(
        b"".join
    ),
    data=st.data(),
)
def test_picked_find_agrees_with_bytearray_find(hay, needle, data):
    """The scan's substring search (StringZilla's when installed) gives the
    position bytearray.find gives, for any bounds within the buffer, on
    haystacks long enough for its vector paths and full of near misses."""
    buf = bytearray(hay)
    start = data.draw(st.integers(0, len(buf)))
    end = data.draw(st.integers(start, len(buf)))
    assert scan._find(buf, needle, start, end) == buf.find(needle, start, end)


# -- the byte-level pre-filter and the anchors ----------------------------------------

_models = st.sampled_from(["speedy.employees", "speedy.shifts", "auth.user"])
_ids = st.one_of(
    st.sampled_from(["42", "4242", "042", "4 2", 'x"y', "é", "\\42"]), st.integers(0, 50)
)
_text = st.one_of(
    st.sampled_from(["bob", "CLI", "system", 'b"ob', "bö", '"actor":"bob"', '"object_id":"42"']),
    st.text(max_size=5),
)
EVENTS = st.fixed_dictionaries(
    {"event": st.sampled_from(["model.updated", "model.created", "app.event", "state.changed"])},
    optional={
        "timestamp": st.sampled_from([TS, "2026-11-23T10:00:05.000000Z"]),
        "model": _models,
        "object_id": _ids,
        "actor": _text,
        "instance": st.fixed_dictionaries({}, optional={"model": _models, "object_id": _ids}),
        "object_ids": st.lists(_ids, max_size=3),
        "object_repr": _text,
        "message": _text,
    },
)
CRITERIA = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["model.*", "app.event", "*", "*.changed", "[as]*"]),
        "model": _models.map(str.upper),
        "object_id": _ids.map(str),
        "actor": _text,
        "since": st.sampled_from([TS, "2026-11-23T10:00:05.000000Z"]),
        "until": st.sampled_from(["2026-11-23T10:00:05.000000Z", "2026-11-23T11:00:00Z"]),
    },
)


def _escaped(value: Any) -> str:
    """JSON with every character of every string, keys included, as a \\u escape."""
    if isinstance(value, str):
        units = value.encode("utf-16-be", "surrogatepass")
        return (
            '"'
            + "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))
            + '"'
        )
    if isinstance(value, dict):
        return "{" + ",".join(f"{_escaped(k)}:{_escaped(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_escaped(v) for v in value) + "]"
    return json.dumps(value)


WRITERS = {
    # What eventlog writes, native and ECS, and the same in another key order.
    "orjson": lambda e: orjson.dumps(e) + b"\n",
    "ecs": lambda e: orjson.dumps(to_ecs(e)) + b"\n",
    "reordered": lambda e: orjson.dumps(dict(reversed(list(e.items())))) + b"\n",
    "ecs reordered": lambda e: orjson.dumps(dict(reversed(list(to_ecs(e).items())))) + b"\n",
    # Other writers: Python's json (non-ASCII escaped), everything escaped.
    "json ascii": lambda e: json.dumps(e, separators=(",", ":")).encode() + b"\n",
    "all escaped": lambda e: _escaped(e).encode() + b"\n",
}
COMPACT = {"orjson", "ecs", "reordered", "ecs reordered"}


@settings(max_examples=500, deadline=None)
@given(event=EVENTS, criteria=CRITERIA, writer=st.sampled_from(sorted(WRITERS)))
def test_prefilter_and_anchors_never_drop_a_match(event, criteria, writer):
    """Property: whenever the decoded check (matches, on the event a reader
    sees) accepts a line, might_match accepts its bytes, whoever wrote it:
    eventlog native or ECS, keys in another order, values or keys spelt with
    escapes (a line with a backslash is left to the decoder), a filter value
    inside another key's string. And a line eventlog writes (compact, native
    or ECS, any key order) contains one of the filter's anchors, so the
    block scan finds it."""
    flt = reader.Filter(**criteria)
    native = orjson.loads(make_line(event.pop("timestamp", TS), **event))
    line = WRITERS[writer](native)
    seen = decoded(line)
    assert seen is not None
    if not flt.matches(seen):
        return
    assert flt.might_match(line), (writer, line)
    if writer in COMPACT and flt.anchors():
        assert any(anchor in line for anchor in flt.anchors()), (writer, line)


def test_prefilter_rejects_compact_lines_that_lack_a_needle():
    """The pre-filter does reject: a compact line without the model's,
    actor's or id's needle is ruled out before decoding, in either format;
    with a backslash anywhere in the line it is left to the decoder."""
    flt = reader.Filter(model="speedy.employees", object_id="42", actor="bob")
    line = make_line(TS, model="speedy.shifts", object_id="42", actor="bob")
    assert not flt.might_match(line)
    assert not flt.might_match(ecs_line(line))
    assert not flt.might_match(make_line(TS, model="speedy.employees", object_id="4", actor="bob"))
    assert not flt.might_match(make_line(TS, model="speedy.employees", object_id="42"))
    # ECS spells the actor user.name: the actor's needle is not applied there.
    assert flt.might_match(
        ecs_line(make_line(TS, model="speedy.employees", object_id="42", actor="bob"))
    )
    escaped = line.replace(b'"speedy.shifts"', b'"speedy\\u002eshifts"')
    assert flt.might_match(escaped)


def test_scan_decodes_a_candidate_whose_other_values_are_escaped(tmp_path):
    """A line found through the object id's anchor whose model another writer
    spelt with an escape is decoded, not dropped for lacking the model's
    needle; a decoy naming the model and id only inside a string is not
    returned."""
    wanted = make_line(TS, model="speedy.employees", object_id="42", n=1).replace(
        b'"speedy.employees"', b'"speedy\\u002eemployees"'
    )
    decoy = make_line(
        TS, model="speedy.shifts", object_id="42", object_repr='"model":"speedy.employees"', n=2
    )
    plain = make_line(TS, model="speedy.employees", object_id="42", n=3)
    (tmp_path / "events.jsonl").write_bytes(wanted + decoy + plain)
    flt = reader.Filter(model="speedy.employees", object_id="42")
    assert [e["n"] for _raw, e in reader.iter_events(tmp_path, filter=flt)] == [1, 3]
    assert [e["n"] for e in reader.object_events(tmp_path, "speedy.employees", "42")] == [1, 3]


NO_STRINGZILLA = """
import json, sys
sys.modules["stringzilla"] = None  # import stringzilla now raises ImportError
from eventlog.read import scan
from eventlog.reader import Filter, iter_events
scan._BLOCK = 64
reports = []
report = lambda p, n, r: reports.append([n, r])
flt = Filter(object_id="42")
found = [event["n"] for _raw, event in iter_events(sys.argv[1], filter=flt, on_bad_line=report)]
fell_back = scan._find is bytearray.find
print(json.dumps({"bytearray_find": fell_back, "found": found, "reports": reports}))
"""


def test_scan_without_stringzilla_uses_bytearray_find_and_finds_the_same(tmp_path):
    """Where StringZilla cannot be imported the block scan falls back to
    ``bytearray.find`` and finds the lines, and reports the torn final line,
    as it does with StringZilla's search."""
    ids = ["42", "7", "420", "42", "4", "42"]
    lines = [
        make_line(TS, model="speedy.employees", object_id=oid, n=n) for n, oid in enumerate(ids)
    ]
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines) + make_line(TS, object_id="42")[:-5])
    reports: list[list[Any]] = []
    found = [
        event["n"]
        for _raw, event in reader.iter_events(
            tmp_path,
            filter=reader.Filter(object_id="42"),
            on_bad_line=lambda p, n, r: reports.append([n, r]),
        )
    ]
    assert found == [0, 3, 5]
    assert reports == [[7, "incomplete final line (no newline): skipped"]]
    proc = subprocess.run(
        [sys.executable, "-c", NO_STRINGZILLA, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"bytearray_find": True, "found": found, "reports": reports}
