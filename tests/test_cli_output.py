"""The shared output modules of eventlog.cli: console, bad-line reports,
progress bar, confirmation and signal handling."""

from __future__ import annotations

import io
import signal
import sys
import threading
from pathlib import Path

import pytest
from django.core.management.base import OutputWrapper
from django.core.management.color import no_style

from eventlog.cli.badlines import SHOWN, BadLines
from eventlog.cli.base import Failure
from eventlog.cli.confirm import confirm, require_terminal
from eventlog.cli.console import Console
from eventlog.cli.interrupt import Terminated, until_signalled
from eventlog.cli.progress import ProgressBar


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def console(stdout: io.IOBase | None = None) -> Console:
    out = OutputWrapper(stdout if stdout is not None else io.StringIO())
    return Console(out, OutputWrapper(io.StringIO()), no_style())


def test_write_raw_is_byte_for_byte_through_the_buffer():
    """Raw lines go to the binary buffer unchanged, in order, however many."""
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8")
    lines = [f'{{"n":{n},"s":"é \u2028 \x1b"}}\n'.encode() for n in range(2500)]
    console(text).write_raw(iter(lines))
    assert raw.getvalue() == b"".join(lines)


def test_write_raw_without_a_buffer_decodes():
    """A text-only stdout (a StringIO) gets the same characters."""
    out = io.StringIO()
    console(out).write_raw([b'{"a":"\xc3\xa9"}\n', b"{}\n"])
    assert out.getvalue() == '{"a":"é"}\n{}\n'


def test_colour_only_on_a_terminal():
    """colorize() is None on a pipe, a styling function on a terminal."""
    assert console().colorize() is None
    colorize = console(Terminal()).colorize()
    assert colorize is not None
    assert colorize("info", "INFO ") == "INFO "  # no_style: the text as is
    assert colorize("bogus", "x") == "x"


def test_bad_lines_reports_the_first_few_then_a_count():
    """SHOWN lines one by one, then one summary line; unreadable files counted."""
    written: list[str] = []
    bad = BadLines(written.append)
    for n in range(SHOWN + 5):
        bad(Path("events.jsonl"), n + 1, "not a JSON object: skipped")
    bad(Path("events.jsonl.1"), 0, "cannot open")
    bad.finish()
    assert len(written) == SHOWN + 1
    assert written[0] == "eventlog: events.jsonl:1: not a JSON object: skipped"
    assert written[-1] == "eventlog: 6 more bad line(s) not shown"
    assert bad.count == SHOWN + 6
    assert bad.unreadable == 1


def test_bad_lines_without_limit_reports_all():
    written: list[str] = []
    bad = BadLines(written.append)
    bad.limit = None
    for n in range(SHOWN + 5):
        bad(Path("f"), n + 1, "x")
    bad.finish()
    assert len(written) == SHOWN + 5


def test_progress_bar_draws_on_a_terminal_only(tmp_path, monkeypatch):
    """for_files sums the sizes (missing files count nothing); the bar is
    drawn on a terminal and cleared at the end of the block; never on a pipe."""
    monkeypatch.setattr(ProgressBar, "DELAY", 0.0)
    monkeypatch.setattr(ProgressBar, "EVERY", 0.0)
    (tmp_path / "a").write_bytes(b"x" * 100)
    files = [tmp_path / "a", tmp_path / "gone"]
    terminal = OutputWrapper(Terminal())
    with ProgressBar.for_files(terminal, files) as bar:
        assert bar.enabled
        bar(50)
    drawn = terminal._out.getvalue()
    assert "\r[###############               ]  50% 50 B of 100 B" in drawn
    assert drawn.endswith("\r")
    pipe = OutputWrapper(io.StringIO())
    with ProgressBar.for_files(pipe, files) as bar:
        assert not bar.enabled
        bar(100)
    assert pipe._out.getvalue() == ""


def test_confirmation_needs_a_terminal_and_a_yes(monkeypatch):
    """No terminal: a refusal naming --yes; on a terminal only y or yes goes on."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    with pytest.raises(Failure, match=r"^refusing to restore without confirmation.*--yes"):
        require_terminal("restore")
    for answer, accepted in (("y\n", True), ("YES\n", True), ("n\n", False), ("", False)):
        stdin = Terminal(answer)
        monkeypatch.setattr(sys, "stdin", stdin)
        out = io.StringIO()
        if accepted:
            confirm(console(out), "Delete 2 file(s)?", "delete files")
        else:
            with pytest.raises(Failure, match=r"^aborted: nothing done \(delete files not"):
                confirm(console(out), "Delete 2 file(s)?", "delete files")
        assert out.getvalue() == "Delete 2 file(s)? [y/N] "


def test_until_signalled_raises_and_restores(monkeypatch):
    """SIGTERM raises Terminated inside the block; the handlers are put back."""
    before_term = signal.getsignal(signal.SIGTERM)
    before_int = signal.getsignal(signal.SIGINT)
    with pytest.raises(Terminated), until_signalled():
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before_term
    assert signal.getsignal(signal.SIGINT) == before_int


def test_until_signalled_off_the_main_thread_is_a_plain_block():
    """Signals cannot be set from another thread: the block just runs."""
    ran: list[bool] = []

    def body() -> None:
        with until_signalled():
            ran.append(True)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert ran == [True]
