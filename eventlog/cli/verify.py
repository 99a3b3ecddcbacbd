"""``eventlog verify``: every line parses, every ``seq`` is gap-free, every chain holds."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any, Final

from eventlog.cli import argtypes, dirs
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.console import Console
from eventlog.core.sanitize import clean, one_line
from eventlog.read.verify import Report, verify

__all__ = ["MID_STREAM_SHOWN", "NAME", "PROBLEMS_SHOWN", "add_parser", "run"]

NAME: Final = "verify"
PROBLEMS_SHOWN: Final = 100
"""Problems listed at verbosity 1; ``-v 2`` lists all."""
MID_STREAM_SHOWN: Final = 10
"""Mid-stream starts listed at verbosity 1; ``-v 2`` lists all."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``verify``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="check that every line parses, seq is gap-free and hash chains hold",
        description=(
            "Check the log files, rotated and compressed ones included: every line "
            "parses, every stream's seq is gap-free and every hash chain holds "
            "(keyed with EVENTLOG_HMAC_KEY when set). Prints a summary and, for each "
            "problem, the file and line; exits 0 when the log is intact, 1 otherwise. "
            "A stream whose earlier files were pruned is reported as starting "
            "mid-stream, not as broken. With --dir repeated, each directory is "
            "checked in turn."
        ),
    )
    argtypes.add_file_argument(parser, allow_all=True)
    dirs.add_argument(parser)
    return parser


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """Check each directory and print its report; a :class:`Failure` (exit
    status 1) after the reports when anything is wrong."""
    names = argtypes.log_names(options.get("file"), default="all", allow_all=True)
    where = dirs.resolve(options.get("dirs"), defaults.directory)
    key = defaults.hmac_key()
    verbosity = int(options.get("verbosity", 1))
    reports: list[Report] = []
    for directory in where:
        try:
            report = verify(directory, names, key=key)
        except OSError as exc:  # the default directory missing, or unreadable
            raise Failure(one_line(str(exc))) from exc
        reports.append(report)
        try:
            _write_report(console, report, names, verbosity)
        except BrokenPipeError:
            console.broken_pipe()
    problems = sum(r.problem_count for r in reports)
    if not all(r.ok for r in reports):
        broken = sum(1 for r in reports for f in r.files if f.problems)
        raise Failure(
            f"the log is not intact: {problems} problem(s) in {broken} file(s), see above"
        )


def _write_report(console: Console, report: Report, names: Sequence[str], verbosity: int) -> None:
    out = console.out
    style = console.style
    chain = (
        "HMAC-SHA256 keyed with EVENTLOG_HMAC_KEY"
        if report.keyed
        else "SHA-256, no EVENTLOG_HMAC_KEY"
    )
    directory = clean(str(report.directory))
    if verbosity >= 1:
        out(f"Verifying {' and '.join(names)} in {directory} (chain: {chain})")
    if not report.files:
        out(f"Nothing to verify: no {' or '.join(names)} files in {directory}")
        return
    if verbosity >= 1:
        for summary in report.files:
            text = clean(
                f"  {summary.path}: {summary.lines} line(s), {len(summary.streams)} stream(s)"
            )
            if summary.problems:
                out(f"{text}, {summary.problems} problem(s)", style_func=style.ERROR)
            else:
                out(text)
        if report.mid_stream:
            out("Streams starting mid-stream (not a failure):")
            shown = report.mid_stream if verbosity >= 2 else report.mid_stream[:MID_STREAM_SHOWN]
            for start in shown:
                out(clean(f"  {start}"))
            if len(shown) < len(report.mid_stream):
                out(f"  ... and {len(report.mid_stream) - len(shown)} more (-v 2 shows all)")
    if report.problems:
        out("Problems:", style_func=style.ERROR)
        listed = report.problems if verbosity >= 2 else report.problems[:PROBLEMS_SHOWN]
        for problem in listed:
            out(clean(f"  {problem}"))
        if len(listed) < report.problem_count:
            more = report.problem_count - len(listed)
            kept = len(report.problems)
            if len(listed) < kept:
                shows = "all" if kept == report.problem_count else f"the first {kept}"
                out(f"  ... and {more} more problem(s) (-v 2 shows {shows})")
            else:
                out(f"  ... and {more} more problem(s), counted but not kept")
    for note in report.notes:
        out(clean(f"Note: {note}"), style_func=style.WARNING)
    out(clean(report.summary()), style_func=style.SUCCESS if report.ok else style.ERROR)
