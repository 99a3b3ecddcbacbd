"""Which rotated files are wholly older than a cut-off, for ``eventlog prune``.

A rotated file's name carries the UTC time it was rotated, the moment it
stopped receiving lines: every line in it is older than that stamp. So a
file is wholly older than the cut-off when its name stamp is, and nothing
has to be decompressed to decide. The live file is never a candidate, and
only names the sink makes count (``events.jsonl.bak`` is never touched).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eventlog.core.files import rotated_files
from eventlog.read.files import rotation_stamp

__all__ = ["Candidate", "candidates", "delete"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rotated file to delete: its path, size and rotation time."""

    path: Path
    size: int
    rotated_at: str


def candidates(directories: Sequence[Path], names: Sequence[str], cutoff: str) -> list[Candidate]:
    """The rotated files of logs ``names`` in ``directories`` rotated before
    ``cutoff`` (a canonical time), oldest first within each log."""
    found: list[Candidate] = []
    for directory in directories:
        for name in names:
            for path in rotated_files(directory / name, regular_only=True):
                stamp = rotation_stamp(path, name)
                if stamp is None or stamp >= cutoff:
                    continue
                try:
                    size = path.stat().st_size
                except OSError:
                    continue  # gone since listed
                found.append(Candidate(path, size, stamp))
    return found


def delete(candidate: Candidate) -> int:
    """Delete the file (and its other form: a file caught mid-compression has
    both ``X`` and ``X.gz``); the bytes freed."""
    path = candidate.path
    plain = path.with_name(path.name.removesuffix(".gz"))
    freed = 0
    for form in (plain, plain.with_name(plain.name + ".gz")):
        with contextlib.suppress(FileNotFoundError):
            size = form.stat().st_size
            form.unlink()
            freed += size
    return freed
