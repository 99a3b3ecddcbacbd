"""Following a log as it is written (``tail -f``): the live file across the
sink's rotations and logrotate's renames, one directory or several merged
by time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from eventlog.core.files import rotated_files
from eventlog.read.events import file_events, merge_by_time, parse_line
from eventlog.read.files import Directories, directories, file_key, open_regular
from eventlog.read.filters import Filter
from eventlog.read.lines import MAX_LINE_BYTES, OnBadLine, numbered_lines, warn_bad_line

__all__ = ["follow", "follow_batches"]

_READ_CHUNK: Final = 1 << 16


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


class _Tail:
    """Follows the live file of one log across rotations.

    The sink rotates by renaming the live file under an exclusive ``flock``
    (no line enters it afterwards) and logrotate renames it without one
    (writers notice at their next line, under a shared ``flock``). So when the
    path stops naming the file being read: take and drop an exclusive
    ``flock`` on it (writes in flight are done, later ones go to the new
    file), read it to its end, then read the rotated files that appeared since
    (other than the one just finished) and only then the new live file.

    Why not a library (watchdog, inotify): polling one ``stat`` per interval
    is portable, costs nothing, and a notification would still need the same
    listing to catch files rotated between two reads.
    """

    def __init__(self, live: Path, flt: Filter | None, report: OnBadLine) -> None:
        self.live = live
        self.flt = flt
        self.report = report
        self.fd = -1
        self.ident = (-1, -1)
        self.pos = 0
        self.lineno = 0
        self.buf = b""
        self.skipping = False  # inside a line longer than MAX_LINE_BYTES
        self.seen: set[str] = set()
        self.refused: str | None = None  # why the live file could not be opened, told once

    # -- files ---------------------------------------------------------------------

    def _open_stable(self) -> tuple[int, list[Path]]:
        """Open the live file (``-1`` when there is none) and list the rotated
        files not seen yet, with no rotation in between: each of them is older
        than the file opened."""
        attempt = 0
        while True:
            try:
                fd = open_regular(self.live)
                self.refused = None
            except FileNotFoundError:
                fd = -1
            except OSError as exc:
                reason = f"cannot open: {exc.strerror or exc}"
                if reason != self.refused:
                    self.report(self.live, 0, reason)
                    self.refused = reason
                fd = -1
            new = [p for p in rotated_files(self.live) if file_key(p) not in self.seen]
            if fd < 0:
                self.seen.update(file_key(p) for p in new)
                return fd, new
            try:
                still = _identity(os.stat(self.live)) == _identity(os.fstat(fd))
            except OSError:
                still = False
            if still:
                self.seen.update(file_key(p) for p in new)
                return fd, new
            os.close(fd)  # rotated meanwhile: list again
            attempt += 1
            if attempt > 3:
                time.sleep(0.001)

    def _adopt(self, fd: int) -> None:
        self.fd = fd
        self.ident = _identity(os.fstat(fd))
        self.pos = 0
        self.lineno = 0
        self.buf = b""
        self.skipping = False

    def _first_line(self) -> bytes:
        """The first line of the open file (it never changes)."""
        data = b""
        while b"\n" not in data and len(data) < MAX_LINE_BYTES:
            chunk = os.pread(self.fd, _READ_CHUNK, len(data))
            if not chunk:
                break
            data += chunk
        return data.split(b"\n", 1)[0]

    def _is_same_file(self, path: Path, first: bytes) -> bool:
        """Whether rotated file ``path`` is the file just finished: the same
        inode, or (compressed since) the same first line, which holds a unique
        ``event_id``."""
        try:
            if not path.name.endswith(".gz"):
                return _identity(os.stat(path)) == self.ident
        except OSError:
            pass
        for _lineno, line in numbered_lines(path, lambda *_: None):
            return line.rstrip(b"\n") == first
        return first == b""

    # -- reading -------------------------------------------------------------------

    def _lines(self, final: bool = False) -> list[tuple[int, bytes]]:
        """The whole lines appended to the open file since the last call; with
        ``final`` (the file is rotated away) a trailing partial line is torn."""
        out: list[tuple[int, bytes]] = []
        if self.fd < 0:
            return out
        try:
            size = os.fstat(self.fd).st_size
        except OSError:
            size = self.pos
        if size < self.pos:
            self.report(
                self.live,
                self.lineno,
                "file truncated in place (copytruncate?): reading it again from its start; "
                "lines may be lost or repeated",
            )
            self.pos, self.lineno, self.buf, self.skipping = 0, 0, b"", False
        while True:
            chunk = os.pread(self.fd, _READ_CHUNK, self.pos)
            if not chunk:
                break
            self.pos += len(chunk)
            data = self.buf + chunk
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                self.lineno += 1
                if self.skipping:
                    self.skipping = False
                else:
                    out.append((self.lineno, data[start : end + 1]))
                start = end + 1
            self.buf = data[start:]
            if len(self.buf) >= MAX_LINE_BYTES:
                if not self.skipping:
                    self.report(
                        self.live,
                        self.lineno + 1,
                        f"line longer than {MAX_LINE_BYTES} bytes: skipped",
                    )
                self.skipping, self.buf = True, b""
        if final and self.buf and not self.skipping:
            self.report(self.live, self.lineno + 1, "incomplete final line (no newline): skipped")
            self.buf = b""
        return out

    def _events(self, lines: list[tuple[int, bytes]]) -> list[tuple[bytes, dict[str, Any]]]:
        out = []
        for lineno, line in lines:
            found = parse_line(self.live, lineno, line, self.flt, self.report)
            if found is not None:
                out.append(found)
        return out

    def _rotated(self) -> bool:
        try:
            return _identity(os.stat(self.live)) != self.ident
        except FileNotFoundError:
            return True
        except OSError:
            return False

    # -- the two entry points ------------------------------------------------------

    def start(self, n: int) -> list[tuple[bytes, dict[str, Any]]]:
        """Open the live file; the last ``n`` matching events so far."""
        fd, older = self._open_stable()
        current: list[tuple[bytes, dict[str, Any]]] = []
        if fd >= 0:
            self._adopt(fd)
            current = self._events(self._lines())
        if n <= 0:
            return []
        found = deque(current, maxlen=n)
        chunks = [found]
        need = n - len(found)
        for path in reversed(older):
            if need <= 0:
                break
            chunk = deque(file_events(path, self.flt, self.report), maxlen=need)
            chunks.append(chunk)
            need -= len(chunk)
        return [item for chunk in reversed(chunks) for item in chunk]

    def poll(self) -> list[tuple[bytes, dict[str, Any]]]:
        """The matching events written since the last call, in file order."""
        out: list[tuple[bytes, dict[str, Any]]] = []
        if self.fd < 0:
            fd, new = self._open_stable()
            for path in new:
                out.extend(file_events(path, self.flt, self.report))
            if fd < 0:
                return out
            self._adopt(fd)
        out.extend(self._events(self._lines()))
        if not self._rotated():
            return out
        # Rotated: let writes in flight on the old file finish, then drain it.
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        out.extend(self._events(self._lines(final=True)))
        first = self._first_line()
        fd, new = self._open_stable()
        if new and self._is_same_file(new[0], first):
            new = new[1:]
        os.close(self.fd)
        self.fd = -1
        for path in new:
            out.extend(file_events(path, self.flt, self.report))
        if fd >= 0:
            self._adopt(fd)
            out.extend(self._events(self._lines()))
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def follow_batches(
    directory: Directories,
    *,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
    n: int = 0,
    interval: float = 0.2,
    stop: Callable[[], bool] | None = None,
) -> Iterator[list[tuple[bytes, dict[str, Any]]]]:
    """Like :func:`follow`, in batches: each list holds what was found in one
    look at the files (never empty), so a caller can flush after each."""
    report = on_bad_line or warn_bad_line
    tails = [_Tail(d / name, filter, report) for d in directories(directory)]
    try:
        first = [t.start(n) for t in tails]
        backlog = list(merge_by_time(first))[-n:] if n > 0 else []
        if backlog:
            yield backlog
        while stop is None or not stop():
            batch = list(merge_by_time([t.poll() for t in tails]))
            if batch:
                yield batch
            else:
                time.sleep(interval)
    finally:
        for t in tails:
            t.close()


def follow(
    directory: Directories,
    *,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
    n: int = 0,
    interval: float = 0.2,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """The last ``n`` matching events, then each matching event as it is
    written, until ``stop()`` is true (checked every ``interval`` seconds when
    idle) or the generator is closed.

    Follows the live file across the sink's rotations and renames by
    logrotate without losing or repeating a line: rotated files that appear
    are read in order (compressed or not) before the new live file. Files
    renamed to names the sink does not make (logrotate's ``events.jsonl.1``)
    cannot be found again, so of those at most one rename per look is
    followed, which daily logrotate runs never come near. A line
    being written is read once its ``\\n`` is there; a final line without
    one in a file that was rotated away is torn and reported. A live file
    truncated in place (copytruncate, which loses lines anyway) is read again
    from its start, with a report. Files pruned before they could be read are
    lost to the follower. With several directories each is followed and the
    events found in one look are merged by time.
    """
    for batch in follow_batches(
        directory,
        name=name,
        filter=filter,
        on_bad_line=on_bad_line,
        n=n,
        interval=interval,
        stop=stop,
    ):
        yield from batch
