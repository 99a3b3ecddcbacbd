"""The write layer: an event dict in, one sealed line appended to a file out.

Context (:mod:`~eventlog.write.context`), the structlog pipeline and its
processors (:mod:`~eventlog.write.pipeline`), values and masking
(:mod:`~eventlog.write.values`), the clock and ids
(:mod:`~eventlog.write.clock`), the sink with its chain and rotation
(:mod:`~eventlog.write.sink`, :mod:`~eventlog.write.rotation`,
:mod:`~eventlog.write.generation`, :mod:`~eventlog.write.fsync`) and the
background writer (:mod:`~eventlog.write.writer`). It imports
:mod:`eventlog.core` and :mod:`eventlog.conf`, never the audit or read layers.
"""
