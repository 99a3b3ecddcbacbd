"""End to end with a real shipper: rsyslogd (imfile) tails events.jsonl across
the sink's rotations and forwards every line over TCP to a listener run here.

The rsyslog configuration is docs/shipping/rsyslog.conf itself, unchanged:
its paths and target come from rsyslogd's environment. rsyslogd runs in the
foreground with its own pid file and work directory, so no system service is
touched. `.ci/run` installs rsyslog from Debian's packages; elsewhere the
test is skipped when rsyslogd is missing (and fails under CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter

import orjson
import pytest

from eventlog.signals import event_signal
from tests.helpers import ROOT, all_lines, assert_chains, child_env, run_writers

pytestmark = pytest.mark.slow

CONFIG = ROOT / "docs" / "shipping" / "rsyslog.conf"
PROCESSES = 4
COUNT = 400
# Lines of ~700 bytes and, staggered across the writers, one line close to
# the 64 KiB cap every 100 events per writer (rsyslog's default maxMessageSize
# of 8k would split those): a rotation every ~70 ms, 20-odd in all.
MAX_BYTES = 100_000
# Each writer paces itself (4 ms between events) so that every file lives long
# enough for imfile to open it: imfile watches the live name only, and a file
# created, filled and renamed before it looks is never read (see the notes in
# the config; at the default 10 MiB this takes ~20,000 lines).
PACED_WRITER = """
import sys, time, django
django.setup()
from eventlog.signals import event_signal
name = sys.argv[1]
offset = 25 * int(name[1:])
for n in range(int(sys.argv[2])):
    pad = "p" * (60_000 if (n + offset) % 100 == 50 else 200)
    event_signal.send(sender=name, n=n, message="h\\u00e9llo \\u2713 del:\\x7f", pad=pad)
    time.sleep(0.004)
"""


def _rsyslogd() -> str | None:
    return shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")


class Collector:
    """A loopback TCP listener that keeps every byte it is sent, per connection."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            thread = threading.Thread(target=self._read, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1 << 16):
                with self._lock:
                    self._chunks.append(data)

    def lines(self) -> list[bytes]:
        with self._lock:
            data = b"".join(self._chunks)
        return data.splitlines(keepends=True)

    def close(self, timeout: float) -> None:
        """Stop accepting and wait for the senders to close their connections."""
        self.server.close()
        for thread in self._threads:
            thread.join(timeout)


def _wait_for(collector: Collector, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(collector.lines()) < count:
        time.sleep(0.1)


def test_rsyslog_forwards_every_line_exactly_once_across_rotations(tmp_path, eventlog_dir):
    """Four writer processes log through the real pipeline while the sink rotates
    and gzips the file dozens of times; rsyslogd, configured by the documented
    docs/shipping/rsyslog.conf, delivers each event_id exactly once to a TCP
    listener, byte for byte as written (lines near the 64 KiB cap unsplit,
    non-ASCII and DEL untouched), so the hash chains verify on the far side."""
    rsyslogd = _rsyslogd()
    if rsyslogd is None:
        if os.environ.get("CI"):
            pytest.fail("rsyslogd is not installed: .ci/run installs the Debian package")
        pytest.skip("rsyslogd is not installed (apt-get install rsyslog)")
    work = tmp_path / "rsyslog"
    work.mkdir()
    eventlog_dir.mkdir(parents=True, exist_ok=True)
    collector = Collector()
    env = {
        **os.environ,
        "EVENTLOG_DIR": str(eventlog_dir),
        "RSYSLOG_WORKDIR": str(work),
        "EVENTLOG_SHIP_HOST": "127.0.0.1",
        "EVENTLOG_SHIP_PORT": str(collector.port),
    }
    errors = (tmp_path / "rsyslogd.err").open("wb")
    daemon = subprocess.Popen(
        [rsyslogd, "-n", "-f", str(CONFIG), "-i", str(work / "rsyslogd.pid")],
        env=env,
        stdout=errors,
        stderr=subprocess.STDOUT,
    )
    try:
        # Ready when a first event, written here, has come through.
        event_signal.send(sender="probe", message="rsyslogd is tailing")
        _wait_for(collector, 1, timeout=60)
        if daemon.poll() is not None:
            pytest.fail(f"rsyslogd exited: {(tmp_path / 'rsyslogd.err').read_text()[-2000:]}")
        assert collector.lines(), "rsyslogd forwarded nothing within a minute"
        run_writers(
            child_env(
                eventlog_dir, EVENTLOG_MAX_BYTES=str(MAX_BYTES), EVENTLOG_BACKUP_COUNT="100000"
            ),
            PROCESSES,
            COUNT,
            script=PACED_WRITER,
        )
        written = all_lines(eventlog_dir)
        # Drained: everything written has arrived (or the time is up and the
        # assertions below say what is missing).
        _wait_for(collector, len(written), timeout=120)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        errors.close()
        collector.close(timeout=30)
    received = collector.lines()

    assert len(written) == PROCESSES * COUNT + 1
    assert len(list(eventlog_dir.glob("events.jsonl.*.gz"))) >= 10  # rotations happened
    sent = Counter(orjson.loads(line)["event_id"] for line in written)
    arrived = Counter(orjson.loads(line)["event_id"] for line in received)
    missing = sorted(set(sent) - set(arrived))
    twice = sorted(i for i, n in arrived.items() if n > 1)
    assert not missing, f"{len(missing)} event(s) never arrived, e.g. {missing[:3]}"
    assert not twice, f"{len(twice)} event(s) arrived more than once, e.g. {twice[:3]}"
    assert set(arrived) == set(sent)
    # Byte for byte: the far side can verify the chains itself.
    assert sorted(received) == sorted(written)
    assert max(len(line) for line in received) > 60_000
    assert_chains(sorted(received, key=lambda raw: orjson.loads(raw)["seq"]))
