"""eventlog's benchmark suite: ``make bench`` or ``python -m bench``.

Each comparison runs in a process of its own (:mod:`bench.case`), its
variants in interleaved rounds (A, B, A, B, ...) so that drift of a shared
machine hits all of them alike; medians and their ratios go to
``bench/results.json`` and the README's Performance table (:mod:`bench.run`).
"""
