"""The read layer: the log files read back, without Django settings and
without the write layer.

It imports :mod:`eventlog.core` only (and orjson), so a script that reads logs
loads no sink, no structlog and none of their exit or fork hooks.
"""
