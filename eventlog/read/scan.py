"""The block scan behind selective filters (``history``, ``tail --object-id``):
the lines of a file that contain one of a filter's anchors, found by
searching large blocks instead of looking at every line."""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, cast

from eventlog.read.files import disk_position, open_file
from eventlog.read.lines import MAX_LINE_BYTES, OnBadLine, Progress, report_unreadable

__all__ = ["LineNumbers", "candidate_lines", "line_number"]

_BLOCK: Final = 1 << 20

_Find = Callable[[bytearray, bytes, int, int], int]


def _pick_find() -> _Find:
    """The substring search of the block scan: StringZilla's (SIMD) when it
    can be imported (the ``[speed]`` extra), else ``bytearray.find``, with the
    same results.

    Why a library: ``bytes.find`` (a Horspool variant) runs at about
    3.4 GB/s on log lines, grep's own speed, and the scan makes one search
    per anchor (an object id has three forms), so with it a history lookup
    takes three to four times ``grep -F``; StringZilla's search is a few
    times faster for the same result (tests/test_scan.py checks it against
    ``bytearray.find``)."""
    try:
        from stringzilla import find
    except ImportError:  # the optional [speed] extra is not installed
        return bytearray.find
    return cast(_Find, find)


_find: _Find = _pick_find()


class LineNumbers:
    """The 1-based numbers of the lines starting at given byte offsets of the
    (decompressed) file ``path``, counted only when a line must be reported.

    Counting resumes where the previous call stopped, on a stream of its own
    kept open meanwhile: reporting every line of a file reads it once more,
    not once per line. Offsets are expected in increasing order (a smaller
    one counts again from the start). :meth:`close` when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: io.BufferedIOBase | None = None
        self._done = 0  # bytes counted
        self._count = 0  # newlines in them
        self._broken = False

    def __call__(self, offset: int) -> int:
        if offset < self._done:
            self.close()
            self._done = self._count = 0
            self._broken = False
        if self._broken:
            return self._count + 1
        try:
            if self._stream is None:
                self._stream = open_file(self.path)
            while self._done < offset:
                chunk = self._stream.read(min(_BLOCK, offset - self._done))
                if not chunk:
                    break
                self._count += chunk.count(b"\n")
                self._done += len(chunk)
        except (OSError, EOFError, zlib.error):
            self._broken = True
        return self._count + 1

    def close(self) -> None:
        """Close the counting stream (a later call opens it again)."""
        if self._stream is not None:
            with contextlib.suppress(OSError, EOFError, zlib.error):
                self._stream.close()
            self._stream = None


def line_number(path: Path, offset: int) -> int:
    """The 1-based number of the line starting at byte ``offset`` of the
    (decompressed) file (one count: :class:`LineNumbers` for several)."""
    numbers = LineNumbers(path)
    try:
        return numbers(offset)
    finally:
        numbers.close()


def candidate_lines(
    path: Path, anchors: tuple[bytes, ...], report: OnBadLine, progress: Progress | None
) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for the whole lines of ``path`` that contain one of
    ``anchors``, ``offset`` being where the line starts in the (decompressed)
    file.

    Why not line by line: a Python loop over every line costs microseconds a
    line, while ``bytes.find`` over 1 MiB blocks runs at memory speed, like
    grep; only the few lines found are cut out, and lines are not even
    counted (:class:`LineNumbers` does it when one must be reported). The
    file is read into one reused buffer (``readinto``: no new block object,
    no copy of a block to join it to the previous one's partial last line,
    which alone is moved to the front). Each anchor is one search through the
    block, so :meth:`eventlog.read.filters.Filter.anchors` keeps them few. Torn final lines and
    over-long lines are reported as :func:`eventlog.read.lines.numbered_lines` does.
    """
    try:
        stream = open_file(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        report(path, 0, f"cannot open: {exc.strerror or exc}")
        return
    numbers = LineNumbers(path)
    buf = bytearray(max(_BLOCK, 1))
    filled = 0  # buf[:filled] holds data: a partial line carried over, then new bytes
    base = 0  # offset of buf[0] in the file
    told = 0
    skipping = False  # inside a line longer than MAX_LINE_BYTES
    with stream, contextlib.closing(numbers):
        while True:
            if filled == len(buf):  # a line longer than the buffer: make room
                buf = buf + bytes(len(buf))
            try:
                with memoryview(buf) as view:
                    got = stream.readinto(view[filled:])
            except (OSError, EOFError, zlib.error) as exc:
                report_unreadable(report, path, numbers(base), exc)
                return
            if progress is not None:
                position = disk_position(stream)
                if position > told:
                    progress(position - told)
                    told = position
            if not got:
                if filled and not skipping:
                    reason = "incomplete final line (no newline): skipped"
                    report(path, numbers(base), reason)
                return
            filled += got
            end = buf.rfind(b"\n", 0, filled) + 1
            if end == 0:
                if skipping or filled >= MAX_LINE_BYTES:
                    if not skipping:
                        reason = f"line longer than {MAX_LINE_BYTES} bytes: skipped"
                        report(path, numbers(base), reason)
                    skipping = True
                    base += filled
                    filled = 0
                    if len(buf) > _BLOCK:
                        buf = bytearray(max(_BLOCK, 1))
                continue
            start = buf.find(b"\n", 0, end) + 1 if skipping else 0  # the rest of a long line
            skipping = False
            for line_start in _lines_with(buf, anchors, start, end):
                line_end = buf.find(b"\n", line_start, end) + 1
                with memoryview(buf) as view:
                    line = view[line_start:line_end].tobytes()
                yield base + line_start, line
            buf[: filled - end] = buf[end:filled]  # the partial last line, to the front
            base += end
            filled -= end


def _lines_with(buf: bytearray, anchors: tuple[bytes, ...], start: int, end: int) -> list[int]:
    """Where the lines of ``buf[start:end]`` (whole lines) that contain one of
    ``anchors`` start, in order."""
    starts: set[int] = set()
    find = _find
    for anchor in anchors:
        at = find(buf, anchor, start, end)
        while at >= 0:
            line_start = buf.rfind(b"\n", start, at) + 1 or start
            starts.add(line_start)
            at = find(buf, anchor, buf.find(b"\n", at, end) + 1, end)
    return sorted(starts)
