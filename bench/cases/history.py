"""5. History lookup: one object's events out of a generated 1 GB log set,
through eventlog's reader (``iter_events`` with a ``Filter`` on model and
object id, what ``manage.py eventlog history``/``tail --model --object-id``
read with), against ``grep -F`` of that object's key over the same files.

The set is made fast from a template of valid ``model.*`` lines (random ids
among 200,000 objects of three models, envelope and context as eventlog
writes them; hashes are random, so ``verify`` would fail on it) in ten
uncompressed files named as the sink rotates them, in a temporary directory
deleted afterwards. Uncompressed: with ``.gz`` files both sides would mostly
measure zlib. Smaller when the disk has less than 3x the size free.
Beside them, for the record: the reader with ``bytearray.find`` in place of
its SIMD search (its fallback) and a one-needle ``bytes.find`` block scan.
Target: the reader takes at most 2x grep's time.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import interleave, measurement, median, paired

TARGET = 2.0
FULL_BYTES = 1 << 30
FILES = 10
MODEL, OBJECT_ID = "speedy.employees", "4242"
KEY = f'"model":"{MODEL}","object_id":"{OBJECT_ID}"'
NOTE = (
    "The reader reads each file into one reused 1 MiB buffer and searches it for the "
    "filter's anchors (the object id's three forms: string, integer, in object_ids) "
    "with StringZilla's SIMD find, then decodes only the few candidate lines that "
    "pass the byte pre-filter. With bytearray.find instead (its fallback when "
    "StringZilla cannot be imported, measured as reader_bytes_find) each anchor is "
    "one pass at about grep's own speed, so that path takes about 4x grep; the "
    "block_scan prototype (bytes.find, one needle, no decode) is the floor of that "
    "approach, about 2x grep."
)
TEMPLATE = (
    '{{"timestamp":"{ts}","level":"info","event":"{event}","event_id":"{eid}",'
    '"schema_version":1,"request_id":"{rid}","ip":"10.1.{a}.{b}",'
    '"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","actor":"user{actor}",'
    '"actor_id":"{actor}","model":"{model}","object_id":"{oid}",'
    '"object_repr":"Ada Lovelace {oid}","changes":{{"age":{{"old":{age},"new":{age1}}},'
    '"address":{{"old":"12 St James\'s Square","new":"{a} Berkeley Square"}}}},'
    '"stream":"web1-{pid}-1f2e3d4c","seq":{seq},"hash":"{hash}"}}\n'
)
MODELS = ("speedy.employees", "speedy.shifts", "auth.user")
EVENTS = ("model.updated", "model.updated", "model.updated", "model.created", "model.deleted")


def _generate(directory: Path, total: int) -> tuple[list[Path], int]:
    """Write about ``total`` bytes of lines in ``FILES`` files; return them
    (oldest first) and how many lines name the target object."""
    rnd = random.Random(8)  # noqa: S311 (not for security: a reproducible log)
    per_file = total // FILES
    paths: list[Path] = []
    hits = 0
    seq = 0
    base = 1_790_000_000
    for n in range(FILES):
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(base + n * 3600))
        name = "events.jsonl" if n == FILES - 1 else f"events.jsonl.{stamp}.000000Z"
        path = directory / name
        written = 0
        with open(path, "wb", buffering=1 << 20) as f:
            while written < per_file:
                block = []
                for _ in range(2000):
                    seq += 1
                    oid = str(rnd.randrange(1, 200_000))
                    model = MODELS[seq % 3]
                    if seq % 50_000 == 7:
                        model, oid = MODEL, OBJECT_ID
                    if model == MODEL and oid == OBJECT_ID:
                        hits += 1
                    second = base + n * 3600 + seq % 3600
                    block.append(
                        TEMPLATE.format(
                            ts=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
                            + f".{seq % 1_000_000:06d}Z",
                            event=EVENTS[seq % 5],
                            eid=f"0190{seq:028x}",
                            rid=f"{seq * 7919:032x}",
                            a=seq % 250,
                            b=seq % 200,
                            actor=seq % 97,
                            model=model,
                            oid=oid,
                            age=30 + seq % 40,
                            age1=31 + seq % 40,
                            pid=1000 + n,
                            seq=seq,
                            hash=rnd.getrandbits(256).to_bytes(32).hex(),
                        )
                    )
                data = "".join(block).encode()
                f.write(data)
                written += len(data)
        paths.append(path)
    return paths, hits


def grep_round(paths: list[Path], hits: int) -> dict[str, float]:
    """One round of ``grep -F`` of the object's key over ``paths`` (C locale),
    checked to find its ``hits`` lines: the side every reader is compared with."""
    t0 = time.perf_counter()
    # Output to a pipe we read: with stdout on /dev/null GNU grep stops at
    # the first match.
    out = subprocess.run(
        ["grep", "-F", "-h", "--", KEY, *map(str, paths)],
        env={**os.environ, "LC_ALL": "C"},
        stdout=subprocess.PIPE,
        check=True,
    ).stdout
    assert out.count(b"\n") == hits, (out.count(b"\n"), hits)
    return {"s": time.perf_counter() - t0}


def set_size(base: Path, quick: bool) -> tuple[int, str | None]:
    """How many bytes of log to generate in ``base``, and why fewer than the
    full set when the disk has less than three times its size free."""
    total = 2 << 20 if quick else FULL_BYTES
    free = shutil.disk_usage(base).free
    if free >= 3 * total:
        return total, None
    total = max(16 << 20, free // 4)
    return total, f"only {free >> 20} MiB free: scaled down to {total >> 20} MiB"


def block_scan(paths: list[Path], needle: bytes) -> int:
    """The floor of a pure-Python block scan: lines containing one
    ``needle``, found by searching 1 MiB blocks with ``bytes.find``, none
    decoded (the reader searches three needles, with a SIMD find)."""
    count = 0
    for path in paths:
        with open(path, "rb") as f:
            tail = b""
            while chunk := f.read(1 << 20):
                block = tail + chunk
                cut = block.rfind(b"\n") + 1
                block, tail = block[:cut], block[cut:]
                at = block.find(needle)
                while at >= 0:
                    start = block.rfind(b"\n", 0, at) + 1
                    end = block.find(b"\n", at) + 1
                    count += 1  # a real reader would parse block[start:end] here
                    at = block.find(needle, end)
                    del start
    return count


def run(quick: bool) -> dict[str, Any]:
    """Generate the set, then interleaved rounds of reader vs grep."""
    from eventlog.read import scan
    from eventlog.reader import Filter, iter_events

    base = Path(tempfile.mkdtemp(prefix="eventlog-bench-history-"))
    total, scaled = set_size(base, quick)
    rounds = 1 if quick else 3
    try:
        started = time.perf_counter()
        paths, hits = _generate(base, total)
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in paths)
        flt = Filter(model=MODEL, object_id=OBJECT_ID)

        def reader() -> dict[str, float]:
            t0 = time.perf_counter()
            found = sum(1 for _ in iter_events(base, filter=flt))
            assert found == hits, (found, hits)
            return {"s": time.perf_counter() - t0}

        def reader_bytes_find() -> dict[str, float]:
            picked = scan._find
            scan._find = bytearray.find
            try:
                return reader()
            finally:
                scan._find = picked

        def grep() -> dict[str, float]:
            return grep_round(paths, hits)

        def prototype() -> dict[str, float]:
            t0 = time.perf_counter()
            assert block_scan(paths, KEY.encode()) == hits
            return {"s": time.perf_counter() - t0}

        results = interleave(
            {
                "reader": reader,
                "grep": grep,
                "reader_bytes_find": reader_bytes_find,
                "block_scan": prototype,
            },
            rounds,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ratio = paired(results["reader"]["s"], results["grep"]["s"], "ratio")
    info: dict[str, Any] = {
        "bytes": size,
        "files": len(paths),
        "hits": hits,
        "generate_s": round(generated, 1),
        "rounds": rounds,
        "reader_bytes_find_vs_grep": round(
            paired(results["reader_bytes_find"]["s"], results["grep"]["s"], "ratio"), 2
        ),
        "block_scan_vs_grep": round(
            paired(results["block_scan"]["s"], results["grep"]["s"], "ratio"), 2
        ),
    }
    if scaled:
        info["scaled"] = scaled
    return {
        "title": f"History of one object in {size / (1 << 30):.2f} GiB of logs",
        "measurements": [
            measurement(
                "history.vs_grep",
                f"One object's events from {size / (1 << 20):,.0f} MiB: reader vs grep -F",
                unit="s",
                values={f"{name} s": median(r["s"]) for name, r in results.items()},
                ratio=ratio,
                ratio_of="reader time / grep -F time",
                target=TARGET,
                op="<=",
                note=NOTE,
            )
        ],
        "info": info,
    }
