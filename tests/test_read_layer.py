"""The read layer stands alone: ``eventlog.reader`` and ``eventlog.read.*``
import only ``eventlog.core``, ``eventlog.read``, orjson, StringZilla and the
standard library (imports inside functions included), without a circle, and
load no Django, settings or write side in a plain script; ``eventlog.reader``
re-exports the public names of the modules it was split into."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import eventlog.reader
from eventlog.read import lines
from tests.helpers import ROOT

PACKAGE = ROOT / "eventlog"
READ_SIDE = sorted(
    ["eventlog.reader"]
    + [
        "eventlog.read" + ("" if p.stem == "__init__" else f".{p.stem}")
        for p in (PACKAGE / "read").glob("*.py")
    ]
)
ALLOWED_THIRD_PARTY = {"orjson", "stringzilla"}
FORBIDDEN_PREFIXES = ("eventlog.write", "eventlog.audit", "eventlog.conf", "structlog", "django")


def module_path(name: str) -> Path:
    """The source file of package module ``name``."""
    path = ROOT.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def imported(name: str) -> set[str]:
    """Every module ``name`` imports, anywhere in its source (functions and
    ``TYPE_CHECKING`` blocks included): ``from x import y`` counts as
    ``x.y`` when that is a module of the package, else as ``x``."""
    path = module_path(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if base.startswith("eventlog") and is_module(full) else base)
    return found


def test_the_read_side_imports_only_core_read_orjson_stringzilla_and_stdlib():
    """No import of the write side, the audit side, settings, Django or
    structlog in any read module, not even inside a function."""
    wrong = {}
    for name in READ_SIDE:
        for target in imported(name):
            top = target.partition(".")[0]
            if target == "eventlog" or target.startswith(("eventlog.core", "eventlog.read")):
                continue
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__":
                continue
            wrong.setdefault(name, []).append(target)
    assert wrong == {}


def test_the_read_side_has_no_import_circle():
    """The modules of the read side (and what they import of the core) import
    each other without a circle."""
    graph: dict[str, set[str]] = {}
    pending = list(READ_SIDE)
    while pending:
        name = pending.pop()
        if name in graph:
            continue
        graph[name] = {t for t in imported(name) if t.startswith("eventlog.") and is_module(t)}
        pending.extend(graph[name])
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


CHECK = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
loaded = sorted(m for m in sys.modules if m.startswith({prefixes!r}))
settings = None
if "django.conf" in sys.modules:
    settings = sys.modules["django.conf"].settings.configured
print(json.dumps({{"loaded": loaded, "settings_configured": settings}}))
"""


@pytest.mark.parametrize("name", READ_SIDE)
def test_importing_the_read_side_loads_no_django_settings_or_write_side(name):
    """In a plain Python process without ``DJANGO_SETTINGS_MODULE``, importing
    a read module succeeds and loads nothing of the write or audit side, no
    settings, no structlog, and not Django at all."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", CHECK.format(prefixes=FORBIDDEN_PREFIXES), name],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '{"loaded": [], "settings_configured": null}'


def test_reader_star_import_gives_every_public_name():
    """``from eventlog.reader import *`` binds every name of ``__all__``, each
    the object of its home module in the read layer."""
    namespace: dict[str, object] = {}
    exec("from eventlog.reader import *", namespace)
    names = set(namespace) - {"__builtins__"}
    assert names == set(eventlog.reader.__all__)
    homes = {
        name: value.__module__
        for name, value in namespace.items()
        if inspect.isclass(value) or inspect.isfunction(value)
    }
    assert len(homes) == len(names) - 3  # the type aliases Directories, OnBadLine, Progress
    # The pickled classes are named by their public home.
    public = {"Filter", "ObjectState", "BadLineWarning"}
    assert {n for n, home in homes.items() if home == "eventlog.reader"} == public
    assert all(home.startswith("eventlog.read.") for n, home in homes.items() if n not in public)
    assert eventlog.reader.MAX_LINE_BYTES == lines.MAX_LINE_BYTES
