"""The vocabulary every line shares: the keys a line's writer owns and the
markers it leaves in values.

Writers put them in, readers look for them; both take them from here, so the
read side never imports the write side to recognise a masked or cut value.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ENVELOPE",
    "MASK",
    "MASKED_CHANGE",
    "MODEL_KEYS",
    "MOVED_TO",
    "RESERVED",
    "SCHEMA_VERSION",
    "SINK_KEYS",
    "TRUNCATED",
    "TRUNCATED_MARK",
]

SCHEMA_VERSION: Final = 1
"""``schema_version`` of every line written now."""
ENVELOPE: Final = frozenset({"timestamp", "level", "event", "event_id", "schema_version"})
"""Keys of the envelope: set by the pipeline, never taken from a caller, never cut."""
SINK_KEYS: Final = frozenset({"stream", "seq", "hash"})
"""Keys the sink adds when it seals a line."""
RESERVED: Final = ENVELOPE | SINK_KEYS
MOVED_TO: Final = "extra"
"""Where a caller's key that would overwrite a reserved one goes instead."""
MASK: Final = "***"
"""How a masked value is written."""
MASKED_CHANGE: Final = {"old": MASK, "new": MASK}
"""A masked field's entry in ``changes``: kept as is, so it still shows the
field changed."""
TRUNCATED: Final = "…[truncated {} bytes]"
"""The marker appended to a value cut to keep a line under the cap."""
TRUNCATED_MARK: Final = TRUNCATED.partition("{")[0]
"""The start of :data:`TRUNCATED`, by which a reader recognises a cut value."""
MODEL_KEYS: Final = frozenset(
    {
        "model",
        "object_id",
        "object_repr",
        "changes",
        "snapshot",
        "field",
        "related_model",
        "related_ids",
        "object_ids",
        "count",
    }
)
"""The catalogue's keys of ``model.*`` lines, whether or not a line has them:
readers take them as the catalogue says, so a caller's value never takes
their place and the line cap cuts inside them instead of dropping them."""
