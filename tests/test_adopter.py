"""An adopter's first day, end to end: the wheel built from this checkout,
installed into a clean virtualenv with nothing but its own requirements, in a
project made by ``django-admin startproject`` and set up by the README's
section "Use eventlog in your project", applied word for word (its fenced
blocks, found by the ``<!-- adopter: WHERE -->`` comment before each). A
registered model's save must reach ``events.jsonl``, Django's records
``django.jsonl``, and ``eventlog verify`` must pass there.

Prerequisites outside the project (the ``venv`` module with ensurepip, a
reachable package index) skip the test when missing, except in CI
(``EVENTLOG_CI=1``), where they fail it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import eventlog
from tests.helpers import missing

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Use eventlog in your project"
MARKED_BLOCK = re.compile(
    r"<!-- adopter: (?P<where>[^>]+?) -->\n```(?P<lang>\w*)\n(?P<code>.*?)\n```", re.S
)
# Installed by the checkout's extras, never by the wheel's own requirements.
NOT_REQUIRED = ("stringzilla", "django-fsm-2", "dj-database-url", "fastjsonschema", "psycopg")
# What the test's own app is: the README's EVENTLOG_MODELS names it.
APP_MODELS = """from django.db import models


class Order(models.Model):
    number = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"order {self.number}"
"""
OWN_APP = 'INSTALLED_APPS += ["shop"]'
SAVE_AND_REQUEST = """
from django.test import Client
from shop.models import Order

Order.objects.create(number="A-1")
response = Client().get("/missing/", HTTP_HOST="localhost")
print("status", response.status_code, "request-id", response.headers.get("X-Request-ID"))
"""

# Reaching the index is a prerequisite; what the build backend needs shows it.
PROBE = ("setuptools>=77",)

pytestmark = pytest.mark.slow


def adopter_blocks() -> list[tuple[str, str, str]]:
    """(where, language, code) of every fenced block of the README's adopter
    section, each of which must be marked."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + len(SECTION) + 2)
    section = text[start : end if end != -1 else len(text)]
    blocks = [(m["where"].strip(), m["lang"], m["code"]) for m in MARKED_BLOCK.finditer(section)]
    fences = len(re.findall(r"^```\w*$", section, re.M)) // 2
    assert len(blocks) == fences, "every fenced block of the adopter section needs its marker"
    return blocks


def run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: int = 300):
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of an adopter's shell with the venv activated: nothing
    of this checkout or of the test run's Django and eventlog settings."""
    drop = ("DJANGO_", "EVENTLOG_", "PYTHON", "VIRTUAL_ENV", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def build_wheel(tmp: Path, env: dict[str, str]) -> Path:
    """``pip wheel --no-deps`` of a copy of the checkout (so the build leaves
    nothing in the work tree and needs nothing the copy does not hold)."""
    source = tmp / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
            "logs",
            "*.sqlite3",
        ),
    )
    wheels = tmp / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheels, source], tmp, env
    )
    (wheel,) = wheels.glob("*.whl")
    return wheel


def check_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
    assert dist_info.startswith("django_eventlog_jsonl-")
    assert {n.split("/")[0] for n in names} == {"eventlog", dist_info}, (
        "only eventlog/ in the wheel"
    )
    for required in ("eventlog/py.typed", "eventlog/schema/event-v1.json"):
        assert required in names
    assert f"{dist_info}/licenses/LICENSE" in names


def apply_shell(code: str, wheel: Path, python: Path, cwd: Path, env: dict[str, str]) -> None:
    """Runs each ``$ `` line of a console block in the venv. The one thing not
    taken literally: the distribution is installed from the wheel just built
    (the README names the distribution; it must be the wheel's)."""
    for line in code.splitlines():
        if not line.startswith("$ "):
            continue
        words = line[2:].split()
        if words[:2] == ["pip", "install"]:
            assert words[2:] == [eventlog.DISTRIBUTION], line
            run([python, "-m", "pip", "install", "--quiet", wheel], cwd, env)
        elif words[0] == "python":
            run([python, *words[1:]], cwd, env)
        else:
            raise AssertionError(f"the adopter test does not know how to run {line!r}")


