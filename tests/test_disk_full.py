"""A full file system: saves never break, failures are reported, and the sink
writes everything it kept once space returns. Uses a real tiny tmpfs (needs
root or CAP_SYS_ADMIN, as in CI); where mounting is impossible the test is
skipped with the reason (RLIMIT_FSIZE covers short writes in test_sink.py)."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from eventlog.core import integrity as _integrity
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted for the test (unmounted after)."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}")
    try:
        yield mountpoint
    finally:
        _pipeline.configure()  # close the sinks' descriptors before unmounting
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` up with a filler file."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while f.write(b"\0" * 4096):
                pass
        except OSError:
            pass
    return filler


def whole_lines(path: Path) -> tuple[list[bytes], list[bytes]]:
    """The lines of ``path`` that parse, and the fragments that do not."""
    whole, torn = [], []
    for line in path.read_bytes().splitlines():
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            torn.append(line)
        else:
            whole.append(line)
    return whole, torn


@pytest.mark.django_db(transaction=True)
def test_saves_survive_a_full_disk_and_every_line_is_written_when_space_returns(
    tiny_fs, settings, capfd
):
    """With the log's file system full, model saves and events go on without an
    exception; the failure is reported on stderr once per burst and counted;
    after space is freed the next write empties the backlog: every event is in
    the file exactly once, whole, gap-free and chained."""
    settings.EVENTLOG_DIR = str(tiny_fs / "logs")
    event_signal.send(sender="t", n=-1, message="before")
    filler = fill(tiny_fs)
    for n in range(40):
        Employees.objects.create(
            first_name=f"F{n}",
            last_name="L",
            age=30,
            date_of_birth=dt.date(1990, 1, 1),
        )
        event_signal.send(sender="t", n=n, message="while full", pad="p" * 300)
    sink = _pipeline.get_sink("events.jsonl")
    assert isinstance(sink, _pipeline.FileSink)
    assert sink.stats.failures > 0
    assert sink.stats.backlog > 0
    err = capfd.readouterr().err
    assert "No space left on device" in err
    assert err.count("cannot write") <= 2  # once per burst and file, not per line
    assert Employees.objects.count() == 40

    filler.unlink()
    event_signal.send(sender="t", n=40, message="after")
    assert sink.stats.backlog == 0
    assert "again after" in capfd.readouterr().err
    whole, torn = whole_lines(tiny_fs / "logs" / "events.jsonl")
    parsed = [orjson.loads(line) for line in whole]
    app = [p["n"] for p in parsed if p["event"] == "app.event"]
    assert app == list(range(-1, 41))
    assert [p["seq"] for p in parsed] == list(range(1, len(parsed) + 1))
    previous = b""
    for line in whole:
        split = _integrity.split(line + b"\n")
        assert split is not None
        assert _integrity.chain(previous, split[0], None) == split[1]
        previous = split[1]
    assert len(torn) <= 1  # at most the fragment of the first short write
