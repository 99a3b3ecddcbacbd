"""Text from the log made safe for a terminal or a page.

A log line is data written by whoever could get a value into an event: a
username, an object's repr, a message. Printed as is, an escape sequence in
it could move the cursor, rewrite earlier output or retitle the window, and a
bidi override could make a line (on a terminal or in the admin's pages) read
differently from what it holds. So every human-readable output of the command
line, and every value the admin shows, passes through :func:`clean`,
which replaces each such character with a visible escape (``\\x1b``,
``\\u202e``, ``\\n``). ``--json`` output is never cleaned: it is the lines
byte for byte, meant for programs rather than for a terminal.
"""

from __future__ import annotations

from typing import Final

__all__ = ["UNSAFE", "clean", "one_line"]


def _unsafe() -> frozenset[str]:
    controls = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]  # C0, DEL, C1
    bidi = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    return frozenset(chr(code) for code in [*controls, *bidi])


UNSAFE: Final = _unsafe()
"""The characters :func:`clean` replaces: the C0 controls, DEL, the C1
controls, and the bidi marks, embeddings, overrides and isolates (U+061C,
U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069)."""

# The escapes of repr() and ascii(), which a reader of Python output already knows.
_TABLE: Final = {ord(char): ascii(char)[1:-1] for char in UNSAFE}


def clean(text: str) -> str:
    """``text`` with every character of :data:`UNSAFE` replaced by its escape
    as Python writes it (``\\t``, ``\\x07``, ``\\x9b``, ``\\u2066``) and every
    other character kept: the result holds no control character, not even a
    newline or a tab. Cleaning twice gives the same text as cleaning once."""
    return text.translate(_TABLE)


def one_line(text: str) -> str:
    """The first non-empty line of a message, cleaned: what an error shows."""
    for line in text.splitlines():
        if line.strip():
            return clean(line.strip())
    return clean(text.strip())
