"""The command-line layer: ``manage.py eventlog <subcommand>``.

One module per subcommand owns its arguments, its checks and its output:
:mod:`~eventlog.cli.tail`, :mod:`~eventlog.cli.history`,
:mod:`~eventlog.cli.restore`, :mod:`~eventlog.cli.snapshot`, :mod:`~eventlog.cli.verify`,
:mod:`~eventlog.cli.prune` and :mod:`~eventlog.cli.stats`. The modules they
share: :mod:`~eventlog.cli.base` (what a subcommand provides and receives),
:mod:`~eventlog.cli.parser` (one-line argparse errors), :mod:`~eventlog.cli.dirs`
(``--dir``), :mod:`~eventlog.cli.argtypes` (checked option values),
:mod:`~eventlog.core.sanitize` (no control or bidi character from the log
reaches the terminal), :mod:`~eventlog.cli.pretty` (the human form of events),
:mod:`~eventlog.cli.console` (writing, raw or pretty),
:mod:`~eventlog.cli.badlines`, :mod:`~eventlog.cli.progress`,
:mod:`~eventlog.cli.confirm` and :mod:`~eventlog.cli.interrupt`.

The layer sits on the read side: it imports :mod:`eventlog.reader`,
:mod:`eventlog.read` and :mod:`eventlog.core`, never :mod:`eventlog.write` or
:mod:`eventlog.audit`, except :mod:`~eventlog.cli.restore` and
:mod:`~eventlog.cli.snapshot`, which write through :mod:`eventlog.audit.restore`
and :mod:`eventlog.audit.snapshot`. Django settings reach it only through
the :class:`~eventlog.cli.base.Defaults` the management command passes in.
This package imports none of its modules, so loading one subcommand loads
no other.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SUBCOMMANDS"]

SUBCOMMANDS: Final = ("tail", "history", "restore", "snapshot", "verify", "prune", "stats")
"""The subcommands, in the order ``--help`` lists them; each is the module of that name."""
