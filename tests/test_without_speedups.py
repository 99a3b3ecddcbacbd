"""eventlog without its optional speed-ups (the ``[speed]`` extra): the readers
fall back to ``bytearray.find`` when StringZilla cannot be imported, and a
history lookup finds the same lines with it. Run in a child process with the
import blocked, so this holds whether or not the extra is installed here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from eventlog import reader
from tests.helpers import make_line

ROOT = Path(__file__).resolve().parent.parent


def test_pick_find_falls_back_to_bytearray_find(monkeypatch):
    # None in sys.modules makes `from stringzilla import find` raise ImportError.
    monkeypatch.setitem(sys.modules, "stringzilla", None)
    assert reader._pick_find() is bytearray.find


def test_object_history_without_stringzilla(tmp_path):
    lines = [
        make_line(
            "2026-11-23T10:00:00.000000Z", "model.created", model="shop.order", object_id="7"
        ),
        make_line(
            "2026-11-23T10:00:01.000000Z", "model.created", model="shop.order", object_id="8"
        ),
        make_line(
            "2026-11-23T10:00:02.000000Z", "model.updated", model="shop.order", object_id="7"
        ),
    ]
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines))
    script = textwrap.dedent(
        """
        import sys
        sys.modules["stringzilla"] = None
        from eventlog import reader
        assert reader._find is bytearray.find, reader._find
        found = [e["event"] for e in reader.object_events(sys.argv[1], "shop.order", "7")]
        print(" ".join(found))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["model.created", "model.updated"]
