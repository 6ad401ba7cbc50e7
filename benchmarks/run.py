"""Throughput and latency of the catalog and enrollment APIs against two baselines.

``make bench`` runs this with the project's virtualenv. One run:

1. creates a fresh PostgreSQL database (``wellness_bench_<pid>``) on ``--pg`` (default
   ``127.0.0.1:5432``, user ``postgres``), migrates it (``wellness db upgrade``) and seeds the
   demo (``wellness demo``) plus the benchmark's own employees, API tokens and offerings;
2. starts gunicorn with ``infra/gunicorn.conf.py`` on a free loopback port;
3. loads four endpoints with ``wrk`` (50 connections, 2 threads), after a warm-up of each:
   ``/healthz`` (constant JSON), ``/readyz`` (one ``SELECT 1``), the catalog
   ``GET /api/v1/offerings`` and enrollment ``POST``/``DELETE /api/v1/offerings/<id>/enrollment``,
   in several rounds (each round measures all four, so slow drift hits them alike);
4. prints requests/s, p50/p99, errors, CPU per request and the ratio to ``/readyz`` (medians
   over the rounds) and checks the targets;
5. stops gunicorn and drops the database, also after a failure, Ctrl-C or SIGTERM.

Everything runs on this machine: wrk, gunicorn and PostgreSQL share its cores. The output says
how busy the machine was before the run and how much CPU wrk itself took. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"
BIN = Path(sys.executable).parent

#: Targets from issue 3: throughput relative to the SELECT 1 endpoint, and p99.
TARGET_RATIO = {"catalog": 0.5, "enrollment": 0.25}
MAX_P99_MS = 100.0

#: The benchmark's own offerings: room for everybody, opened to the demo employer.
BENCH_OFFERINGS = 10
BENCH_CAPACITY = 100_000
BENCH_EMPLOYER = "musterfirma"
#: Employees per wrk thread in each group. Every warm-up and every measuring round has its own
#: group, so the enrollment script always starts from "nobody enrolled".
PEOPLE_PER_THREAD = 50
#: Stand-in secret for the throw-away server; never used outside this run.
BENCH_SECRET_KEY = "benchmark-only-secret-key-" + "x" * 16  # noqa: S105

WRK_INSTALL_HINT = (
    "wrk is not installed. Debian/Ubuntu: sudo apt-get install -y wrk "
    "(as root: apt-get update && apt-get install -y wrk); macOS: brew install wrk."
)


class BenchError(Exception):
    """The benchmark could not run (missing tool, server did not start, ...)."""


# --------------------------------------------------------------------------------------------
# Database and data


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
        first_line = (str(exc).splitlines() or [""])[0]
        raise BenchError(
            f"cannot create database {name} on {url.render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}: {first_line}\n"
            "Start PostgreSQL there, or pass --pg postgresql+psycopg://USER@HOST:PORT/postgres"
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
    """The app's environment: development mode and no SMTP (mails stay in the outbox table)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "GUNICORN_", "WELLNESS_", "REDIS_"))
        and key not in {"WEB_CONCURRENCY", "DATABASE_URL", "SECRET_KEY"}
    }
    env.update(DATABASE_URL=database_url, WELLNESS_ENV="development", SECRET_KEY=BENCH_SECRET_KEY)
    return env


