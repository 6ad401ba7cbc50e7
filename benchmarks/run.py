"""Throughput and latency of the catalog and enrollment APIs against two baselines.

``make bench`` runs this with the project's virtualenv. One run:

1. creates a fresh PostgreSQL database (``wellness_bench_<pid>``) on ``--pg`` (default
   ``127.0.0.1:5432``, user ``postgres``), migrates it (``wellness db upgrade``) and seeds the
   demo (``wellness demo``) plus the benchmark's own employees, API tokens and offerings;
2. starts gunicorn with ``infra/gunicorn.conf.py`` on a free loopback port;
3. loads four endpoints one after the other with ``wrk`` (50 connections, 2 threads), each
   after a warm-up: ``/healthz`` (constant JSON), ``/readyz`` (one ``SELECT 1``), the catalog
   ``GET /api/v1/offerings`` and enrollment ``POST``/``DELETE /api/v1/offerings/<id>/enrollment``;
4. prints requests/s, p50/p99, errors and the ratio to ``/readyz`` and checks the targets;
5. stops gunicorn and drops the database, also after a failure or Ctrl-C.

Everything runs on this machine: wrk, gunicorn and PostgreSQL share its cores, and the output
says how much CPU wrk itself took. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"
BIN = Path(sys.executable).parent

#: Targets from the issue: throughput relative to the SELECT 1 endpoint, and p99 in ms.
CATALOG_MIN_RATIO = 0.5
ENROLLMENT_MIN_RATIO = 0.25
MAX_P99_MS = 100.0

#: The benchmark's own data: offerings with room for everybody, opened to the demo employer.
BENCH_OFFERINGS = 10
BENCH_CAPACITY = 100_000
#: Employees per wrk thread and group; the enrollment script cycles through employees x offerings.
PEOPLE_PER_THREAD = 50
GROUPS = ("warmup", "measure")
BENCH_EMPLOYER = "musterfirma"

WRK_INSTALL_HINT = (
    "wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk "
    "(as root: apt-get update && apt-get install -y wrk); on macOS: brew install wrk."
)


class BenchError(Exception):
    """The benchmark could not run (missing tool, server did not start, ...)."""


# --------------------------------------------------------------------------------------------
# Database


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """Create ``name`` on the server, yield its SQLAlchemy URL, drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise BenchError(
            f"cannot create database {name} on {url.render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}\n"
            "Start PostgreSQL there or pass --pg postgresql+psycopg://USER@HOST:PORT/postgres"
        ) from None
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"Dropped database {name}.")
        finally:
            admin.dispose()


