"""The CLI layer's shape: a short dispatcher, read-only subcommands that never
reach the write side, no import circles, ``__all__`` everywhere."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import eventlog
from eventlog import cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "eventlog"
CLI = PACKAGE / "cli"
COMMAND = PACKAGE / "management" / "commands" / "eventlog.py"
CLI_MODULES = sorted(f"eventlog.cli.{p.stem}" for p in CLI.glob("*.py") if p.stem != "__init__")
WRITERS = {"eventlog.cli.restore": "restore", "eventlog.cli.snapshot": "snapshot"}
READ_ONLY = [m for m in CLI_MODULES if m not in WRITERS]
WRITE_SIDE = ("eventlog.write", "eventlog.audit")


def is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def source_of(module: str) -> Path | None:
    """The file of an ``eventlog`` module or package, or None (not ours, or not a module)."""
    parts = module.split(".")
    if parts[0] != "eventlog":
        return None
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def imports(module: str, *, top_level_only: bool) -> frozenset[str]:
    """The eventlog modules ``module`` imports: at module level, or anywhere
    (functions included); ``from pkg import name`` counts as ``pkg.name`` when
    that is a module, and a module's parent packages are imported with it.
    Imports under ``if TYPE_CHECKING`` run only for the type checker."""
    path = source_of(module)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if top_level_only and nested:
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                for alias in child.names:
                    name = f"{child.module}.{alias.name}"
                    if source_of(name) is not None:
                        found.add(name)
                    elif child.module == "eventlog" and alias.name in eventlog._LAZY:
                        found.add(eventlog._LAZY[alias.name])
            visit(child, nested)

    visit(tree, False)
    with_parents = set()
    for name in found:
        parts = name.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(m for m in with_parents if source_of(m) is not None and m != module)


def loaded_by(module: str) -> set[str]:
    """Every eventlog module that importing ``module`` loads: its imports at any
    level, then, transitively, the module-level imports of those."""
    seen: set[str] = set()
    todo = list(imports(module, top_level_only=False))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports(name, top_level_only=True))
    return seen


def test_the_dispatcher_is_short():
    """The management command only builds the parsers and dispatches."""
    lines = COMMAND.read_text().splitlines()
    assert len(lines) <= 80, len(lines)
    tree = ast.parse(COMMAND.read_text())
    functions = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert sorted(functions) == ["add_arguments", "create_parser", "handle"]


def test_every_subcommand_has_its_module():
    """eventlog.cli lists the subcommands; each is a module with NAME, add_parser and run."""
    for name in cli.SUBCOMMANDS:
        module = importlib.import_module(f"eventlog.cli.{name}")
        assert name == module.NAME
        assert callable(module.add_parser)
        assert callable(module.run)


@pytest.mark.parametrize("module", READ_ONLY)
def test_read_only_cli_modules_never_reach_the_write_side(module):
    """Neither directly (at any level) nor through a module-level import of
    what they import do the read-only modules load eventlog.write or
    eventlog.audit; settings come in through Defaults, not eventlog.conf."""
    reached = loaded_by(module)
    assert not [m for m in reached if is_under(m, WRITE_SIDE)], sorted(reached)
    direct = imports(module, top_level_only=False)
    assert not [m for m in direct if is_under(m, ("eventlog.conf", "eventlog.management"))]


@pytest.mark.parametrize(("module", "name"), sorted(WRITERS.items()))
def test_writers_reach_the_audit_layer_only_through_their_own_module(module, name):
    """cli/restore.py imports eventlog.audit.restore and no other write-side
    module; cli/snapshot.py likewise eventlog.audit.snapshot."""
    direct = imports(module, top_level_only=False)
    write_side = {m for m in direct if is_under(m, WRITE_SIDE)}
    assert write_side == {"eventlog.audit", f"eventlog.audit.{name}"}


def test_no_import_circle_through_the_cli():
    """No eventlog.cli module (nor the command) can reach itself through imports
    at any level, and nothing below the command imports the CLI layer."""
    modules = [*CLI_MODULES, "eventlog.cli", "eventlog.management.commands.eventlog"]
    for start in modules:
        seen: set[str] = set()
        todo = list(imports(start, top_level_only=False))
        while todo:
            name = todo.pop()
            assert name != start, f"{start} imports itself through {sorted(seen)}"
            if name not in seen:
                seen.add(name)
                todo.extend(imports(name, top_level_only=False))
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(ROOT).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        if is_under(module, ("eventlog.cli", "eventlog.management")):
            continue
        assert not [
            m for m in imports(module, top_level_only=False) if is_under(m, ("eventlog.cli",))
        ], module


def test_importing_a_read_only_subcommand_loads_no_write_side():
    """The same, checked by importing them in a fresh interpreter without settings."""
    code = (
        "import sys\n"
        f"for name in {READ_ONLY!r}: __import__(name)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({WRITE_SIDE!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize("module", [*CLI_MODULES, "eventlog.cli"])
def test_every_cli_module_declares_all(module):
    """Each module says what it exports, and exports what it says."""
    loaded = importlib.import_module(module)
    assert loaded.__doc__
    assert loaded.__all__
    for name in loaded.__all__:
        assert hasattr(loaded, name), name
