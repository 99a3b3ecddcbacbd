"""``python -m bench.case NAME --out FILE [--quick]``: one comparison in this
process; its result (a JSON object) goes to ``FILE``.

Run by :mod:`bench.run`, one process per comparison, so that no comparison
inherits another's heap, caches or open files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Run the comparison named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.case")
    parser.add_argument("name")
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    module = importlib.import_module(f"bench.cases.{args.name}")
    started = time.perf_counter()
    result: dict[str, Any] = module.run(args.quick)
    result["seconds"] = round(time.perf_counter() - started, 1)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