def server_env(database_url: str) -> dict[str, str]:
    """The app's environment: development mode, no SMTP (mails stay in the outbox table)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "GUNICORN_", "WELLNESS_", "REDIS_"))
        and key not in {"WEB_CONCURRENCY", "DATABASE_URL", "SECRET_KEY"}
    }
    env.update(
        DATABASE_URL=database_url,
        WELLNESS_ENV="development",
        SECRET_KEY="benchmark-secret-key-benchmark-secret-key",
    )
    return env


def run_cli(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 - our own virtualenv's command
        [str(BIN / "wellness"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"wellness {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass
class Seeded:
    offering_ids: list[int]
    #: group -> one list of tokens per wrk thread
    tokens: dict[str, list[list[str]]] = field(default_factory=dict)
    catalog_total: int = 0


def seed_benchmark_data(database_url: str, threads: int) -> Seeded:
    """Bench employees (with API tokens) at the demo employer, and large offerings opened to it.

    Built with the ORM as tests/conftest.py's ``make_offering`` does, committed once.
    """
    os.environ.update(server_env(database_url))
    from sqlalchemy import func, select, text

    from wellness import create_app
    from wellness.auth.models import Role
    from wellness.auth.services import NewUser, create_api_token, create_user
    from wellness.courses.models import (
        Course,
        CourseSession,
        Offering,
        OfferingEmployer,
        OfferingStatus,
        Provider,
    )
    from wellness.extensions import db
    from wellness.tenants.models import Employee, Employer

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_SERVER": None})
    berlin = ZoneInfo("Europe/Berlin")
    with app.app_context():
        employer = db.session.scalar(select(Employer).where(Employer.slug == BENCH_EMPLOYER))
        if employer is None:
            raise BenchError(f"the demo seed did not create the employer {BENCH_EMPLOYER}")
        provider = Provider(slug="bench-provider", name="Benchmark Bewegung GmbH", city="Berlin")
        db.session.add(provider)
        db.session.flush()
        seeded = Seeded(offering_ids=[])
        first = date.today() + timedelta(days=30)
        for n in range(BENCH_OFFERINGS):
            course = Course(
                provider_id=provider.id,
                title=f"Rücken aktiv {n + 1}",
                title_en=f"Active back {n + 1}",
                description="Rückentraining in der Gruppe, acht Termine.",
                field_of_action="movement",
                zpp_course_id=f"KU-BENCH-{n + 1:04d}",
                certified_from=first - timedelta(days=365),
                certified_until=first + timedelta(days=365),
            )
            db.session.add(course)
            db.session.flush()
            starts = first + timedelta(days=n)
            offering = Offering(
                course_id=course.id,
                starts_on=starts,
                ends_on=starts + timedelta(weeks=7),
                capacity=BENCH_CAPACITY,
                price_cents=15000,
                city="Berlin",
                location="Studio 1",
                status=OfferingStatus.PUBLISHED.value,
            )
            db.session.add(offering)
            db.session.flush()
            for week in range(8):
                at = datetime.combine(starts + timedelta(weeks=week), clock(18), tzinfo=berlin)
                db.session.add(
                    CourseSession(
                        offering_id=offering.id, starts_at=at, ends_at=at + timedelta(hours=1)
                    )
                )
            db.session.add(
                OfferingEmployer(
                    offering_id=offering.id, employer_id=employer.id, subsidy_cents=10000
                )
            )
            seeded.offering_ids.append(offering.id)
        person = 0
        for group in GROUPS:
            seeded.tokens[group] = []
            for _thread in range(threads):
                tokens = []
                for _ in range(PEOPLE_PER_THREAD):
                    person += 1
                    user = create_user(
                        NewUser(
                            email=f"bench{person:04d}@musterfirma.example",
                            name=f"Bench Person {person}",
                            roles=(Role.EMPLOYEE,),
                            employer_id=employer.id,
                        )
                    )
                    db.session.add(
                        Employee(
                            employer_id=employer.id,
                            user_id=user.id,
                            employee_number=f"B{person:05d}",
                        )
                    )
                    tokens.append(create_api_token(user, "benchmark"))
                seeded.tokens[group].append(tokens)
        db.session.commit()
        seeded.catalog_total = int(
            db.session.scalar(
                select(func.count())
                .select_from(OfferingEmployer)
                .join(Offering, Offering.id == OfferingEmployer.offering_id)
                .where(
                    OfferingEmployer.employer_id == employer.id,
                    Offering.status == OfferingStatus.PUBLISHED.value,
                    Offering.ends_on >= date.today(),
                )
            )
            or 0
        )
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    return seeded


def write_lua_data(seeded: Seeded, path: Path) -> None:
    def lua_list(items: list[Any]) -> str:
        return "{" + ", ".join(json.dumps(item) for item in items) + "}"

    groups = ",\n".join(
        f"    {group} = {{" + ", ".join(lua_list(tokens) for tokens in per_thread) + "}"
        for group, per_thread in seeded.tokens.items()
    )
    path.write_text(
        "-- Generated by benchmarks/run.py for one run; holds throw-away API tokens.\n"
        f"return {{\n  offerings = {lua_list(seeded.offering_ids)},\n"
        f"  groups = {{\n{groups}\n  }},\n}}\n"
    )


# --------------------------------------------------------------------------------------------
# gunicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn with infra/gunicorn.conf.py, started as ``wellness serve`` starts it."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        threads: int,
        max_requests: int | None,
        log_path: Path,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        if max_requests is not None:
            self.env["GUNICORN_MAX_REQUESTS"] = str(max_requests)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
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
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop gunicorn in order
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not start; its log:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def worker_boots(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count("Booting worker with pid")
        except OSError:
            return 0

    def wait_until_idle(self, limit: float = 60) -> None:
        """Let the workers finish requests still queued from the previous load (wrk stops
        sending at once, but accepted requests are still worked off), so runs do not overlap."""
        deadline = time.monotonic() + limit
        assert self.process is not None
        previous = CpuSnapshot.take(self.process.pid, self.database)
        while previous.app and time.monotonic() < deadline:
            time.sleep(0.5)
            current = CpuSnapshot.take(self.process.pid, self.database)
            if current.since(previous)[0] < 0.05:  # under 10% of one core
                return
            previous = current

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        print("Stopped gunicorn.")


def machine_busy_share(interval: float = 1.0) -> float | None:
    """The busy share of all cores over ``interval`` seconds (Linux /proc/stat), or None."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    try:
        total_before, idle_before = sample()
        time.sleep(interval)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    return 1 - (idle_after - idle_before) / total if total else None


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by each gunicorn process and each PostgreSQL backend serving the
    benchmark's database (Linux /proc; empty elsewhere)."""

    app: dict[int, float]
    database: dict[int, float]

    @staticmethod
    def take(gunicorn_pid: int, database: str) -> CpuSnapshot:
        ticks = os.sysconf("SC_CLK_TCK")
        app: dict[int, float] = {}
        backends: dict[int, float] = {}
        marker = f" {database} ".encode()
        try:
            entries = [e for e in Path("/proc").iterdir() if e.name.isdigit()]
        except OSError:
            entries = []
        for entry in entries:
            try:
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                pid, parent = int(entry.name), int(fields[1])
                used = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
                if pid == gunicorn_pid or parent == gunicorn_pid:
                    app[pid] = used
                elif stat[stat.index("(") + 1 : stat.rindex(")")] == "postgres":
                    if marker in (entry / "cmdline").read_bytes():
                        backends[pid] = used
            except (OSError, ValueError, IndexError):
                continue
        return CpuSnapshot(app, backends)

    def since(self, before: CpuSnapshot) -> tuple[float, float]:
        """CPU seconds of (gunicorn, PostgreSQL) between ``before`` and this snapshot."""

        def delta(now: dict[int, float], then: dict[int, float]) -> float:
            return sum(used - then.get(pid, 0.0) for pid, used in now.items())

        return delta(self.app, before.app), delta(self.database, before.database)


