"""The file sink: appends chained JSON lines to a live file shared by processes.

Why not :class:`logging.handlers.RotatingFileHandler`: every process checks
its own descriptor's size and rotates on its own, so under several worker
processes lines are lost and misplaced (FIELD-NOTES: 8-21k of 40k lines lost).
Why not a lock file per record (concurrent-log-handler): it serializes every
write across processes and compresses inside the lock on the request path.

The protocol here costs a shared ``flock`` and a check per line:

* every process appends whole lines with one ``write()`` on an ``O_APPEND``
  descriptor, so lines from different processes never interleave;
* a writer holds a *shared* ``flock`` on its descriptor while it checks that
  the path still names its inode and writes; if not (rotated, or moved by
  logrotate, or deleted), it reopens the path first. With size rotation the
  check is the rotation counter of :mod:`eventlog.write.generation` (an 8-byte
  ``pread``), with an ``lstat`` at least once a second for renames and
  deletions made by other tools; otherwise (time rotation, external rotation)
  an ``lstat`` per line;
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

Around this module: :mod:`eventlog.write.rotation` names, lists, compresses and
prunes rotated files (also by age, and time-based rotation periods);
:mod:`eventlog.conf.durability` the fsync policies; :mod:`eventlog.write.writer` the
optional background writer in front of a sink.

Nothing here raises to the caller: a failed write keeps the line in a bounded
backlog (lines and bytes), is reported once per burst (stderr and the ``eventlog`` logger, which
goes to ``django.jsonl``) and counted, and the backlog is written first once
the cause goes away.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import secrets
import socket
import stat
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import orjson

from eventlog.conf.durability import WRITE, Durability
from eventlog.core import integrity as _integrity
from eventlog.core.files import not_regular
from eventlog.write import clock as _clock
from eventlog.write.fsync import PeriodicSync
from eventlog.write.generation import Generation
from eventlog.write.rotation import compress_and_prune, period_start_ns, rotated_name

__all__ = ["CHECKPOINT", "FileSink", "Sink", "SinkStats"]

CHECKPOINT: Final = "eventlog.checkpoint"

FILE_MODE: Final = 0o640
DIR_MODE: Final = 0o750
BACKLOG_MAX: Final = 10_000
BACKLOG_MAX_BYTES: Final = 16 * 1024 * 1024
REPORT_EVERY_S: Final = 60.0
# Non-blocking: opening a FIFO put at the live path would otherwise wait for a
# reader forever, inside the caller's request.
_OPEN_FLAGS: Final = (
    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
)
_HOST: Final = socket.gethostname().split(".")[0] or "host"
# Past this many times max_bytes, the process that sees the file waits for the
# exclusive lock instead of trying without waiting: under constant writes from
# many processes a non-blocking attempt can keep failing and let a file grow
# far past the limit.
_OVERSHOOT: Final = 2
# With size rotation, how long a writer trusts the rotation counter alone: a
# live file renamed or deleted by another tool is noticed within this time.
RECHECK_S: Final = 1.0


class Sink(Protocol):
    """What the pipeline writes to: a :class:`FileSink`, or a
    :class:`eventlog.write.writer.BackgroundWriter` in front of one."""

    path: Path

    def write(self, rendered: bytes) -> None: ...
    def wait(self) -> None: ...
    def close(self) -> None: ...


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


class FileSink:
    """Appends lines to ``path``; safe across threads, processes and forks.

    ``max_bytes`` (0: never) and ``rotate_interval_s`` (0: never) rotate the
    file; with both 0 the sink never renames anything and only follows renames
    made by others (logrotate, ``EVENTLOG_ROTATION = "external"``).
    ``backup_count`` and ``max_age_days`` bound the rotated files kept.
    ``durability`` says when ``fsync()`` is called.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 0,
        backup_count: int = 10,
        hmac_key: bytes | None = None,
        on_failure: Callable[[FileSink, str], None] | None = None,
        rotate_interval_s: int = 0,
        max_age_days: float = 0.0,
        durability: Durability = WRITE,
        backlog_bytes: int = BACKLOG_MAX_BYTES,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.rotate_interval_s = rotate_interval_s
        self.max_age_s = max_age_days * 86400.0
        self.durability = durability
        self._fsyncs = durability.every_line or durability.interval_ms > 0
        self.backlog_bytes = backlog_bytes
        self._key = hmac_key
        self._on_failure = on_failure
        self.stats = SinkStats()
        self._lock = threading.Lock()
        self._fd = -1
        self._ino = (-1, -1)  # (st_dev, st_ino) of the open file
        self._backlog: deque[bytes] = deque()
        self._backlog_size = 0
        self._failing = False
        self._torn = False
        self._done = 0  # bytes of the current batch's failed write() that reached the file
        self._dirty = False
        self._syncer: PeriodicSync | None = None
        self._pruned_at_start = False
        self._pending_report: str | None = None
        # Every compression still running: a later one can finish first.
        self._compressors: list[threading.Thread] = []
        # Size rotation only: time rotation reads the file's mtime per line,
        # and with external rotation renames come from elsewhere.
        self._generation = (
            Generation(path, FILE_MODE) if max_bytes and not rotate_interval_s else None
        )
        # (descriptor, bytes) of the counter as read when the open descriptor
        # was known current: the same bytes read again mean it still is.
        self._gen: tuple[int, bytes] | None = None
        # The size is looked at (lseek) after every 1/64 of max_bytes this
        # process wrote: a file ends at most that much per writing process
        # past the limit, for a system call per line less.
        self._size_every = max_bytes // 64 if max_bytes else sys.maxsize
        self._unsized = 0
        self._recheck_at = 0.0
        self._new_stream()
        _live_sinks.add(self)

    # -- streams -----------------------------------------------------------------

    def _new_stream(self) -> None:
        self._pid = os.getpid()
        self.stream = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
        self._stream_part = b',"stream":' + orjson.dumps(self.stream) + b',"seq":'
        self._seq = 0
        self._prev = b""
        self._fresh = False  # the next line goes first in a file: a checkpoint before it
        self._head = 0  # the seq of the line whose hash is _prev (dropped lines skip it)
        self._start = (0, b"", 0)  # seq, hash and head before the batch being written
        self._sealed: list[bytes] = []  # the lines of that batch, sealed

    def _close_fd(self) -> None:
        if self._fd >= 0:
            if self._dirty:  # periodic fsync: lines of the file we leave are synced too
                self._dirty = False
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._ino, self._gen = -1, (-1, -1), None

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._dirty = False  # the parent syncs what it wrote
        self._close_fd()
        if self._generation is not None:
            # flock belongs to the open file description, which the parent
            # shares: the child needs its own for bump() to exclude the parent.
            self._generation.close()
        self._backlog.clear()
        self._backlog_size = 0
        self._compressors = []
        self._syncer = None
        self.stats = SinkStats()
        self._new_stream()

    # -- writing -----------------------------------------------------------------

    def write(self, rendered: bytes) -> None:
        """Append one event, given as a rendered JSON object (``{...}``, no
        newline), after adding ``stream``, ``seq`` and ``hash``. Never raises.

        The usual line (file open and known current, nothing kept for retry,
        no checkpoint due) is sealed and appended here, in one method: this
        runs for every line, and each call it avoids is a measurable part of
        the line. Anything else, and a rotation counter that moved or a
        recheck that is due, goes the way of :meth:`write_many`."""
        if _clock.last_pid() != self._pid:
            self._after_fork_in_child()
        with self._lock:
            size = -1
            fd, gen = self._fd, self._gen
            if fd >= 0 and gen is not None and not (self._backlog or self._fresh or self._torn):
                line = b""
                self._done = 0
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH)
                    try:
                        # The counter unchanged since the open, and no recheck due.
                        if os.pread(gen[0], 8, 0) == gen[1] and time.monotonic() < self._recheck_at:
                            seq = self._seq + 1
                            digest, line = _integrity.seal_next(
                                self._prev,
                                rendered[:-1] + self._stream_part + str(seq).encode(),
                                self._key,
                            )
                            written = os.write(fd, line)
                            if written != len(line):
                                self._write_rest(fd, line, written)
                            self._seq = self._head = seq
                            self._prev = digest
                            size = 0  # written: from here on, never kept for retry
                            self._unsized += len(line)
                            if self._unsized >= self._size_every:
                                self._unsized = 0
                                # On O_APPEND the offset is the end of this
                                # line: the size, without a stat.
                                size = os.lseek(fd, 0, os.SEEK_CUR)
                    finally:
                        fcntl.flock(fd, fcntl.LOCK_UN)
                except OSError as exc:
                    if line and size < 0:  # sealed, not written whole: kept for retry
                        self._keep(rendered)
                        self._failed(exc)
                        line, size = b"", 0
                    # Else nothing was sealed (the lock or the counter failed):
                    # the general path below checks the file and decides.
                if line and size >= 0:
                    self.stats.written += 1
                    if self._fsyncs:
                        self._synced()
                    if self._failing:
                        self._recovered()
            if size < 0:
                size = self._write_locked((rendered,))
            report, self._pending_report = self._pending_report, None
        if report is not None and self._on_failure is not None:
            with contextlib.suppress(Exception):
                self._on_failure(self, report)
        if self.max_bytes and size > self.max_bytes:
            self._rotate(size)

    def _write_rest(self, fd: int, line: bytes, written: int) -> None:
        """After a short ``write()`` of ``line``: the rest, as :meth:`_write_all`."""
        if written <= 0:
            raise OSError("write() wrote nothing")
        self._write_all(fd, line[written:], already=written)

    def write_many(self, batch: Sequence[bytes]) -> None:
        """Append several events as :meth:`write` does, in order, with one
        ``write()`` for all of them (the background writer's batches: lines
        from other processes still never interleave with any of them)."""
        if _clock.last_pid() != self._pid:
            # Forked without Python's fork hooks (uWSGI without
            # py-call-osafterfork): start this process's own stream and file
            # description here. Every line's id was made just before, and that
            # checked the process id.
            self._after_fork_in_child()
        with self._lock:
            size = self._write_locked(batch)
            report, self._pending_report = self._pending_report, None
        if report is not None and self._on_failure is not None:
            # Outside the lock: the report may come back to this very sink.
            with contextlib.suppress(Exception):
                self._on_failure(self, report)
        if self.max_bytes and size > self.max_bytes:
            self._rotate(size)

    def _write_locked(self, batch: Sequence[bytes]) -> int:
        """Under the lock: the backlog first, then ``batch`` (or ``batch``
        kept when the backlog could not be written). The file's size, or 0."""
        if not self._backlog or self._drain():
            return self._write_rendered(batch)
        for rendered in batch:
            self._keep(rendered)
        return 0

    def _write_rendered(self, batch: Sequence[bytes]) -> int:
        """Seal and write ``batch`` (rendered, unsealed) with one ``write()``;
        on failure keep the lines not written whole. The file's size, or 0."""
        self._done = 0  # a failure before the write() leaves it so
        self._sealed = []
        try:
            size = self._append(batch)
        except OSError as exc:
            self._keep_unwritten(batch)
            self._failed(exc)
            return 0
        self.stats.written += len(batch)
        if self._fsyncs:
            self._synced()
        self._recovered()
        return size

    def _seal_batch(self, batch: Sequence[bytes]) -> bytes:
        """The lines of ``batch`` sealed in turn, after a checkpoint when this is
        the stream's first write to the open file: sealed here, once the file
        is known, so that a checkpoint always comes first."""
        self._start = (self._seq, self._prev, self._head)
        sealed = self._sealed = []
        if self._fresh:
            sealed.append(self._checkpoint())
        for rendered in batch:
            sealed.append(self._seal(rendered))
        return sealed[0] if len(sealed) == 1 else b"".join(sealed)

    def _seal(self, rendered: bytes) -> bytes:
        """The complete line of ``rendered``: next ``seq``, chained ``hash``."""
        self._seq += 1
        head = rendered[:-1] + self._stream_part + str(self._seq).encode()
        digest, line = _integrity.seal_next(self._prev, head, self._key)
        self._prev, self._head = digest, self._seq
        return line

    def _checkpoint(self) -> bytes:
        """An ``eventlog.checkpoint`` line: its ``prev`` is the stream's chain
        head, so under the key a verifier can check it without the lines before
        it (pruned) and start the stream there."""
        timestamp, event_id = _clock.now()
        rendered = orjson.dumps(
            {
                "timestamp": timestamp,
                "level": "info",
                "event": CHECKPOINT,
                "event_id": event_id,
                "schema_version": 1,
                "log": self.path.name,
                "prev": self._prev.decode(),
                # Lines dropped since (a full backlog) lie between the two:
                # verify reports them as missing even once the file before
                # this one is pruned.
                "prev_seq": self._head,
            }
        )
        return self._seal(rendered)

    def _keep_unwritten(self, batch: Sequence[bytes]) -> None:
        """After a failed write of ``batch``: take back the ``seq``\\ s of the
        lines not written whole and keep them for retry (a torn one is sealed
        and written again whole later)."""
        done = self._done
        whole = 0
        for line in self._sealed:
            if done < len(line):
                break
            done -= len(line)
            whole += 1
        if whole:
            last = _integrity.split(self._sealed[whole - 1])
            assert last is not None  # sealed here
            self._seq, self._prev = self._start[0] + whole, last[1]
            self._head = self._seq
            if self._fresh:
                self._fresh = False
                whole -= 1
        elif self._sealed:
            self._seq, self._prev, self._head = self._start
        self.stats.written += whole
        for rendered in batch[whole:]:
            self._keep(rendered)
        self._sealed = []

    def _keep(self, line: bytes) -> None:
        """Keep the rendered ``line`` for retry; past the bounds drop the oldest,
        each taking a ``seq`` so that verify sees the gap."""
        backlog = self._backlog
        while backlog and (
            len(backlog) >= BACKLOG_MAX or self._backlog_size + len(line) > self.backlog_bytes
        ):
            self._backlog_size -= len(backlog.popleft())
            self.stats.dropped += 1
            self._seq += 1
        backlog.append(line)
        self._backlog_size += len(line)
        self.stats.backlog = len(backlog)

    def _drain(self) -> bool:
        """Write the backlog with one ``write()``; whether it is empty now."""
        backlog = list(self._backlog)
        self._backlog.clear()
        self._backlog_size = 0
        self._write_rendered(backlog)
        self.stats.backlog = len(self._backlog)
        return not self._backlog

    def _open(self) -> int:
        self._close_fd()
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # Read before the open: a rotation between the two then shows as a
        # changed counter, never the other way round.
        gen = self._generation.read() if self._generation is not None else None
        try:
            fd = os.open(self.path, _OPEN_FLAGS, FILE_MODE)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a FIFO or socket with no reader
                raise OSError(exc.errno, "not a regular file but a FIFO or socket") from exc
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, not_regular(st.st_mode))
            os.set_blocking(fd, True)
        except OSError:
            os.close(fd)
            raise
        self._fd, self._ino = fd, (st.st_dev, st.st_ino)
        self._gen, self._recheck_at = gen, time.monotonic() + RECHECK_S
        # Under a key, a stream that goes on in another file starts it with a
        # checkpoint (without one, anyone can compute the chain anyway).
        self._fresh = self._key is not None and self._seq > 0
        if not self._pruned_at_start and self.max_age_s and self._rotates():
            # Age retention also applies to a process that never rotates.
            self._pruned_at_start = True
            self._compress_later()
        return fd

    def _rotates(self) -> bool:
        return bool(self.max_bytes or self.rotate_interval_s)

    def _append(self, batch: Sequence[bytes]) -> int:
        """Seal ``batch`` and write it to the file now at ``path``; return the
        file's size after it (as far as this process knows)."""
        fd = self._fd if self._fd >= 0 else self._open()
        generation = self._generation
        while True:
            period_due = False
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                gen = generation.read() if generation is not None else None
                if gen is not None and gen == self._gen and time.monotonic() < self._recheck_at:
                    return self._write_line(fd, self._seal_batch(batch))
                try:
                    st = os.lstat(self.path)
                except FileNotFoundError:
                    st = None
                if st is not None and (st.st_dev, st.st_ino) == self._ino:
                    if self.rotate_interval_s and self._from_past_period(st):
                        period_due = True
                    else:
                        # Still the live file: trust this counter value for a while.
                        self._gen, self._recheck_at = gen, time.monotonic() + RECHECK_S
                        return self._write_line(fd, self._seal_batch(batch))
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            if period_due:
                # The file holds lines of an earlier period: rotate before this
                # line goes in (waiting for the exclusive lock: once a period).
                self._rename_if(self._from_past_period, blocking=True)
            fd = self._open()

    def _write_line(self, fd: int, line: bytes) -> int:
        """Write ``line`` whole; return the file's size just after it."""
        if self._torn:
            # A failed write left part of a line: end it, so the fragment stays
            # a line of its own (verify reports it) and this line parses.
            self._write_all(fd, b"\n")  # on failure: nothing of ``line`` written
            self._torn = False
        self._write_all(fd, line)
        self._fresh = False
        self._unsized += len(line)
        if self._unsized < self._size_every:
            return 0  # not looked at: the file is still far from a decision
        self._unsized = 0
        # On O_APPEND the offset is the end of this line: the size, without
        # the cost of a stat.
        return os.lseek(fd, 0, os.SEEK_CUR)

    def _from_past_period(self, st: os.stat_result) -> bool:
        """The file was last written before the current period began (its
        mtime, to the file system's timestamp granularity)."""
        start = period_start_ns(time.time_ns(), self.rotate_interval_s)
        return st.st_size > 0 and st.st_mtime_ns < start

    def _write_all(self, fd: int, line: bytes, already: int = 0) -> None:
        """Write ``line`` whole (the rest of a line of which ``already`` bytes
        are written); on failure ``_done`` says how many bytes of the whole
        line reached the file, and a part of one leaves the file torn."""
        view = memoryview(line)
        while view:
            try:
                written = os.write(fd, view)
                if written == 0:
                    raise OSError("write() wrote nothing")
            except OSError:
                self._done = already + len(line) - len(view)  # bytes of the line written
                if self._done:
                    self._torn = True
                raise
            view = view[written:]

    # -- durability --------------------------------------------------------------

    def _synced(self) -> None:
        """After a write: fsync now, or mark the file for the periodic fsync."""
        if self.durability.every_line:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._failed(exc)
            return
        self._dirty = True
        if self._syncer is None:
            self._syncer = PeriodicSync(
                self.durability.interval_ms, self.sync, name="eventlog-fsync"
            )
            if not self._syncer.start():
                self._syncer = None
                self._close_fd()  # interpreter exit: sync now

    def sync(self) -> None:
        """``fsync()`` the open file if lines were written since the last one."""
        with self._lock:
            if not self._dirty or self._fd < 0:
                return
            self._dirty = False
            try:
                fd = os.dup(self._fd)
            except OSError:
                return
        try:  # outside the lock: writers do not wait for the disk
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(Exception):
                print(f"eventlog: cannot fsync {self.path}: {exc}", file=sys.stderr, flush=True)
        finally:
            os.close(fd)

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

    def _rotate(self, size: int) -> None:
        """Rename the live file if it is still over the limit; never raises."""
        try:
            with self._lock:
                self._rename_if(
                    lambda st: st.st_size > self.max_bytes,
                    blocking=size > _OVERSHOOT * self.max_bytes,
                )
        except OSError as exc:
            self._failed(exc)

    def _rename_if(self, due: Callable[[os.stat_result], bool], *, blocking: bool) -> None:
        """Under the exclusive flock (which waits for writes in flight), rename
        the live file if it is still ours and ``due``; then compress it later.
        Without ``blocking`` give up when the lock is taken: the next write
        over the limit tries again."""
        fd = self._fd
        if fd < 0:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        try:
            try:
                st = os.lstat(self.path)
            except FileNotFoundError:
                return
            if (st.st_dev, st.st_ino) != self._ino or not due(st):
                return  # another process rotated first
            os.rename(self.path, rotated_name(self.path))
            # After the rename, so that a counter read before an open always
            # predates what the open finds (see _open).
            told = self._generation is None or self._generation.bump()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self.stats.rotations += 1
        # If the counter could not move, writers may add lines to the renamed
        # file until their next lstat: compress it only after that.
        self._compress_later(delay=0.0 if told else RECHECK_S + 0.1)

    def _compress_later(self, delay: float = 0.0) -> None:
        thread = threading.Thread(
            target=compress_and_prune,
            args=(self.path, self.backup_count, self.max_age_s, delay),
            name="eventlog-gzip",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down: the next rotation compresses it
            return
        self._compressors = [t for t in self._compressors if t.is_alive()] + [thread]

    def wait(self) -> None:
        """Wait for every background compression to finish (tests, shutdown)."""
        for thread in list(self._compressors):
            thread.join()

    def close(self) -> None:
        """Write what the backlog holds if it can, sync per the durability
        policy, and close the descriptor; a later write reopens it."""
        with self._lock:
            if self._backlog:
                self._drain()
            if self._syncer is not None:
                self._syncer.stop()
                self._syncer = None
            self._close_fd()
            if self._generation is not None:
                self._generation.close()
        if self._backlog:
            with contextlib.suppress(Exception):
                print(
                    f"eventlog: {len(self._backlog)} line(s) for {self.path} could not be written",
                    file=sys.stderr,
                    flush=True,
                )


_live_sinks: weakref.WeakSet[FileSink] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for sink in list(_live_sinks):
        sink._after_fork_in_child()


@atexit.register
def _at_exit() -> None:
    """Drain backlogs and sync files of every sink at interpreter exit."""
    for sink in list(_live_sinks):
        if sink._backlog or sink._dirty:
            with contextlib.suppress(Exception):
                sink.close()


os.register_at_fork(after_in_child=_after_fork_in_child)
