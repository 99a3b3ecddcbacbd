"""The read layer: the log files read back, without Django settings and
without the write layer.

It imports :mod:`eventlog.core` only (and orjson, and StringZilla's search
when it can be imported), so a script that reads logs loads no Django, no
sink, no structlog and none of their exit or fork hooks. Everything streams:
a file is read line by line (gzip included), never whole into memory, and
reading never raises because of what is *in* a file. :mod:`eventlog.reader`
is its public API. The modules, each on one concern:

* :mod:`~eventlog.read.times`: the time syntax (``parse_time``);
* :mod:`~eventlog.read.files`: a log's files, oldest first, and opening them;
* :mod:`~eventlog.read.lines`: the lines of one file, and bad-line reports;
* :mod:`~eventlog.read.filters`: ``Filter``, on events and on raw lines;
* :mod:`~eventlog.read.scan`: the block scan for a filter's candidate lines;
* :mod:`~eventlog.read.events`: lines to events, a log's events, several
  directories merged by time, one object's events and state;
* :mod:`~eventlog.read.tail`: following the live file across rotations;
* :mod:`~eventlog.read.history`: an object's state replayed from its events;
* :mod:`~eventlog.read.verify`, :mod:`~eventlog.read.stats`,
  :mod:`~eventlog.read.prune`: checking, counting and pruning the files.

This package imports none of them, so loading one loads only what it uses.
"""
