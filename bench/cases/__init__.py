"""The comparisons, in the order of issue 8. Each module has
``run(quick: bool) -> dict`` with ``title``, ``measurements`` (see
:func:`bench.harness.measurement`), ``info`` and, when it could not run,
``skipped`` (the reason)."""

ORDER = ("saves", "saves_pg", "load", "emit", "procs", "history", "http", "admin")
