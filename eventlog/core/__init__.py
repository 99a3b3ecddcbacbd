"""The bottom layer: what writers and readers share, and nothing else.

File names and the rotated-name pattern (:mod:`~eventlog.core.files`), the
keys and markers of a line (:mod:`~eventlog.core.keys`), the hash chain
(:mod:`~eventlog.core.integrity`) and the ECS field mapping
(:mod:`~eventlog.core.ecs`). Nothing here imports Django, structlog or any
other layer of eventlog.
"""
