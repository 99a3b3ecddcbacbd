"""The integrity chain of a stream, shared by the sink and the verifier.

A line is ``body[:-1] + ',"hash":"<64 hex>"}\\n'`` where ``body`` is the exact
bytes of the line without its ``hash`` field (a JSON object ending in ``}``,
``stream`` and ``seq`` included). ``hash = H(previous hash + body)`` with
``H`` SHA-256, or HMAC-SHA256 under the configured key; the first line of a
stream has an empty previous hash.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

__all__ = ["HASH_SUFFIX_LEN", "chain", "seal", "seal_next", "split"]

_PREFIX: Final = b',"hash":"'
# ',"hash":"' + 64 hex + '"}'
HASH_SUFFIX_LEN: Final = len(_PREFIX) + 64 + 2


def chain(previous: bytes, body: bytes, key: bytes | None = None) -> bytes:
    """The hex digest that follows ``previous`` for the line ``body``."""
    if key is None:
        return hashlib.sha256(previous + body).hexdigest().encode()
    return hmac.new(key, previous + body, hashlib.sha256).hexdigest().encode()


def seal(body: bytes, digest: bytes) -> bytes:
    """The complete line: ``body`` with ``hash`` as its last key, and ``\\n``."""
    return body[:-1] + _PREFIX + digest + b'"}\n'


def seal_next(previous: bytes, head: bytes, key: bytes | None = None) -> tuple[bytes, bytes]:
    """``(digest, line)`` for the line whose body is ``head + b"}"`` after
    ``previous``: :func:`chain` and :func:`seal` in one call, without the
    slice of the body they would make (the sink's per-line path)."""
    body = head + b"}"
    if key is None:
        digest = hashlib.sha256(previous + body).hexdigest().encode()
    else:
        digest = hmac.new(key, previous + body, hashlib.sha256).hexdigest().encode()
    return digest, head + _PREFIX + digest + b'"}\n'


def split(line: bytes) -> tuple[bytes, bytes] | None:
    """``(body, digest)`` of a sealed line (with or without its ``\\n``), or
    ``None`` when the line does not end with a ``hash`` field."""
    line = line.rstrip(b"\n")
    suffix = line[-HASH_SUFFIX_LEN:]
    if len(line) <= HASH_SUFFIX_LEN or not suffix.startswith(_PREFIX) or suffix[-2:] != b'"}':
        return None
    return line[:-HASH_SUFFIX_LEN] + b"}", suffix[len(_PREFIX) : -2]