def test_readme_adopter_section_in_a_new_project(tmp_path):
    blocks = adopter_blocks()
    assert {where for where, _, _ in blocks} <= {"shell", "settings.py", "events.jsonl"}

    venv = tmp_path / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "venv", venv], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        missing(f"python -m venv cannot make a virtualenv here: {made.stderr.strip()}")
    python = venv / "bin" / "python"
    env = clean_env(venv)

    probe = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            tmp_path / "probe",
            *PROBE,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    if probe.returncode != 0:
        missing(f"the package index cannot be reached: {probe.stderr.strip()[-300:]}")

    wheel = build_wheel(tmp_path, env)
    check_wheel_contents(wheel)

    project = tmp_path / "project"
    project.mkdir()
    for where, _lang, code in blocks:
        if where == "shell":
            apply_shell(code, wheel, python, project, env)
    installed = run([python, "-m", "pip", "list", "--format=json"], project, env).stdout
    names = {d["name"].lower() for d in json.loads(installed)}
    assert eventlog.DISTRIBUTION in names
    assert not names & set(NOT_REQUIRED), "the wheel pulled in an optional package"
    run([python, "-m", "pip", "check"], project, env)

    run([venv / "bin" / "django-admin", "startproject", "mysite", project], project, env)
    manage = [python, "manage.py"]
    run([*manage, "startapp", "shop"], project, env)
    (project / "shop" / "models.py").write_text(APP_MODELS)
    settings = project / "mysite" / "settings.py"
    # The README's MIDDLEWARE is "startproject's list with the one line
    # added": it must stay so as Django's template changes.
    readme_middleware = [
        ast.literal_eval(node.value)
        for where, _lang, code in blocks
        if where == "settings.py"
        for node in ast.parse(code).body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "MIDDLEWARE"
    ]
    generated = [
        ast.literal_eval(node.value)
        for node in ast.parse(settings.read_text()).body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "MIDDLEWARE"
    ]
    assert len(readme_middleware) == 1, "the adopter section sets MIDDLEWARE once"
    added = [m for m in readme_middleware[0] if m not in generated[0]]
    assert added == ["eventlog.middleware.EventlogMiddleware"], readme_middleware[0]
    assert [m for m in readme_middleware[0] if m not in added] == generated[0]
    with settings.open("a") as out:
        out.write(f"\n# The test's own app, holding the model the README registers.\n{OWN_APP}\n")
        for where, _lang, code in blocks:
            if where == "settings.py":
                out.write(f"\n{code}\n")

    checked = run([*manage, "check"], project, env)
    assert "no issues" in checked.stdout, checked.stdout + checked.stderr
    run([*manage, "makemigrations", "shop"], project, env)
    run([*manage, "migrate", "--noinput"], project, env)
    shell = run([*manage, "shell", "-c", SAVE_AND_REQUEST], project, env)
    # The middleware ran: the response carries a request id.
    assert re.search(r"^status 404 request-id [0-9a-f-]{36}$", shell.stdout, re.M), shell.stdout
    # Django's console output is kept next to django.jsonl.
    assert "Not Found: /missing/" in shell.stderr

    logs = project / "logs"
    lines = (logs / "events.jsonl").read_text().splitlines()
    created_lines = [line for line in lines if '"event":"model.created"' in line]
    created = [json.loads(line) for line in created_lines]
    assert len(created) == 1, lines
    assert created[0]["model"] == "shop.order"
    assert created[0]["object_id"] == "1"
    assert created[0]["snapshot"] == {"id": 1, "number": "A-1"}
    assert created[0]["actor"] == "CLI"
    samples = [json.loads(code) for where, _, code in blocks if where == "events.jsonl"]
    assert [list(s) for s in samples] == [list(created[0])], (
        f"the README's sample line has other keys than the one written:\n{created_lines[0]}"
    )
    assert samples[0]["snapshot"].keys() == created[0]["snapshot"].keys()

    records = [json.loads(line) for line in (logs / "django.jsonl").read_text().splitlines()]
    assert any(
        r["event"] == "django.request" and r["message"] == "Not Found: /missing/" for r in records
    ), records

    verified = run([*manage, "eventlog", "verify"], project, env)
    assert verified.returncode == 0
    # No StringZilla in this venv: the history lookup runs on the fallback search.
    history = run([*manage, "eventlog", "history", "shop.order", "1", "--json"], project, env)
    assert [json.loads(line)["event"] for line in history.stdout.splitlines()] == ["model.created"]
