"""The optional background writer (``EVENTLOG_WRITER = "background"``).

The caller's thread only appends the rendered line to a bounded queue; a
writer thread hands the lines to the :class:`~eventlog.write.sink.FileSink` in
order, so ``stream``, ``seq`` and ``hash`` are given at write time and stay
gap-free for every line written. When the queue is full
(``EVENTLOG_QUEUE_SIZE``), ``EVENTLOG_QUEUE_FULL = "block"`` (default) makes
the caller wait for room, ``"drop"`` drops the line and counts it; drops are
reported once per burst (stderr, ``django.jsonl`` and an ``eventlog.error``
line) and at exit.

The queue is flushed at interpreter exit (``atexit``) and on ``SIGTERM``: the
handler, installed from the main thread only, writes what is queued and then
hands the signal to the handler that was there before it (for the default
one: the process is terminated by the signal as it would have been).

Lines that pile up are written in batches: while lines keep coming the
writer thread wakes every ``LINGER_S`` (or at ``WAKE_AT`` queued lines) and
writes what is queued with one ``write()``; idle, it sleeps until the next
line wakes it.

The queue is a ``deque`` plus a ``SimpleQueue`` of wake-up tokens, both
implemented in C, rather than ``queue.Queue``: a signal handler runs between
bytecodes of the main thread, possibly inside ``queue.Queue.put`` holding its
lock, and flushing from there would deadlock.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import signal
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, Final

from eventlog.write import clock as _clock
from eventlog.write.sink import REPORT_EVERY_S, FileSink, SinkStats

__all__ = ["BackgroundWriter", "install_sigterm_handler"]

FLUSH_TIMEOUT_S: Final = 10.0
# Lines handed to the sink in one write(): at most this many bytes (one
# write() per batch keeps the whole batch contiguous in the file).
BATCH_BYTES: Final = 1 << 20
# While lines keep coming, the writer thread wakes at most this often (or
# when WAKE_AT lines are queued): batches instead of a thread switch, and
# fight for the GIL, per line. After a wake-up that found nothing it sleeps
# until the next line, which wakes it at once.
LINGER_S: Final = 0.05
WAKE_AT: Final = 512


class BackgroundWriter:
    """A bounded queue and a writer thread in front of ``sink``; never raises."""

    def __init__(
        self,
        sink: FileSink,
        *,
        queue_size: int = 10_000,
        drop_when_full: bool = False,
        on_drop: Callable[[BackgroundWriter, int, str], None] | None = None,
    ) -> None:
        self.sink = sink
        self.path: Path = sink.path
        self.queue_size = queue_size
        self.drop_when_full = drop_when_full
        self.dropped = 0
        self._on_drop = on_drop
        self._closed = False
        self._setup()
        _live_writers.add(self)

    def _setup(self) -> None:
        self._pid = os.getpid()
        self._lines: deque[bytes] = deque()
        self._tokens: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._sleeping = True  # the writer thread waits for a token
        self._wake_at = max(1, min(WAKE_AT, self.queue_size // 2))
        self._busy = threading.Lock()  # held by whoever hands lines to the sink
        self._busy_owner = 0
        self._space = threading.Condition(threading.Lock())
        self._drop_lock = threading.Lock()
        self._report_lock = threading.RLock()
        self._unreported = 0
        self._reported_at = -REPORT_EVERY_S
        self._thread: threading.Thread | None = None

    @property
    def stats(self) -> SinkStats:
        """The sink's counters."""
        return self.sink.stats

    @property
    def stream(self) -> str:
        """The sink's stream."""
        return self.sink.stream

    @property
    def queued(self) -> int:
        """Lines waiting for the writer thread."""
        return len(self._lines)

    # -- the caller's side -------------------------------------------------------

    def write(self, rendered: bytes) -> None:
        """Queue one rendered line for the writer thread. Never raises."""
        if _clock.last_pid() != self._pid:  # checked by the line's id just made
            self._setup()  # forked without hooks: the parent writes what it queued
        if self._closed or (self._thread is None and not self._start()):
            with self._busy_for_writing():
                self._drain()
                self.sink.write(rendered)
            return
        if len(self._lines) >= self.queue_size and not self._room(rendered):
            return
        lines = self._lines
        lines.append(rendered)
        # Wake the writer when it sleeps idle, or when enough lines wait; else
        # it comes by itself within LINGER_S. Append first, look second; the
        # writer marks itself sleeping first and looks at the queue second,
        # so one of the two always sees the other (statements run one at a
        # time under the GIL).
        if self._sleeping or len(lines) == self._wake_at:
            self._tokens.put(True)

    def _room(self, rendered: bytes) -> bool:
        """Wait for room in the queue (block), or count a drop (drop). False
        when the line must not be queued."""
        if self._thread is not None and threading.get_ident() == self._thread.ident:
            # The writer thread reporting its own drops: never wait for itself.
            self.sink.write(rendered)
            return False
        if self.drop_when_full:
            with self._drop_lock:
                self.dropped += 1
                self._unreported += 1
            return False
        with self._space:
            while len(self._lines) >= self.queue_size and not self._closed:
                self._space.wait(0.05)
        return True

    # -- the writer thread -------------------------------------------------------

    def _start(self) -> bool:
        thread = threading.Thread(target=self._run, name="eventlog-writer", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter exit: write in the caller's thread
            return False
        self._thread = thread
        return True

    def _run(self) -> None:
        idle = True
        while True:
            if idle:
                self._sleeping = True
                # Lines queued after the last drain may have come without a token.
                go_on = True if self._lines else self._tokens.get()
                self._sleeping = False
            else:
                try:
                    go_on = self._tokens.get(timeout=LINGER_S)
                except queue.Empty:
                    go_on = True
            idle = not self._lines
            with self._busy_for_writing():
                self._drain()
            with self._space:
                self._space.notify_all()
            if not self._lines:
                self._report_drops(final=False)
            if not go_on:
                return

    @contextlib.contextmanager
    def _busy_for_writing(self) -> Any:
        with self._busy:
            self._busy_owner = threading.get_ident()
            try:
                yield
            finally:
                self._busy_owner = 0

    def _drain(self) -> None:
        """Hand every queued line to the sink, oldest first, in batches of up
        to ``BATCH_BYTES`` (``_busy`` held)."""
        lines, write_many, popleft = self._lines, self.sink.write_many, self._lines.popleft
        while lines:
            batch: list[bytes] = []
            size = 0
            while lines and size < BATCH_BYTES:
                line = popleft()
                batch.append(line)
                size += len(line)
            write_many(batch)
            if self._space.acquire(blocking=False):
                try:
                    self._space.notify_all()
                finally:
                    self._space.release()

    def _report_drops(self, *, final: bool) -> None:
        # One report at a time, so wait() returns after a report in progress.
        with self._report_lock:
            self._report_drops_locked(final=final)

    def _report_drops_locked(self, *, final: bool) -> None:
        with self._drop_lock:
            count = self._unreported
            now = time.monotonic()
            if not count or (not final and now - self._reported_at < REPORT_EVERY_S):
                return
            self._unreported = 0
            self._reported_at = now
        message = (
            f"eventlog: queue for {self.path} full: {count} line(s) dropped "
            f"({self.dropped} in total)"
        )
        with contextlib.suppress(Exception):
            print(message, file=sys.stderr, flush=True)
        if self._on_drop is not None:
            with contextlib.suppress(Exception):
                self._on_drop(self, count, message)

    # -- flushing ----------------------------------------------------------------

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Write every queued line now, in this thread; False if the writer
        thread held the sink for longer than ``timeout`` seconds."""
        if os.getpid() != self._pid or self._busy_owner == threading.get_ident():
            return False
        if not self._busy.acquire(timeout=timeout):
            return False
        try:
            self._busy_owner = threading.get_ident()
            self._drain()
        finally:
            self._busy_owner = 0
            self._busy.release()
        return True

    def wait(self) -> None:
        """Write what is queued and wait for background compression."""
        self.flush()
        self._report_drops(final=True)
        self.flush()  # the report's own line
        self.sink.wait()

    def close(self, timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Flush and stop the writer thread; later writes go straight to the sink."""
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive() and os.getpid() == self._pid:
            self._tokens.put(False)
            thread.join(timeout)
        self.flush(timeout)
        self._report_drops(final=True)
        self.sink.close()


_live_writers: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """At interpreter exit (after non-daemon threads ended): write what is queued."""
    for writer in list(_live_writers):
        with contextlib.suppress(Exception):
            writer.close()


def _after_fork_in_child() -> None:
    for writer in list(_live_writers):
        writer._setup()  # the parent writes the lines it had queued


os.register_at_fork(after_in_child=_after_fork_in_child)

_previous: Any = None
_installed = False


def install_sigterm_handler() -> bool:
    """Flush every background writer on ``SIGTERM``, then chain to the handler
    installed before (once per process; only from the main thread, where
    Python allows it). True when the handler is in place."""
    global _previous, _installed
    if _installed:
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        _previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return False
    _installed = True
    return True


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    for writer in list(_live_writers):
        with contextlib.suppress(Exception):
            writer.flush()
    if callable(_previous):
        _previous(signum, frame)
    elif _previous != signal.SIG_IGN:
        # The default action: terminate by the signal, as without us.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
