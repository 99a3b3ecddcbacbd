"""The package's layers, read off its import statements (module level and
inside functions alike): each layer imports only the layers below it, the
read side never the write side, and no module imports itself back through
others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "eventlog"

# What each layer may import of eventlog besides itself.
ALLOWED = {
    "core": set(),
    "conf": {"core"},
    "read": {"core"},
    "write": {"core", "conf"},
    "audit": {"core", "conf", "write", "read", "signals"},
    "cli": {"core", "conf", "read", "reader", "audit", "write"},
    "admin": {"core", "conf", "read", "reader", "audit", "write", "middleware", "models"},
}
READ_ONLY_ENTRY = ("eventlog.reader", "eventlog.read", "eventlog.core")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """eventlog modules ``path`` imports anywhere in its body (a ``from X
    import y`` counts as ``X.y`` when that is a module, else ``X``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("eventlog"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eventlog"):
            assert node.level == 0, f"{path}: relative import"
            module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                found.add(candidate if candidate in MODULES else module)
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in ALLOWED))
def test_each_layer_imports_only_the_layers_below(module):
    layer = _layer(module)
    wrong = {
        imported
        for imported in GRAPH[module]
        if _layer(imported) != layer and _layer(imported) not in ALLOWED[layer]
    }
    assert wrong == set(), f"{module} ({layer}) imports {sorted(wrong)}"


def test_no_import_circles():
    """Depth-first search over every import edge: a module reached again while
    it is still open is a circle."""
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(GRAPH.get(module, ())):
            if imported != "eventlog":  # the package's own lazy __getattr__
                visit(imported, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])
    assert circles == []


def test_the_package_root_imports_nothing_at_import_time():
    """``eventlog/__init__`` loads register and context lazily, so importing
    any submodule does not pull in the write and audit layers."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    eager = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eventlog")
    ]
    assert eager == []


def test_import_eventlog_reader_needs_no_settings_and_loads_no_write_side():
    code = (
        "import sys, eventlog.reader\n"
        "bad = sorted(m for m in sys.modules if m.startswith("
        "('eventlog.write', 'eventlog.audit', 'eventlog.conf', 'eventlog.cli', 'structlog')))\n"
        "print(bad)\n"
        "print('django.conf' in sys.modules)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "False"]


def test_public_modules_keep_working():
    """Moved public modules keep their names: thin re-exports."""
    import eventlog
    from eventlog import bulk, reader
    from eventlog.audit import bulk as audit_bulk

    assert bulk.AuditedQuerySet is audit_bulk.AuditedQuerySet
    from eventlog.audit.register import register
    from eventlog.write.context import context

    assert eventlog.register is register
    assert eventlog.context is context
    assert set(reader.__all__) <= set(dir(reader))


def test_the_lazy_names_are_listed():
    import eventlog

    assert {"register", "context", "__version__"} <= set(dir(eventlog))


def test_pickles_of_read_objects_name_their_public_module():
    """A pickle must survive moves inside the layers: it names eventlog.reader."""
    import pickle

    from eventlog.reader import Filter, ObjectState

    for obj in (Filter(event="model.*"), ObjectState("zoo.animal", "1")):
        data = pickle.dumps(obj)
        assert b"eventlog.reader" in data
        assert b"eventlog.read." not in data
        assert pickle.loads(data) == obj
