"""``make ... EXTRA_PIP=...`` installs what it names even when the venv exists:
CI's legs each test the Django they name, not whatever the venv held."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")

# A stand-in for python: logs its arguments; `-m venv DIR` makes DIR/bin/python
# a copy of it, so nothing is installed and no index is asked.
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
"""


def make_venv(tmp_path: Path, *extra: str) -> list[str]:
    """Run ``make venv`` with the fake python; the pip installs it ran."""
    log = tmp_path / "calls.log"
    log.write_text("")
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "venv",
            f"PYTHON={fake}",
            f"VENV={tmp_path / 'venv'}",
            *extra,
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "FAKE_LOG": str(log)},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return [line for line in log.read_text().splitlines() if "pip install" in line]


def test_extra_pip_is_installed_into_an_existing_venv(tmp_path):
    assert any("-e .[dev,demo,speed,postgres]" in c for c in make_venv(tmp_path))
    assert make_venv(tmp_path) == []  # up to date: nothing to do
    installs = make_venv(tmp_path, "EXTRA_PIP='Django>=5.2,<5.3'")
    assert any("Django>=5.2,<5.3" in c for c in installs), installs
    assert make_venv(tmp_path, "EXTRA_PIP='Django>=5.2,<5.3'") == []  # the same again
    installs = make_venv(tmp_path, "EXTRA_PIP='Django>=6.0,<6.1'")
    assert any("Django>=6.0,<6.1" in c for c in installs), installs
