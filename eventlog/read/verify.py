"""Checking the log files: every line parses, every stream's ``seq`` is gap-free
and every hash chain holds, across rotated (and gzipped) files.

:func:`verify` reads each log (``events.jsonl``, ``django.jsonl``) oldest file
first, line by line (never a whole file in memory), and keeps per stream only
its last ``seq`` and last ``hash``. It reports:

* lines that are not a JSON object, torn lines and unreadable files, with file
  and 1-based line number;
* per stream, the *first* break (a gap in ``seq``, a repeated or decreasing
  ``seq``, a ``hash`` that does not follow from the previous one, a line
  without ``stream``/``seq``/``hash``), with file, line and stream id; later
  lines of a broken stream are counted but not checked (the problem says how
  many), other streams are checked on;
* streams whose first line present has ``seq > 1`` as *starting mid-stream*
  (their earlier lines were rotated away and pruned): information, not a
  failure. Without a key that first line has no predecessor to chain from, so
  it is taken as the start of the chain (an edit of its body cannot be seen,
  and a made-up stream appended by anyone passes as such a start). With a
  key it must be an ``eventlog.checkpoint`` of this log, which the sink writes
  as a stream's first line in every file it goes on in: its ``prev`` names the
  chain head and its keyed hash covers it, so the stream starts there; any
  other mid-stream start is a failure.

Lines of one stream appear in ``seq`` order within a file and across the
files of a log (each process writes its stream's lines one after another);
lines of different streams interleave freely.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from eventlog.core import integrity as _integrity
from eventlog.core.files import rotated_files
from eventlog.read.files import file_key, iter_paths
from eventlog.read.lines import iter_lines, salvage

__all__ = [
    "LOG_NAMES",
    "PROBLEMS_KEPT",
    "FileSummary",
    "Problem",
    "Report",
    "StreamStart",
    "verify",
]

LOG_NAMES: Final = ("events.jsonl", "django.jsonl")
CHECKPOINT: Final = "eventlog.checkpoint"
PROBLEMS_KEPT: Final = 1000
"""Problems a :class:`Report` keeps in detail; later ones are only counted
(a crafted file can hold a problem in every byte)."""

WRONG_KEY: Final = (
    "hash mismatch at the first checked line of every stream: wrong or missing EVENTLOG_HMAC_KEY?"
)
UNKEYED: Final = (
    "the log was written without EVENTLOG_HMAC_KEY (its chain holds with plain SHA-256), "
    "but a key is set now"
)


@dataclass(slots=True)
class Problem:
    """One failure: ``path:lineno`` (``lineno`` 0: the whole file), what is
    wrong, and the stream it breaks when known."""

    path: Path
    lineno: int
    message: str
    stream: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.lineno}" if self.lineno else str(self.path)
        text = f"{where}: {self.message}"
        return f"{text} (stream {self.stream})" if self.stream is not None else text


@dataclass(slots=True)
class StreamStart:
    """A stream whose first line present is ``seq`` > 1, at ``path:lineno``."""

    log: str
    stream: str
    seq: int
    path: Path
    lineno: int

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.lineno}: stream {self.stream} starts mid-stream at seq "
            f"{self.seq} (its earlier lines were rotated away or pruned)"
        )


@dataclass(slots=True)
class FileSummary:
    """What was read from one file: whole lines, problems found in it, and
    the streams with lines in it."""

    path: Path
    lines: int = 0
    problems: int = 0
    streams: set[str] = field(default_factory=set, repr=False)


@dataclass(slots=True)
class Report:
    """The outcome of :func:`verify`; ``ok`` when there is no problem.
    ``problems`` holds the first :data:`PROBLEMS_KEPT` of ``problem_count``."""

    directory: Path
    keyed: bool
    files: list[FileSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    mid_stream: list[StreamStart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    streams: int = 0
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        """Whether every line parsed and every stream is gap-free and chained."""
        return not self.problem_count

    @property
    def lines(self) -> int:
        """Whole lines read, over all files."""
        return sum(f.lines for f in self.files)

    def summary(self) -> str:
        """One line: files, lines, streams, mid-stream starts, and the verdict."""
        text = (
            f"{len(self.files)} file(s), {self.lines} line(s), {self.streams} stream(s)"
            f" ({len(self.mid_stream)} starting mid-stream)"
        )
        if self.ok:
            return f"{text}: OK"
        broken = sum(1 for f in self.files if f.problems)
        return f"{text}: {self.problem_count} problem(s) in {broken} file(s)"


@dataclass(slots=True)
class _Stream:
    """What is kept per stream while reading."""

    id: str
    last_seq: int
    last_digest: bytes
    hash_ok: int = 0
    broken: Problem | None = None
    unchecked: int = 0
    # A hash break: whether the next line chains from the stored hash tells
    # an edited line (it does) from a wrong key (it does not).
    probe: bytes | None = None
    first_check_failed: bool = False
    key_confirmed: bool = False
    unkeyed_match: bool = False
    # A gap: the missing seqs, to say so when they turn up later.
    missing: tuple[int, int] | None = None


class _Verifier:
    """Reads the files one line at a time and fills a :class:`Report`."""

    def __init__(self, directory: Path, key: bytes | None) -> None:
        self.key = key
        self.report = Report(directory=directory, keyed=key is not None)
        self.streams: dict[tuple[str, str], _Stream] = {}

    # -- files -------------------------------------------------------------------

    def log(self, name: str) -> None:
        """Read the files of the log ``name``, oldest first; rotated files that
        appear meanwhile are read before the live file (as in
        :func:`eventlog.reader.iter_events`)."""
        live = self.report.directory / name
        before = {file_key(p) for p in rotated_files(live)}
        for path, is_live in iter_paths(live):
            self.file(name, path, live=is_live)
        after = {file_key(p) for p in rotated_files(live)}
        if after - before and any("missing line" in p.message for p in self.report.problems):
            self._note(
                f"{name} was rotated while verify ran: a gap can come from a file rotated "
                "in the instant before the live file was opened; run verify again"
            )

    def file(self, name: str, path: Path, *, live: bool) -> None:
        """Check every line of ``path`` (a file of the log ``name``), numbering
        lines from 1, skipped bad lines included."""
        summary = FileSummary(path)
        self.report.files.append(summary)
        lineno = 0

        def bad_line(_path: Path, n: int, reason: str) -> None:
            nonlocal lineno
            if n:
                lineno = n
            reason = reason.removesuffix(": skipped")
            if live and reason.startswith("incomplete final line"):
                reason += ": a crash, or a line being written right now (run verify again)"
            self._problem(summary, Problem(path, n, reason))

        for line in iter_lines(path, on_bad_line=bad_line):
            lineno += 1
            summary.lines += 1
            self.line(name, summary, lineno, line)

    # -- lines -------------------------------------------------------------------

    def line(self, name: str, summary: FileSummary, lineno: int, line: bytes) -> None:
        """Check one line against what is known of its stream."""
        path = summary.path
        try:
            value: Any = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            salvaged = salvage(line)
            if salvaged is None:
                self._problem(summary, Problem(path, lineno, f"not valid JSON ({exc})"))
                return
            torn = len(line) - len(salvaged[0])
            self._problem(
                summary,
                Problem(path, lineno, f"torn write: {torn} byte(s) of a lost line before this one"),
            )
            line, value = salvaged
        if not isinstance(value, dict):
            message = f"not a JSON object but {type(value).__name__}"
            self._problem(summary, Problem(path, lineno, message))
            return
        stream_id = value.get("stream")
        if not isinstance(stream_id, str) or not stream_id:
            self._problem(
                summary, Problem(path, lineno, "no `stream` key: not a line of an eventlog stream")
            )
            return
        summary.streams.add(stream_id)
        seq = value.get("seq")
        parts = _integrity.split(line)
        key = (name, stream_id)
        stream = self.streams.get(key)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            self._break(summary, key, stream, Problem(path, lineno, f"bad seq {seq!r}", stream_id))
            return
        if parts is None or not isinstance(value.get("hash"), str):
            problem = Problem(path, lineno, "no `hash` field at the end of the line", stream_id)
            self._break(summary, key, stream, problem)
            return
        body, digest = parts
        if stream is None:
            if seq > 1:
                if self.key is not None and not self._checkpoint(name, value, body, digest):
                    message = (
                        f"stream starts mid-stream at seq {seq} without a keyed checkpoint: "
                        "cannot be verified (a line added without the key, or earlier files "
                        "pruned that were written before checkpoints)"
                    )
                    self._break(summary, key, None, Problem(path, lineno, message, stream_id))
                    self.streams[key].first_check_failed = value.get("event") == CHECKPOINT
                    return
                self.report.mid_stream.append(StreamStart(name, stream_id, seq, path, lineno))
                self.streams[key] = _Stream(
                    stream_id, seq, digest, hash_ok=int(self.key is not None)
                )
                head = value.get("prev_seq") if self.key is not None else None
                if isinstance(head, int) and not isinstance(head, bool) and head < seq - 1:
                    gap = f"{head + 1}" if head + 1 == seq - 1 else f"{head + 1}..{seq - 1}"
                    message = (
                        f"checkpoint at seq {seq} after the chain head at seq {head}: "
                        f"missing line(s) {gap} (dropped before they were written)"
                    )
                    self._break(
                        summary, key, self.streams[key], Problem(path, lineno, message, stream_id)
                    )
                return
            stream = self.streams[key] = _Stream(stream_id, 0, b"")
        elif stream.broken is not None:
            self._after_break(stream, seq, body, digest, path, lineno)
            return
        if seq > stream.last_seq + 1:
            first, last = stream.last_seq + 1, seq - 1
            missing = f"line {first}" if first == last else f"lines {first}..{last}"
            message = f"seq {seq} after seq {stream.last_seq}: missing {missing}"
            self._break(summary, key, stream, Problem(path, lineno, message, stream_id))
            stream.missing = (first, last)
            stream.last_seq = seq
            return
        if seq <= stream.last_seq:
            message = f"seq {seq} after seq {stream.last_seq}: duplicate or out of order"
            self._break(summary, key, stream, Problem(path, lineno, message, stream_id))
            return
        if _integrity.chain(stream.last_digest, body, self.key) != digest:
            problem = Problem(path, lineno, "hash chain broken", stream_id)
            stream.first_check_failed = stream.hash_ok == 0
            if self.key is not None:
                stream.unkeyed_match = _integrity.chain(stream.last_digest, body) == digest
            self._break(summary, key, stream, problem)
            stream.probe = digest
            stream.last_seq = seq
            return
        stream.hash_ok += 1
        stream.last_seq = seq
        stream.last_digest = digest

    def _after_break(
        self, stream: _Stream, seq: int, body: bytes, digest: bytes, path: Path, lineno: int
    ) -> None:
        """A line of a broken stream: not checked, but it can say more about the break."""
        problem = stream.broken
        assert problem is not None
        stream.unchecked += 1
        if stream.probe is not None:
            if (
                seq == stream.last_seq + 1
                and _integrity.chain(stream.probe, body, self.key) == digest
            ):
                stream.key_confirmed = True
                problem.message += (
                    "; the next line chains from its stored hash, so this line "
                    "was changed after it was written"
                )
            stream.probe = None
        if stream.missing is not None and stream.missing[0] <= seq <= stream.missing[1]:
            problem.message += f"; seq {seq} turns up later at {path}:{lineno} (lines out of order)"
            stream.missing = None

    def _checkpoint(self, name: str, value: dict[str, Any], body: bytes, digest: bytes) -> bool:
        """Whether the line is a checkpoint of the log ``name`` whose keyed hash
        holds from the chain head it names."""
        prev = value.get("prev")
        if value.get("event") != CHECKPOINT or value.get("log") != name:
            return False
        # An empty chain head only for a stream none of whose lines got
        # written before (all dropped): the checkpoint then says so.
        empty_ok = prev == "" and value.get("prev_seq") == 0
        if not isinstance(prev, str) or (len(prev) != 64 and not empty_ok):
            return False
        return _integrity.chain(prev.encode(), body, self.key) == digest

    # -- bookkeeping ---------------------------------------------------------------

    def _problem(self, summary: FileSummary, problem: Problem) -> None:
        summary.problems += 1
        self.report.problem_count += 1
        if len(self.report.problems) < PROBLEMS_KEPT:
            self.report.problems.append(problem)

    def _break(
        self,
        summary: FileSummary,
        key: tuple[str, str],
        stream: _Stream | None,
        problem: Problem,
    ) -> None:
        """Record the first break of a stream; later ones are not reported."""
        if stream is None:
            stream = self.streams[key] = _Stream(key[1], 0, b"")
        if stream.broken is None:
            stream.broken = problem
            self._problem(summary, problem)

    def _note(self, text: str) -> None:
        if text not in self.report.notes:
            self.report.notes.append(text)

    def finish(self) -> Report:
        """The report, with counts and notes about keys added."""
        report = self.report
        report.streams = len(self.streams)
        streams = self.streams.values()
        for stream in streams:
            if stream.broken is not None and stream.unchecked:
                stream.broken.message += (
                    f"; {stream.unchecked} later line(s) of the stream not checked"
                )
        first_failed = [s for s in streams if s.first_check_failed]
        if first_failed and not any(s.hash_ok or s.key_confirmed for s in streams):
            if all(s.unkeyed_match for s in first_failed):
                self._note(UNKEYED)
            else:
                self._note(WRONG_KEY)
        elif any(s.unkeyed_match for s in streams):
            self._note(
                "some streams were written without EVENTLOG_HMAC_KEY (their chain holds "
                "with plain SHA-256)"
            )
        return report


def verify(
    directory: str | os.PathLike[str],
    names: Iterable[str] = LOG_NAMES,
    *,
    key: bytes | None = None,
) -> Report:
    """Check the logs ``names`` in ``directory`` and return a :class:`Report`.

    ``key`` is the HMAC key the lines were chained with (``None``: plain
    SHA-256). A log without files is simply absent from the report. Raises
    :class:`FileNotFoundError` when ``directory`` does not exist and
    :class:`NotADirectoryError` when it is not a directory; whatever is in the
    files is reported, never raised.
    """
    path = Path(directory)
    if not path.exists():
        raise FileNotFoundError(f"no such directory: {path}")
    if not path.is_dir():
        raise NotADirectoryError(f"not a directory: {path}")
    verifier = _Verifier(path, key)
    for name in names:
        verifier.log(name)
    return verifier.finish()