# --------------------------------------------------------------------------------------------
# gunicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn with infra/gunicorn.conf.py, started as ``wellness serve`` starts it."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        threads: int,
        max_requests: int | None,
        log_path: Path,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        if max_requests is not None:
            self.env["GUNICORN_MAX_REQUESTS"] = str(max_requests)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
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
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop gunicorn in order
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not start; its log:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def worker_boots(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count("Booting worker with pid")
        except OSError:
            return 0

    def wait_until_idle(self, limit: float = 60) -> None:
        """Let the workers finish requests still queued from the previous load (wrk stops
        sending at once, but accepted requests are still worked off), so runs do not overlap."""
        deadline = time.monotonic() + limit
        assert self.process is not None
        previous = CpuSnapshot.take(self.process.pid, self.database)
        while previous.app and time.monotonic() < deadline:
            time.sleep(0.5)
            current = CpuSnapshot.take(self.process.pid, self.database)
            if current.since(previous)[0] < 0.05:  # under 10% of one core
                return
            previous = current

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        print("Stopped gunicorn.")


def machine_busy_share(interval: float = 1.0) -> float | None:
    """The busy share of all cores over ``interval`` seconds (Linux /proc/stat), or None."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    try:
        total_before, idle_before = sample()
        time.sleep(interval)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    return 1 - (idle_after - idle_before) / total if total else None


def process_tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds used so far by ``root`` and its children (Linux /proc), or None."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0
    try:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(entry.name) == root or int(fields[1]) == root:
                used += int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return None
    return used / ticks


# --------------------------------------------------------------------------------------------
# wrk


@dataclass
class Endpoint:
    key: str
    label: str
    script: str
    path: str
    args: list[str]


@dataclass
class Result:
    endpoint: Endpoint
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    wrk_cpu_s: float
    worker_boots: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


def run_wrk(
    server: Server,
    endpoint: Endpoint,
    *,
    seconds: float,
    connections: int,
    threads: int,
    args: list[str],
) -> Result:
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=5s",
        "--latency",
        f"--script={LUA / endpoint.script}",
        server.base + (endpoint.path if endpoint.script == "plain_get.lua" else ""),
    ]
    if args:
        command += ["--", *args]
    server.wait_until_idle()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    boots_before = server.worker_boots()
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    latency = data["latency_us"]
    return Result(
        endpoint=endpoint,
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        statuses={int(code): n for code, n in data["statuses"].items()},
        socket_errors={k: v for k, v in data["errors"].items() if k != "status" and v},
        wrk_cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        worker_boots=server.worker_boots() - boots_before,
    )


# --------------------------------------------------------------------------------------------
# Report


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def checks(results: dict[str, Result]) -> list[Check]:
    base = results["readyz"].rps
    found: list[Check] = []
    for key, minimum in (("catalog", CATALOG_MIN_RATIO), ("enrollment", ENROLLMENT_MIN_RATIO)):
        result = results[key]
        ratio = result.rps / base if base else 0.0
        found.append(
            Check(
                f"{key} throughput >= {minimum:.2f} x SELECT 1",
                ratio >= minimum,
                f"{ratio:.2f} x ({result.rps:,.0f} vs {base:,.0f} req/s)",
            )
        )
        found.append(
            Check(
                f"{key} p99 < {MAX_P99_MS:.0f} ms",
                result.p99_ms < MAX_P99_MS,
                f"{result.p99_ms:.1f} ms",
            )
        )
    for key, result in results.items():
        if result.errors:
            found.append(
                Check(f"{key}: no errors", False, f"{result.errors} errors: {describe(result)}")
            )
    return found


def describe(result: Result) -> str:
    parts = [f"HTTP {code}: {n}" for code, n in sorted(result.statuses.items()) if code >= 300]
    parts += [f"{kind}: {n}" for kind, n in sorted(result.socket_errors.items())]
    return ", ".join(parts) or "none"


def print_report(results: dict[str, Result], settings: str) -> list[Check]:
    base = results["readyz"].rps
    print()
    print(settings)
    header = (
        f"{'endpoint':<44} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'errors':>6} {'vs SELECT 1':>11}"
    )
    print(header)
    print("-" * len(header))
    for result in results.values():
        ratio = result.rps / base if base else 0.0
        print(
            f"{result.endpoint.label:<44} {result.rps:>8,.0f} {result.p50_ms:>7.1f} "
            f"{result.p99_ms:>7.1f} {result.max_ms:>7.1f} {result.errors:>6} {ratio:>10.2f}x"
        )
    print()
    cpu = ", ".join(f"{key} {100 * r.wrk_cpu_s / r.duration_s:.0f}%" for key, r in results.items())
    print(f"wrk's own CPU (of one core) while measuring: {cpu}.")
    boots = sum(r.worker_boots for r in results.values())
    if boots:
        print(f"gunicorn (re)booted {boots} workers during the measurements (max_requests).")
    print()
    found = checks(results)
    for check in found:
        print(f"  {'PASS' if check.passed else 'MISS'}  {check.name:<42} {check.detail}")
    return found


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server (any database on it); a fresh database is created there",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="gunicorn max_requests (0: no worker recycling during the run; "
        "-1: keep infra/gunicorn.conf.py's default of 2000)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["healthz", "readyz", "catalog", "enrollment"],
        help="measure only these endpoints (readyz is always included for the ratios)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--keep-log", type=Path, default=None, help="copy gunicorn's log here at the end"
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    # SIGTERM (e.g. from a CI runner or timeout) cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    name = f"wellness_bench_{os.getpid()}"
    scratch = Path(tempfile.mkdtemp(prefix="wellness-bench-"))
    server: Server | None = None
    found: list[Check] = []
    try:
        with fresh_database(options.pg, name) as database_url:
            try:
                env = server_env(database_url)
                started = time.monotonic()
                print(f"Database {name}: migrating and seeding the demo ...", flush=True)
                run_cli(["db", "upgrade"], env)
                run_cli(["demo"], env)
                seeded = seed_benchmark_data(database_url, options.wrk_threads)
                data_path = scratch / "data.lua"
                write_lua_data(seeded, data_path)
                print(
                    f"Seeded in {time.monotonic() - started:.0f} s: {seeded.catalog_total} offerings "
                    f"in the catalog of {BENCH_EMPLOYER} ({BENCH_OFFERINGS} of them the benchmark's, "
                    f"capacity {BENCH_CAPACITY:,}); "
                    f"{len(GROUPS) * options.wrk_threads * PEOPLE_PER_THREAD} employees with tokens.",
                    flush=True,
                )
                server = Server(
                    env,
                    options.workers,
                    options.threads,
                    None if options.max_requests < 0 else options.max_requests,
                    scratch / "gunicorn.log",
                )
                server.start()
                data = str(data_path)
                endpoints = [
                    Endpoint(
                        "healthz", "GET /healthz (constant JSON)", "plain_get.lua", "/healthz", []
                    ),
                    Endpoint("readyz", "GET /readyz (SELECT 1)", "plain_get.lua", "/readyz", []),
                    Endpoint(
                        "catalog",
                        "GET /api/v1/offerings (catalog, 20/page)",
                        "api_get.lua",
                        "",
                        [data, "{group}", "/api/v1/offerings"],
                    ),
                    Endpoint(
                        "enrollment",
                        "POST+DELETE /api/v1/offerings/<id>/enrollment",
                        "enrollment.lua",
                        "",
                        [data, "{group}"],
                    ),
                ]
                if options.only:
                    wanted = {*options.only, "readyz"}
                    endpoints = [e for e in endpoints if e.key in wanted]
                max_requests = (
                    "2000 (+ jitter, infra default)"
                    if options.max_requests < 0
                    else "off"
                    if options.max_requests == 0
                    else str(options.max_requests)
                )
                settings = (
                    f"gunicorn: {options.workers} workers x {options.threads} threads (gthread), "
                    f"max_requests {max_requests}, access log on; PostgreSQL 127.0.0.1, no SMTP.\n"
                    f"wrk: {options.connections} connections, {options.wrk_threads} threads, "
                    f"{options.duration:g} s per endpoint after {options.warmup:g} s warm-up. "
                    f"wrk, gunicorn and PostgreSQL share this machine's {os.cpu_count()} cores."
                )
                print(settings, flush=True)
                common = dict(connections=options.connections, threads=options.wrk_threads)
                # Everything once, so each worker has loaded its code, catalogs and connections.
                for endpoint in endpoints:
                    run_wrk(
                        server,
                        endpoint,
                        seconds=options.warmup,
                        **common,
                        args=[a.format(group="warmup") for a in endpoint.args],
                    )
                results: dict[str, Result] = {}
                for endpoint in endpoints:
                    print(f"  measuring {endpoint.label} ...", flush=True)
                    result = run_wrk(
                        server,
                        endpoint,
                        seconds=options.duration,
                        **common,
                        args=[a.format(group="measure") for a in endpoint.args],
                    )
                    results[endpoint.key] = result
                    print(
                        f"    {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                        f"p99 {result.p99_ms:.1f} ms, errors {result.errors} ({describe(result)})",
                        flush=True,
                    )
                if server.process is not None and server.process.poll() is not None:
                    raise BenchError(f"gunicorn exited during the run:\n{server.log_tail()}")
                found = (
                    print_report(results, settings)
                    if {"catalog", "enrollment"} <= set(results)
                    else []
                )
                server.stop()
                if options.keep_log:
                    shutil.copy(server.log_path, options.keep_log)
            finally:
                if server is not None:
                    server.stop()  # before the database is dropped
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted; cleaning up.", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if options.check and not all(check.passed for check in found):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
