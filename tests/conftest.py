"""Shared fixtures: every test writes its logs to a directory of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlog.write import pipeline as _pipeline
from tests.helpers import assert_chains, assert_envelope, raw_lines, read


@pytest.fixture(autouse=True)
def eventlog_dir(tmp_path: Path, settings) -> Iterator[Path]:
    """Point EVENTLOG_DIR at a fresh directory for the test (the pipeline is
    rebuilt through ``setting_changed``)."""
    directory = tmp_path / "logs"
    settings.EVENTLOG_DIR = str(directory)
    yield directory
    _pipeline.flush()


@pytest.fixture
def every_line_is_sound(eventlog_dir: Path) -> Iterator[None]:
    """After the test: every line written has the full envelope and each
    stream's chain holds."""
    yield
    for line in read(eventlog_dir):
        assert_envelope(line)
    assert_chains(raw_lines(eventlog_dir))
