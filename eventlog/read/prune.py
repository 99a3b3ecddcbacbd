"""Which rotated files are wholly older than a cut-off, for ``eventlog prune``.

A rotated file's name carries the UTC time it was rotated, the moment it
stopped receiving lines: every line in it is older than that stamp. So a
file is wholly older than the cut-off when its name stamp is, and nothing
has to be decompressed to decide. The live file is never a candidate, and
only names the sink makes count (``events.jsonl.bak`` is never touched).
"""

from __future__ import annotations

import contextlib
import stat
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
                # A .gz whose original a killed compression left beside it:
                # both are deleted, so both are listed (the original first).
                plain = path.with_name(path.name.removesuffix(".gz"))
                forms = (plain, path) if plain != path else (path,)
                for form in forms:
                    try:
                        info = form.lstat()
                    except OSError:
                        continue  # gone since listed, or no original beside the .gz
                    if stat.S_ISREG(info.st_mode):
                        found.append(Candidate(form, info.st_size, stamp))
    return found


def delete(candidate: Candidate) -> int:
    """Delete the file (and its other form: a file caught mid-compression has
    both ``X`` and ``X.gz``, which :func:`candidates` lists both, and one may
    appear since); the bytes freed. Only regular files are deleted: a link or
    FIFO named like the other form is left, as :func:`candidates` leaves it."""
    path = candidate.path
    plain = path.with_name(path.name.removesuffix(".gz"))
    freed = 0
    for form in (plain, plain.with_name(plain.name + ".gz")):
        with contextlib.suppress(FileNotFoundError):
            info = form.lstat()
            if form != path and not stat.S_ISREG(info.st_mode):
                continue
            form.unlink()
            freed += info.st_size
    return freed
