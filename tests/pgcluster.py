"""A private PostgreSQL cluster for the tests: no system service, no root.

``initdb`` in a directory of its own, a free loopback port, the socket in
that directory, run as an unprivileged user (``postgres`` when it exists,
else ``nobody``) when started as root, since PostgreSQL refuses to run as
root. Trust authentication on loopback only: the cluster lives as long as
the tests and holds nothing but their data.

Used by ``.ci/run`` (``python3 tests/pgcluster.py start DIR`` prints the
``DATABASE_URL``; ``stop DIR`` stops it and deletes DIR) and by the tests
that need PostgreSQL when no ``DATABASE_URL`` names one (:func:`url`).
Standard library only: ``.ci/run`` calls it before any venv exists.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "eventlog"
DATABASE = "eventlog"
URL_FILE = "url"


def binaries() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest
    ``/usr/lib/postgresql/N/bin``, else the one on PATH; None when absent."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runner() -> tuple[list[str], int | None]:
    """The command prefix that drops root, and the uid the cluster runs as."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if shutil.which("runuser"):
            return ["runuser", "-u", name, "--"], entry.pw_uid
        return [
            "setpriv",
            f"--reuid={entry.pw_uid}",
            f"--regid={entry.pw_gid}",
            "--clear-groups",
        ], entry.pw_uid
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run as")


def start(base: Path) -> str:
    """Create and start a cluster in ``base`` (made if missing); its URL."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("no initdb: install PostgreSQL (Debian: postgresql)")
    base.mkdir(parents=True, exist_ok=True)
    prefix, uid = _runner()
    if uid is not None:
        os.chown(base, uid, -1)
    data = base / "data"

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True, cwd=base)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        port = _free_port()
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE)
    except subprocess.CalledProcessError as exc:
        log = base / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(
            f"{Path(exc.cmd[len(prefix)]).name} failed: {(exc.stderr or '').strip()} {tail}"
        ) from exc
    url = f"postgres://{USER}@127.0.0.1:{port}/{DATABASE}"
    (base / URL_FILE).write_text(url)
    return url


def stop(base: Path) -> None:
    """Stop the cluster of ``base`` (if it runs) and delete ``base``."""
    bindir = binaries()
    data = base / "data"
    if bindir is not None and (data / "postmaster.pid").exists():
        prefix, _uid = _runner()
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
            cwd=base,
        )
    shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str]) -> int:
    """``start DIR`` (prints the URL) or ``stop DIR``."""
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        print("usage: pgcluster.py start|stop DIR", file=sys.stderr)
        return 2
    base = Path(argv[1])
    if argv[0] == "stop":
        stop(base)
        return 0
    try:
        print(start(base))
    except RuntimeError as exc:
        print(f"pgcluster: {exc}", file=sys.stderr)
        stop(base)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
