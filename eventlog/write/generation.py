"""A rotation counter shared by every process writing one live file.

Before each line a writer must know that the path still names the file its
descriptor has open (another process may have rotated it). ``lstat()`` per
line answers that but costs about 5 µs in CPython (most of it building the
``stat_result``), a sixth of a whole line. Instead, the process that renames
the live file adds one to a counter kept in the hidden file
``.<name>.gen`` beside it, under an exclusive ``flock`` of that file, while
still holding the exclusive lock of the file it renamed. A writer reads the
counter (one 8-byte ``pread``) before it opens the live file and again under
its shared lock before each line: the same value means no rotation by
eventlog happened since its open. The counter moves right *after* the
rename (before it, a writer could read the new value and still open the old
file); if it cannot move, the renamed file is compressed only once every
writer has checked with ``lstat``.

``pread``/``pwrite`` rather than a shared ``mmap``: a store into a mapped
page of a full copy-on-write file system (btrfs, ZFS) kills the process with
``SIGBUS``, and a truncated file kills readers the same way; system calls
fail with an ``OSError`` instead, which turns the counter off (``None``: the
caller checks with ``lstat``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Final

__all__ = ["Generation"]

_FLAGS: Final = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
_SIZE: Final = 8
_WRAP: Final = (1 << 64) - 1


class Generation:
    """The rotation counter of the live file ``live`` (in ``.<name>.gen``)."""

    def __init__(self, live: Path, mode: int) -> None:
        self.path = live.with_name(f".{live.name}.gen")
        self._mode = mode
        self._fd = -1

    def _descriptor(self) -> int:
        if self._fd < 0:
            self._fd = os.open(self.path, _FLAGS, self._mode)
        return self._fd

    def read(self) -> tuple[int, bytes] | None:
        """``(descriptor, the counter's bytes as read)``, or ``None`` when it
        cannot be read: a later ``os.pread(descriptor, 8, 0)`` returning the
        same bytes means the counter has not moved (the sink's per-line
        check, without a method call and a conversion)."""
        try:
            fd = self._descriptor()
            return fd, os.pread(fd, _SIZE, 0)
        except OSError:
            return None

    def bump(self) -> bool:
        """Add one, serialized across processes; ``False`` when it could not
        (writers then notice the rename only at their next ``lstat``)."""
        try:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            return False
        try:
            data = os.pread(fd, _SIZE, 0)
            value = int.from_bytes(data) if len(data) == _SIZE else 0
            return os.pwrite(fd, ((value + 1) & _WRAP).to_bytes(_SIZE), 0) == _SIZE
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the descriptor (a later call reopens it)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