def run_cli(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 - our own virtualenv's command
        [str(BIN / "wellness"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"wellness {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass
class Seeded:
    offering_ids: list[int] = field(default_factory=list)
    #: group name -> one list of API tokens per wrk thread
    tokens: dict[str, list[list[str]]] = field(default_factory=dict)
    catalog_size: int = 0

    @property
    def people(self) -> int:
        return sum(len(tokens) for groups in self.tokens.values() for tokens in groups)


def seed_benchmark_data(database_url: str, groups: list[str], wrk_threads: int) -> Seeded:
    """Employees with API tokens at the demo employer, and large offerings opened to it.

    Built with the ORM and the auth services, as tests/conftest.py's factories do.
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
    seeded = Seeded()
    with app.app_context():
        employer = db.session.scalar(select(Employer).where(Employer.slug == BENCH_EMPLOYER))
        if employer is None:
            raise BenchError(f"the demo seed did not create the employer {BENCH_EMPLOYER}")
        provider = Provider(slug="bench-provider", name="Benchmark Bewegung GmbH", city="Berlin")
        db.session.add(provider)
        db.session.flush()
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
        for group in groups:
            seeded.tokens[group] = []
            for _thread in range(wrk_threads):
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
        seeded.catalog_size = int(
            db.session.scalar(
                select(func.count())
                .select_from(OfferingEmployer)
                .join(Offering, Offering.id == OfferingEmployer.offering_id)
                .where(
                    OfferingEmployer.employer_id == employer.id,
                    Offering.status == OfferingStatus.PUBLISHED.value,
                    Offering.starts_on >= date.today(),  # the catalog's default filter
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
    """The offering ids and tokens as a Lua table for the wrk scripts (``dofile``)."""

    def lua_list(items: list[Any]) -> str:
        return "{" + ", ".join(json.dumps(item) for item in items) + "}"

    groups = ",\n".join(
        f"    [{json.dumps(group)}] = {{" + ", ".join(lua_list(t) for t in per_thread) + "}"
        for group, per_thread in seeded.tokens.items()
    )
    path.write_text(
        "-- Written by benchmarks/run.py for one run; throw-away API tokens.\n"
        f"return {{\n  offerings = {lua_list(seeded.offering_ids)},\n"
        f"  groups = {{\n{groups}\n  }},\n}}\n"
    )


# --------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc; the figures are left out elsewhere)


def machine_busy_share(interval: float = 1.0) -> float | None:
    """The busy share of all cores over ``interval`` seconds, or None."""

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
    """CPU seconds used so far by each gunicorn process and by each PostgreSQL backend that
    serves the benchmark's database."""

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
    """gunicorn with infra/gunicorn.conf.py, started the way ``wellness serve`` starts it."""

    def __init__(self, env: dict[str, str], database: str, options: argparse.Namespace) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database = database
        self.app = options.app
        self.env = {
            **env,
            "WEB_CONCURRENCY": str(options.workers),
            "GUNICORN_THREADS": str(options.threads),
        }
        if options.max_requests >= 0:
            self.env["GUNICORN_MAX_REQUESTS"] = str(options.max_requests)
        self.log_path = Path(tempfile.mkstemp(prefix="wellness-bench-gunicorn-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    str(ROOT / "infra" / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    self.app,
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop gunicorn in order
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not start; its log:\n{self.log_tail()}")
            time.sleep(0.2)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cpu(self) -> CpuSnapshot:
        pid = self.process.pid if self.process is not None else -1
        return CpuSnapshot.take(pid, self.database)

    def wait_until_idle(self, limit: float = 60) -> None:
        """Let the workers finish requests still queued from the previous load (wrk stops
        sending at once, accepted requests are still worked off), so loads do not overlap."""
        deadline = time.monotonic() + limit
        previous = self.cpu()
        while previous.app and time.monotonic() < deadline:
            time.sleep(0.5)
            current = self.cpu()
            if current.since(previous)[0] < 0.05:  # under 10% of one core
                return
            previous = current

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:]) or "(empty log)"

    def worker_boots(self) -> int:
        return self.log_text().count("Booting worker with pid")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            print("Stopped gunicorn.")


# --------------------------------------------------------------------------------------------
# Load


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    script: str
    #: Appended to the server's address (plain_get.lua) or passed to the script.
    path: str
    #: Whether the script takes the data file and a token group.
    uses_tokens: bool = False


ENDPOINTS = (
    Endpoint("healthz", "GET /healthz (constant JSON)", "plain_get.lua", "/healthz"),
    Endpoint("readyz", "GET /readyz (SELECT 1)", "plain_get.lua", "/readyz"),
    Endpoint(
        "catalog", "GET /api/v1/offerings (20 per page)", "api_get.lua", "/api/v1/offerings", True
    ),  # fmt: skip
    Endpoint(
        "enrollment", "POST+DELETE /api/v1/offerings/<id>/enrollment", "enrollment.lua", "", True
    ),  # fmt: skip
)


@dataclass
class Result:
    endpoint: Endpoint
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    wrk_cpu_s: float
    app_cpu_s: float
    db_cpu_s: float
    worker_boots: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        non_2xx = sum(n for code, n in self.statuses.items() if not 200 <= code < 300)
        return non_2xx + sum(self.socket_errors.values())

    def per_request_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.requests if self.requests else 0.0

    def describe_errors(self) -> str:
        parts = [f"HTTP {code}: {n}" for code, n in sorted(self.statuses.items()) if code >= 300]
        parts += [f"{kind}: {n}" for kind, n in sorted(self.socket_errors.items())]
        return ", ".join(parts) or "none"


def run_wrk(
    server: Server,
    endpoint: Endpoint,
    *,
    seconds: float,
    group: str,
    data: Path,
    options: argparse.Namespace,
) -> Result:
    url = server.base + ("" if endpoint.uses_tokens else endpoint.path)
    command = [
        "wrk",
        f"--threads={options.wrk_threads}",
        f"--connections={options.connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=5s",
        "--latency",
        f"--script={LUA / endpoint.script}",
        url,
    ]
    if endpoint.uses_tokens:
        command += ["--", str(data), group, endpoint.path]
    server.wait_until_idle()
    boots = server.worker_boots()
    cpu_before = server.cpu()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - wrk, our args
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    app_cpu, db_cpu = server.cpu().since(cpu_before)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data_out = json.loads(line.removeprefix("BENCH_RESULT "))
    latency = data_out["latency_us"]
    return Result(
        endpoint=endpoint,
        requests=int(data_out["requests"]),
        duration_s=data_out["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        statuses={int(code): n for code, n in data_out["statuses"].items()},
        socket_errors={k: v for k, v in data_out["errors"].items() if k != "status" and v},
        wrk_cpu_s=(wrk_after.ru_utime - wrk_before.ru_utime)
        + (wrk_after.ru_stime - wrk_before.ru_stime),
        app_cpu_s=app_cpu,
        db_cpu_s=db_cpu,
        worker_boots=server.worker_boots() - boots,
    )


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class Summary:
    """One endpoint over all rounds: medians, and errors summed."""

    endpoint: Endpoint
    rounds: list[Result]

    def _median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.rounds)

    @property
    def rps(self) -> float:
        return self._median("rps")

    @property
    def p50_ms(self) -> float:
        return self._median("p50_ms")

    @property
    def p99_ms(self) -> float:
        return self._median("p99_ms")

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def app_ms(self) -> float:
        return statistics.median(r.per_request_ms(r.app_cpu_s) for r in self.rounds)

    @property
    def db_ms(self) -> float:
        return statistics.median(r.per_request_ms(r.db_cpu_s) for r in self.rounds)

    @property
    def wrk_share(self) -> float:
        return statistics.median(r.wrk_cpu_s / r.duration_s for r in self.rounds)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def checks(summaries: dict[str, Summary]) -> list[Check]:
    base = summaries["readyz"].rps
    found: list[Check] = []
    for key, minimum in TARGET_RATIO.items():
        if key not in summaries:
            continue
        summary = summaries[key]
        ratio = summary.rps / base if base else 0.0
        found.append(
            Check(
                f"{key} throughput >= {minimum:.2f} x SELECT 1",
                ratio >= minimum,
                f"{ratio:.2f} x ({summary.rps:,.0f} vs {base:,.0f} req/s)",
            )
        )
        found.append(
            Check(
                f"{key} p99 < {MAX_P99_MS:.0f} ms",
                summary.p99_ms < MAX_P99_MS,
                f"{summary.p99_ms:.1f} ms",
            )  # fmt: skip
        )
    for key, summary in summaries.items():
        if summary.errors:
            detail = "; ".join(r.describe_errors() for r in summary.rounds if r.errors)
            found.append(Check(f"{key} without errors", False, f"{summary.errors}: {detail}"))
    return found


def print_report(summaries: dict[str, Summary], settings: str) -> list[Check]:
    base = summaries["readyz"].rps
    rounds = len(next(iter(summaries.values())).rounds)
    print()
    print(settings)
    print(f"Medians over {rounds} round(s); errors = non-2xx responses + socket errors, summed.")
    print("CPU ms/req: CPU time of gunicorn (app) and of PostgreSQL's backends (db) per request.")
    header = (
        f"{'endpoint':<46} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'vs SELECT 1':>11} {'app ms':>7} {'db ms':>6}"
    )
    print(header)
    print("-" * len(header))
    for summary in summaries.values():
        ratio = summary.rps / base if base else 0.0
        print(
            f"{summary.endpoint.label:<46} {summary.rps:>7,.0f} {summary.p50_ms:>7.1f} "
            f"{summary.p99_ms:>7.1f} {summary.errors:>6} {ratio:>10.2f}x "
            f"{summary.app_ms:>7.2f} {summary.db_ms:>6.2f}"
        )
    print()
    shares = ", ".join(f"{k} {100 * s.wrk_share:.0f}%" for k, s in summaries.items())
    print(f"wrk's own CPU while loading (100% = one of the cores): {shares}.")
    boots = sum(r.worker_boots for s in summaries.values() for r in s.rounds)
    if boots:
        print(f"gunicorn booted {boots} replacement workers while measuring (max_requests).")
    print()
    found = checks(summaries)
    for check in found:
        print(f"  {'PASS' if check.passed else 'MISS'}  {check.name:<40} {check.detail}")
    return found


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load the catalog and enrollment APIs and two baselines with wrk; "
        "see benchmarks/README.md."
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create the throw-away database on "
        "(default: %(default)s; or BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per load (10)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="measuring rounds (3)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="gunicorn max_requests: 0 (default) recycles no worker during the run; "
        "-1 keeps infra/gunicorn.conf.py's 2000 (+ jitter)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[e.key for e in ENDPOINTS],
        help="load only these endpoints (readyz is always included, for the ratios)",
    )
    parser.add_argument(
        "--app",
        default="wellness:create_app()",
        help="WSGI app for gunicorn (default: %(default)s); e.g. to compare a patched build",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep-log", type=Path, help="copy gunicorn's log (access log) here")
    options = parser.parse_args(argv)
    if options.rounds < 1 or options.duration < 1 or options.connections < 1:
        parser.error("--rounds, --duration and --connections must be at least 1")
    return options


def settings_line(options: argparse.Namespace) -> str:
    recycling = {-1: "2000 + jitter (infra default)", 0: "off"}.get(
        options.max_requests, str(options.max_requests)
    )
    return (
        f"gunicorn (infra/gunicorn.conf.py) serving {options.app}: {options.workers} workers x "
        f"{options.threads} threads (gthread), max_requests {recycling}, access log on; "
        "PostgreSQL on 127.0.0.1, no SMTP (mails stay in the outbox).\n"
        f"wrk: {options.connections} connections, {options.wrk_threads} threads, "
        f"{options.duration:g} s per load, {options.warmup:g} s warm-up per endpoint. "
        f"wrk, gunicorn and PostgreSQL share this machine's {os.cpu_count()} cores."
    )


def measure(options: argparse.Namespace, database: str, database_url: str, scratch: Path) -> int:
    env = server_env(database_url)
    started = time.monotonic()
    print(f"Database {database}: migrating, seeding the demo and the benchmark's data ...")
    run_cli(["db", "upgrade"], env)
    run_cli(["demo"], env)
    groups = ["warmup"] + [f"round{n}" for n in range(1, options.rounds + 1)]
    seeded = seed_benchmark_data(database_url, groups, options.wrk_threads)
    data = scratch / "data.lua"
    write_lua_data(seeded, data)
    print(
        f"  {time.monotonic() - started:.0f} s: {seeded.catalog_size} offerings in the catalog of "
        f"{BENCH_EMPLOYER} ({BENCH_OFFERINGS} of them the benchmark's, capacity "
        f"{BENCH_CAPACITY:,}), {seeded.people} benchmark employees with API tokens."
    )
    endpoints = [e for e in ENDPOINTS if not options.only or e.key in {*options.only, "readyz"}]
    busy = machine_busy_share()
    if busy is not None:
        note = " (other programs are running: the figures will be lower)" if busy > 0.1 else ""
        print(f"Machine busy before the server starts: {100 * busy:.0f}% of all cores{note}.")
    server = Server(env, database, options)
    try:
        server.start()
        print(settings_line(options), flush=True)
        # Each worker loads code, message catalogs and connections on first use.
        for endpoint in endpoints:
            run_wrk(server, endpoint, seconds=options.warmup, group="warmup", data=data,
                    options=options)  # fmt: skip
        results: dict[str, list[Result]] = {e.key: [] for e in endpoints}
        for n in range(1, options.rounds + 1):
            print(f"Round {n} of {options.rounds}:", flush=True)
            for endpoint in endpoints:
                result = run_wrk(server, endpoint, seconds=options.duration, group=f"round{n}",
                                 data=data, options=options)  # fmt: skip
                results[endpoint.key].append(result)
                print(
                    f"  {endpoint.label:<46} {result.rps:>7,.0f} req/s  p50 {result.p50_ms:6.1f}"
                    f"  p99 {result.p99_ms:6.1f} ms  errors {result.errors}",
                    flush=True,
                )
                if not server.alive():
                    raise BenchError(f"gunicorn exited during the run:\n{server.log_tail()}")
        if options.keep_log:
            shutil.copy(server.log_path, options.keep_log)
    finally:
        server.stop()  # before the database is dropped
        server.log_path.unlink(missing_ok=True)
    summaries = {key: Summary(rounds[0].endpoint, rounds) for key, rounds in results.items()}
    found = print_report(summaries, settings_line(options))
    busy = machine_busy_share()
    if busy is not None and busy > 0.1:
        print(f"Note: after the run the machine is still {100 * busy:.0f}% busy without us.")
    return 1 if options.check and not all(check.passed for check in found) else 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    # Clean up on Ctrl-C and SIGTERM alike (also when started where SIGINT was ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    database = f"wellness_bench_{os.getpid()}"
    scratch = Path(tempfile.mkdtemp(prefix="wellness-bench-"))
    try:
        with fresh_database(options.pg, database) as database_url:
            return measure(options, database, database_url, scratch)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted; stopped and cleaned up.", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
