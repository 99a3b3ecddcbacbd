"""The file sink: appends chained JSON lines to a live file shared by processes.

Why not :class:`logging.handlers.RotatingFileHandler`: every process checks
its own descriptor's size and rotates on its own, so under several worker
processes lines are lost and misplaced (FIELD-NOTES: 8-21k of 40k lines lost).
Why not a lock file per record (concurrent-log-handler): it serializes every
write across processes and compresses inside the lock on the request path.

The protocol here costs a shared ``flock`` and a ``stat`` per line:

* every process appends whole lines with one ``write()`` on an ``O_APPEND``
  descriptor, so lines from different processes never interleave;
* a writer holds a *shared* ``flock`` on its descriptor while it checks that
  the path still names its inode and writes; if not (rotated, or moved by
  logrotate, or deleted), it reopens the path first;
* the process that sees the file past ``max_bytes`` takes an *exclusive*
  ``flock``, which waits for writes in flight, re-checks (another process may
  have rotated already), renames the file to a name that sorts by age and
  lets go. No line can enter the renamed file afterwards, so it is complete
  and a background thread compresses it and applies retention, off the
  request path.

Integrity: each sink in each process is a *stream* with a gap-free ``seq``
and a hash chain (SHA-256, or HMAC-SHA256 when keyed) over the exact bytes of
each line without its ``hash`` field, prefixed by the previous line's hash. A
forked child starts a stream of its own.

Nothing here raises to the caller: a failed write keeps the line in a bounded
backlog, is reported once per burst (stderr and the ``eventlog`` logger, which
goes to ``django.jsonl``) and counted, and the backlog is written first once
the cause goes away.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import re
import secrets
import shutil
import socket
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import orjson

from eventlog import _clock, _integrity

__all__ = ["FileSink", "SinkStats", "rotated_files"]

FILE_MODE: Final = 0o640
DIR_MODE: Final = 0o750
BACKLOG_MAX: Final = 10_000
REPORT_EVERY_S: Final = 60.0
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
_HOST: Final = socket.gethostname().split(".")[0] or "host"


@dataclass(slots=True)
class SinkStats:
    """Counters of one sink in this process."""

    written: int = 0
    failures: int = 0
    dropped: int = 0
    rotations: int = 0
    backlog: int = 0
    last_error: str | None = None
    reported_at: float = field(default=0.0, repr=False)


def rotated_name(path: Path) -> Path:
    """The name a live file gets when rotated now: ``<name>.<UTC time>``, which
    sorts by age (``events.jsonl.2026-11-23T10-15-00.123456Z``)."""
    stamp = _clock.format_ns(time.time_ns()).replace(":", "-")
    target = path.with_name(f"{path.name}.{stamp}")
    n = 1
    while target.exists() or target.with_name(target.name + ".gz").exists():
        target = path.with_name(f"{path.name}.{stamp}-{n}")
        n += 1
    return target


ROTATED_SUFFIX: Final = re.compile(
    r"\.(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}Z)(?:-(?P<n>\d+))?(?P<gz>\.gz)?"
)


def rotated_files(path: Path) -> list[Path]:
    """Rotated files of the live file ``path``, oldest first.

    Only names this sink makes count (``<name>.<UTC stamp>[-N][.gz]``), so a
    ``events.jsonl.bak`` is never read or pruned. A file caught between
    compression and the removal of the original is listed once, as the
    ``.gz`` (both are complete, the original is about to go).
    """
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".")]
    except OSError:
        return []
    found: dict[tuple[str, int], Path] = {}
    for candidate in candidates:
        match = ROTATED_SUFFIX.fullmatch(candidate.name[len(path.name) :])
        if match is None:
            continue
        key = (match["stamp"], int(match["n"] or 0))
        if key not in found or match["gz"]:
            found[key] = candidate
    return [found[key] for key in sorted(found)]


class FileSink:
    """Appends lines to ``path``; safe across threads, processes and forks."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 0,
        backup_count: int = 10,
        hmac_key: bytes | None = None,
        on_failure: Callable[[FileSink, str], None] | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._key = hmac_key
        self._on_failure = on_failure
        self.stats = SinkStats()
        self._lock = threading.Lock()
        self._fd = -1
        self._ino = (-1, -1)  # (st_dev, st_ino) of the open file
        self._backlog: deque[bytes] = deque()
        self._failing = False
        self._torn = False
        self._pending_report: str | None = None
        self._compressor: threading.Thread | None = None
        self._new_stream()
        _live_sinks.add(self)

    # -- streams -----------------------------------------------------------------

    def _new_stream(self) -> None:
        self._pid = os.getpid()
        self.stream = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
        self._stream_part = b',"stream":' + orjson.dumps(self.stream) + b',"seq":'
        self._seq = 0
        self._prev = b""

    def _close_fd(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._ino = -1, (-1, -1)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._close_fd()
        self._backlog.clear()
        self._compressor = None
        self.stats = SinkStats()
        self._new_stream()

    # -- writing -----------------------------------------------------------------

    def write(self, rendered: bytes) -> None:
        """Append one event, given as a rendered JSON object (``{...}``, no
        newline), after adding ``stream``, ``seq`` and ``hash``. Never raises."""
        if os.getpid() != self._pid:
            # Forked without Python's fork hooks (uWSGI without
            # py-call-osafterfork): start this process's own stream and file
            # description here.
            self._after_fork_in_child()
        with self._lock:
            self._seq += 1
            body = rendered[:-1] + self._stream_part + str(self._seq).encode() + b"}"
            digest = _integrity.chain(self._prev, body, self._key)
            self._prev = digest
            line = _integrity.seal(body, digest)
            size = 0
            if not self._backlog or self._drain():
                try:
                    size = self._append(line)
                    self.stats.written += 1
                    self._recovered()
                except OSError as exc:
                    self._keep(line)
                    self._failed(exc)
            else:
                self._keep(line)
            report, self._pending_report = self._pending_report, None
        if report is not None and self._on_failure is not None:
            # Outside the lock: the report may come back to this very sink.
            with contextlib.suppress(Exception):
                self._on_failure(self, report)
        if self.max_bytes and size > self.max_bytes:
            self._rotate()

    def _keep(self, line: bytes) -> None:
        if len(self._backlog) >= BACKLOG_MAX:
            self._backlog.popleft()
            self.stats.dropped += 1
        self._backlog.append(line)
        self.stats.backlog = len(self._backlog)

    def _drain(self) -> bool:
        try:
            while self._backlog:
                self._append(self._backlog[0])
                self._backlog.popleft()
                self.stats.written += 1
        except OSError as exc:
            self._failed(exc)
            return False
        finally:
            self.stats.backlog = len(self._backlog)
        return True

    def _open(self) -> int:
        self._close_fd()
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(self.path, _OPEN_FLAGS, FILE_MODE)
        st = os.fstat(fd)
        self._fd, self._ino = fd, (st.st_dev, st.st_ino)
        return fd

    def _append(self, line: bytes) -> int:
        """Write ``line`` to the file now at ``path``; return the file's size
        after it (as far as this process knows)."""
        fd = self._fd if self._fd >= 0 else self._open()
        while True:
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                try:
                    st = os.lstat(self.path)
                except FileNotFoundError:
                    st = None
                if st is not None and (st.st_dev, st.st_ino) == self._ino:
                    if self._torn:
                        # A failed write left part of a line: end it, so the
                        # fragment stays a line of its own (verify reports it)
                        # and this line parses.
                        line = b"\n" + line
                    self._write_all(fd, line)
                    self._torn = False
                    return st.st_size + len(line)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            fd = self._open()

    def _write_all(self, fd: int, line: bytes) -> None:
        view = memoryview(line)
        while view:
            try:
                written = os.write(fd, view)
            except OSError:
                if len(view) < len(line):
                    self._torn = True
                raise
            if written == 0:
                raise OSError("write() wrote nothing")
            view = view[written:]

    # -- failures ----------------------------------------------------------------

    def _failed(self, exc: OSError) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        if self._failing and now - self.stats.reported_at < REPORT_EVERY_S:
            return
        self._failing = True
        self.stats.reported_at = now
        message = (
            f"eventlog: cannot write {self.path}: {self.stats.last_error}; "
            f"{len(self._backlog)} line(s) kept for retry, {self.stats.dropped} dropped"
        )
        with contextlib.suppress(Exception):
            print(message, file=sys.stderr, flush=True)
        self._pending_report = message  # sent by write() once the lock is released

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            message = f"eventlog: writing {self.path} again after {self.stats.failures} failure(s)"
            with contextlib.suppress(Exception):
                print(message, file=sys.stderr, flush=True)

    # -- rotation ----------------------------------------------------------------

    def _rotate(self) -> None:
        """Rename the live file if it is still over the limit; never raises."""
        try:
            with self._lock:
                target = self._rename_if_due()
        except OSError as exc:
            self._failed(exc)
            return
        if target is not None:
            self.stats.rotations += 1
            self._compress_later(target)

    def _rename_if_due(self) -> Path | None:
        fd = self._fd
        if fd < 0:
            return None
        try:
            # Not blocking: under constant writes from other processes an
            # exclusive flock can wait long; the next write over the limit
            # tries again.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            try:
                st = os.lstat(self.path)
            except FileNotFoundError:
                return None
            if (st.st_dev, st.st_ino) != self._ino or st.st_size <= self.max_bytes:
                return None  # another process rotated first
            target = rotated_name(self.path)
            os.rename(self.path, target)
            return target
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _compress_later(self, target: Path) -> None:
        thread = threading.Thread(
            target=self._compress_and_prune, args=(target,), name="eventlog-gzip", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down: the next rotation compresses it
            return
        self._compressor = thread

    def _compress_and_prune(self, target: Path) -> None:
        try:
            sweep_stale_tmp(self.path)
            for path in rotated_files(self.path):
                if not path.name.endswith(".gz"):
                    compress(path)
            prune(self.path, self.backup_count)
        except OSError as exc:
            with contextlib.suppress(Exception):
                print(f"eventlog: cannot compress {target}: {exc}", file=sys.stderr, flush=True)

    def wait(self) -> None:
        """Wait for a background compression to finish (tests, shutdown)."""
        thread = self._compressor
        if thread is not None:
            thread.join()

    def close(self) -> None:
        """Close the descriptor; a later write reopens it."""
        with self._lock:
            self._close_fd()


def compress(path: Path) -> None:
    """Gzip ``path`` to ``path.gz`` (through a ``.tmp`` name, so a reader never
    sees half a file) and remove ``path``. A reader or shipper that still has
    ``path`` open keeps reading it to its end."""
    final = path.with_name(path.name + ".gz")
    if final.exists():
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f"{path.name}.gz.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with path.open("rb") as src:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            with (
                open(fd, "wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as dst,
            ):
                shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, final)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return  # another process compressed it first
    path.unlink(missing_ok=True)


def sweep_stale_tmp(path: Path, older_than_s: float = 3600.0) -> None:
    """Remove compression temporaries of ``path`` left by a process that died
    mid-compression (older than ``older_than_s``)."""
    cutoff = time.time() - older_than_s
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(path.name + ".*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()


def prune(path: Path, keep: int) -> None:
    """Delete the oldest rotated files of ``path`` beyond ``keep``."""
    files = rotated_files(path)
    for old in files[: max(0, len(files) - keep)]:
        old.unlink(missing_ok=True)


_live_sinks: weakref.WeakSet[FileSink] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for sink in list(_live_sinks):
        sink._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
