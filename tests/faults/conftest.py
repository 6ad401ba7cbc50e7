"""Real components for the fault tests: a throw-away PostgreSQL cluster, a throw-away Redis and
gunicorn, each started and stopped by the test itself (never the machine's shared servers).

A missing binary fails the test with what to install: these tests must not skip silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def require(path: Path | str, hint: str) -> str:
    """The binary's path, or a failed test saying how to get it."""
    found = shutil.which(str(path))
    if found is None:
        pytest.fail(f"{path} is missing: {hint}", pytrace=False)
    return found


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


class PostgresCluster:
    """A private cluster in a temporary directory, on its own port, trust authentication."""

    def __init__(self) -> None:
        hint = "install PostgreSQL 15 (apt-get install postgresql) or set PG_BIN"
        self.initdb = require(PG_BIN / "initdb", hint)
        self.pg_ctl = require(PG_BIN / "pg_ctl", hint)
        self.port = _free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="wellness-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, our arguments
            _as_postgres(list(args)), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            pytest.fail(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}", pytrace=False)

    def init(self) -> None:
        # --no-sync and fsync=off: nothing here survives the test, and a clean stop still
        # writes everything out (what a restart must keep is tested through the server).
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        self._run(
            self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        subprocess.run(  # noqa: S603 - as above; the cluster may already be stopped
            _as_postgres([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def pg_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


class Gunicorn:
    """gunicorn with infra/gunicorn.conf.py (one worker, four threads) on a free port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter and arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    str(ROOT / "infra" / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "wellness:create_app()",
                ],
                env={**env, "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4"},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=1)  # noqa: S310 - loopback
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    pytest.fail(f"gunicorn did not start:\n{self.tail()}", pytrace=False)
                time.sleep(0.2)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def last_error(self) -> str:
        """The last traceback in the log, shortened to our own frames and the exceptions."""
        text = self.log.read_text(errors="replace")
        # The app's "Exception on ..." or gunicorn's "Error handling request": a 500.
        start = max(text.rfind("Exception on "), text.rfind("Error handling request"))
        if start < 0:
            start = text.rfind("Traceback (most recent call last)")
        if start < 0:
            return "(no traceback in the log)"
        lines = text[start:].splitlines()[:400]
        keep = [ln for ln in lines if "/wellness/" in ln or not ln.startswith(" ")]
        return "\n".join(keep[:60])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The app's environment for gunicorn: this database, development mode, no SMTP, no Redis
    unless given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "GUNICORN_", "WELLNESS_", "REDIS_"))
        and key not in {"WEB_CONCURRENCY", "DATABASE_URL", "SECRET_KEY"}
    }
    env.update(
        DATABASE_URL=database_url,
        WELLNESS_ENV="development",
        SECRET_KEY="fault-test-secret-key-of-enough-length",
        **extra,
    )
    return env
