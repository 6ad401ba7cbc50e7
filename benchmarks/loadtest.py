"""Load test: 100 concurrent users against two gunicorn instances behind one port.

``make loadtest`` runs this with the project's virtualenv. One run, all on loopback:

1. creates a throw-away PostgreSQL database (``wellness_load_<pid>``, dropped afterwards),
   migrates it and seeds the demo plus benchmarks/run.py's employees, tokens and offerings,
   a provider account with an upload token and an HR analytics token;
2. starts two gunicorn instances (infra/gunicorn.conf.py, as ``wellness serve`` does) that
   share this database and one Redis database (``--redis``, rate limits shared through it;
   the API limits are raised for the run so that 100 users on one address are not throttled);
3. puts a round-robin TCP balancer (asyncio, in its own process) in front of them;
4. runs ``--users`` simulated users (httpx, asyncio) for ``--duration`` seconds: catalog
   browsing, enrollments, pain check-ins, roster download + attendance upload, analytics;
5. reports throughput, p50/p95/p99 per kind and errors by status, then checks in SQL that
   every acknowledged write (201 enrollment, 201 check-in, 200 upload) is stored;
6. prints PASS or FAIL against "zero 5xx and zero lost writes at 100 concurrent users".
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import multiprocessing
import os
import random
import resource
import signal
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from run import (
    BenchError,
    Server,
    free_port,
    fresh_database,
    machine_busy_share,
    run_cli,
    seed_benchmark_data,
    server_env,
)

#: Enough people that every user can enroll several times without running out of budget:
#: the bench offerings subsidise 100 EUR each, the tax-free limit is 600 EUR a year.
PEOPLE_PER_USER = 10
#: Offerings users enroll in (5 x 100 EUR stays under the limit); the last one is the
#: provider's upload target with a fixed roster.
ENROLL_OFFERINGS = 5
ROSTER_SIZE = 15
#: The API's own limits would throttle 100 users behind one address; Redis still counts.
APP = (
    "wellness:create_app({'API_RATE_LIMIT': '1000000 per minute', "
    "'API_ADDRESS_RATE_LIMIT': '10000000 per minute'})"
)
#: Share of each kind of request in the mix.
MIX = {"catalog": 40, "enroll": 20, "checkin": 20, "upload": 5, "analytics": 15}
#: The status that acknowledges each kind of request.
EXPECTED = {
    "catalog": 200,
    "enroll": 201,
    "checkin": 201,
    "roster": 200,
    "upload": 200,
    "analytics": 200,
}


# --------------------------------------------------------------------------------------------
# Balancer


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def _balance(port: int, backends: list[int]) -> None:
    turn = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        backend = backends[turn % len(backends)]
        turn += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def balancer(port: int, backends: list[int]) -> None:
    """A round-robin TCP balancer per connection (the client keeps connections alive, so each
    virtual user's connection sticks to one instance, as behind most load balancers)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(_balance(port, backends))


# --------------------------------------------------------------------------------------------
# Data


@dataclass
class LoadData:
    offering_ids: list[int]
    employee_tokens: list[str]
    upload_offering: int
    provider_token: str
    analytics_token: str


def seed(database_url: str, users: int) -> LoadData:
    """benchmarks/run.py's employees and offerings, plus a provider upload token, an HR
    analytics token and a roster for the upload target."""
    people = users * PEOPLE_PER_USER + ROSTER_SIZE
    per_thread = 50  # run.PEOPLE_PER_THREAD
    seeded = seed_benchmark_data(database_url, ["load"], -(-people // per_thread))
    tokens = [token for group in seeded.tokens["load"] for token in group]

    from sqlalchemy import select

    from wellness import create_app
    from wellness.auth.models import ApiToken, Role, User
    from wellness.auth.services import NewUser, _hash_token, create_api_token, create_user
    from wellness.courses import enrollment
    from wellness.courses.models import Offering
    from wellness.extensions import db
    from wellness.tenants.models import Employee

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_SERVER": None})
    upload_offering = seeded.offering_ids[-1]
    with app.app_context():
        offering = db.session.get(Offering, upload_offering)
        if offering is None:
            raise BenchError(f"offering {upload_offering} was not seeded")
        provider = create_user(
            NewUser(
                email="trainer@bench-provider.example",
                name="Bench Trainer",
                roles=(Role.PROVIDER,),
                provider_id=offering.course.provider_id,
            )
        )
        provider_token = create_api_token(
            provider, "loadtest", scopes=["attendance:read", "attendance:write"]
        )
        hr = db.session.scalar(select(User).where(User.email == "hr@musterfirma.example"))
        if hr is None:
            raise BenchError("the demo seed did not create hr@musterfirma.example")
        analytics_token = create_api_token(hr, "loadtest", scopes=["analytics:read"])
        for token in tokens[-ROSTER_SIZE:]:
            user_id = db.session.scalar(
                select(ApiToken.user_id).where(ApiToken.token_hash == _hash_token(token))
            )
            employee = db.session.scalar(select(Employee).where(Employee.user_id == user_id))
            if employee is None:
                raise BenchError("a seeded token has no employee")
            enrollment.enroll(employee, upload_offering)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return LoadData(
        offering_ids=seeded.offering_ids[:ENROLL_OFFERINGS],
        employee_tokens=tokens[: users * PEOPLE_PER_USER],
        upload_offering=upload_offering,
        provider_token=provider_token,
        analytics_token=analytics_token,
    )


# --------------------------------------------------------------------------------------------
# Load


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[str]] = field(default_factory=dict)
    #: Acknowledged writes: (token, offering id), (token, day), upload ids.
    enrolled: set[tuple[str, int]] = field(default_factory=set)
    checked_in: set[tuple[str, date]] = field(default_factory=set)
    uploads: set[int] = field(default_factory=set)

    def record(self, kind: str, status: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses.setdefault(kind, Counter())[status] += 1


def fill_roster(content: bytes) -> bytes:
    """The roster as the provider sends it back: some session columns marked "excused" for
    everybody (the bench sessions lie in the future, where only "excused" is allowed)."""
    text = content.decode("utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    marked = {c for c in range(2, len(header)) if random.random() < 0.5} or {2}  # noqa: S311
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for row in body:
        writer.writerow(
            [cell if c < 2 else ("excused" if c in marked else "") for c, cell in enumerate(row)]
        )
    return out.getvalue().encode()


async def user_loop(
    number: int,
    client: httpx.AsyncClient,
    data: LoadData,
    measures: list[str],
    tally: Tally,
    deadline: float,
    think: float,
) -> None:
    rng = random.Random(number)  # noqa: S311 - a workload mix, not a secret
    mine = data.employee_tokens[number * PEOPLE_PER_USER : (number + 1) * PEOPLE_PER_USER]
    to_enroll = [(t, o) for o in data.offering_ids for t in mine]
    rng.shuffle(to_enroll)
    days = {t: 0 for t in mine}
    today = date.today()
    kinds, weights = list(MIX), list(MIX.values())

    async def call(
        kind: str, method: str, url: str, token: str, **kw: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, **kw
            )
        except httpx.TimeoutException:
            tally.record(kind, "timeout", time.perf_counter() - started)
            return None
        except httpx.TransportError as exc:
            tally.record(kind, type(exc).__name__, time.perf_counter() - started)
            return None
        tally.record(kind, str(response.status_code), time.perf_counter() - started)
        return response

    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        if kind == "enroll" and not to_enroll:
            kind = "catalog"
        if kind == "catalog":
            page = rng.randint(1, 3)
            await call(kind, "GET", f"/api/v1/offerings?page={page}", rng.choice(mine))
        elif kind == "enroll":
            token, offering = to_enroll.pop()
            answer = await call(kind, "POST", f"/api/v1/offerings/{offering}/enrollment", token)
            if answer is not None and answer.status_code == 201:
                tally.enrolled.add((token, offering))
        elif kind == "checkin":
            token = rng.choice(mine)
            day = today - timedelta(days=days[token] % 90)
            days[token] += 1
            body = {
                "checked_on": day.isoformat(),
                "scores": {"low_back": rng.randint(0, 10), "neck": rng.randint(0, 10)},
            }
            answer = await call(kind, "POST", "/api/v1/me/checkins", token, json=body)
            if answer is not None and answer.status_code == 201:
                tally.checked_in.add((token, day))
        elif kind == "upload":
            base = f"/api/v1/provider/offerings/{data.upload_offering}"
            roster = await call("roster", "GET", f"{base}/roster.csv", data.provider_token)
            if roster is not None and roster.status_code == 200:
                files = {"file": ("roster.csv", fill_roster(roster.content), "text/csv")}
                answer = await call(
                    kind, "POST", f"{base}/attendance", data.provider_token, files=files
                )
                if answer is not None and answer.status_code == 200:
                    tally.uploads.add(int(answer.json()["upload_id"]))
        else:
            measure = rng.choice(measures)
            await call(kind, "GET", f"/api/v1/analytics/{measure}", data.analytics_token)
        if think:
            await asyncio.sleep(rng.uniform(0, 2 * think))


def quiet_client_logs() -> None:
    """The app's logging setup (run in-process for seeding) would log every client request."""
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


async def run_load(
    base: str, data: LoadData, users: int, seconds: float, think: float, timeout: float
) -> tuple[Tally, float]:
    quiet_client_logs()
    tally = Tally()
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        listed = await client.get(
            "/api/v1/analytics", headers={"Authorization": f"Bearer {data.analytics_token}"}
        )
        if listed.status_code != 200:
            raise BenchError(f"GET /api/v1/analytics answered {listed.status_code}")
        measures = [m["name"] for m in listed.json()["measures"]][:4]
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(user_loop(n, client, data, measures, tally, deadline, think) for n in range(users))
        )
        elapsed = time.monotonic() - started
    return tally, elapsed


# --------------------------------------------------------------------------------------------
# Checks


def lost_writes(database_url: str, tally: Tally) -> dict[str, tuple[int, int]]:
    """Per kind: (acknowledged, acknowledged but not in the database)."""
    from sqlalchemy import select

    from wellness import create_app
    from wellness.attendance.models import AttendanceUpload
    from wellness.auth.models import ApiToken
    from wellness.auth.services import _hash_token
    from wellness.courses.models import Enrollment
    from wellness.extensions import db
    from wellness.health.models import PainCheckin
    from wellness.tenants.models import Employee

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "MAIL_SERVER": None})
    with app.app_context():
        employee_of_user = dict(db.session.execute(select(Employee.user_id, Employee.id)).all())
        user_of_hash = dict(db.session.execute(select(ApiToken.token_hash, ApiToken.user_id)).all())

        def employee(token: str) -> int:
            return int(employee_of_user[user_of_hash[_hash_token(token)]])

        stored_enrollments = set(
            db.session.execute(
                select(Enrollment.employee_id, Enrollment.offering_id).where(
                    Enrollment.status != "cancelled"
                )
            ).all()
        )
        stored_checkins = set(
            db.session.execute(select(PainCheckin.employee_id, PainCheckin.checked_on)).all()
        )
        stored_uploads = set(db.session.scalars(select(AttendanceUpload.id)))
        missing = {
            "enroll": sum((employee(t), o) not in stored_enrollments for t, o in tally.enrolled),
            "checkin": sum((employee(t), d) not in stored_checkins for t, d in tally.checked_in),
            "upload": len(tally.uploads - stored_uploads),
        }
        db.session.remove()
        db.engine.dispose()
    acknowledged = {
        "enroll": len(tally.enrolled),
        "checkin": len(tally.checked_in),
        "upload": len(tally.uploads),
    }
    return {kind: (acknowledged[kind], missing[kind]) for kind in acknowledged}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(tally: Tally, elapsed: float, writes: dict[str, tuple[int, int]], users: int) -> bool:
    total = sum(len(v) for v in tally.latencies.values())
    print()
    print(f"{total:,} requests in {elapsed:.1f} s: {total / elapsed:,.0f} requests/s")
    header = f"{'kind':<10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    print(header + "  statuses")
    print("-" * (len(header) + 20))
    server_errors = 0
    for kind, values in sorted(tally.latencies.items()):
        statuses = tally.statuses[kind]
        server_errors += sum(n for s, n in statuses.items() if not s.isdigit() or s[0] == "5")
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        print(
            f"{kind:<10} {len(values):>8,} {len(values) / elapsed:>7,.1f} "
            f"{1000 * statistics.median(values):>7.1f} {1000 * percentile(values, 0.95):>7.1f} "
            f"{1000 * percentile(values, 0.99):>7.1f}  {shown}"
        )
    unexpected = {
        kind: {s: n for s, n in statuses.items() if s != str(EXPECTED[kind])}
        for kind, statuses in tally.statuses.items()
    }
    unexpected = {k: v for k, v in unexpected.items() if v}
    print(f"Other than the expected status: {unexpected or 'none'}")
    lost = sum(missing for _, missing in writes.values())
    for kind, (acknowledged, missing) in writes.items():
        print(f"  {kind:<8} acknowledged {acknowledged:>6,}  missing in the database {missing}")
    passed = server_errors == 0 and lost == 0
    print(
        f"{'PASS' if passed else 'FAIL'}: zero 5xx and zero lost writes at "
        f"{users} concurrent users "
        f"(5xx or no answer: {server_errors}, lost writes: {lost})"
    )
    return passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load test; see benchmarks/README.md.")
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server for the throw-away database (default: %(default)s)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="Redis database shared by both instances (default: %(default)s)",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--users", type=int, default=100, help="concurrent users (100)")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a user's requests (0 s)"
    )
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds (30)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    options = parser.parse_args(argv)
    options.app = APP
    options.max_requests = 0
    return options


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise BenchError(
            f"Redis at {url} does not answer ({exc}); start it or pass --redis"
        ) from None


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    database = f"wellness_load_{os.getpid()}"
    try:
        check_redis(options.redis)
        with fresh_database(options.pg, database) as database_url:
            env = {**server_env(database_url), "REDIS_URL": options.redis}
            started = time.monotonic()
            print(f"Database {database}: migrating and seeding ...", flush=True)
            run_cli(["db", "upgrade"], env)
            run_cli(["demo"], env)
            data = seed(database_url, options.users)
            print(f"  {time.monotonic() - started:.0f} s", flush=True)
            servers = [Server(env, database, options) for _ in range(2)]
            port = free_port()
            proxy = multiprocessing.Process(
                target=balancer, args=(port, [s.port for s in servers]), daemon=True
            )
            try:
                for server in servers:
                    server.start()
                proxy.start()
                print(
                    f"2 gunicorn instances ({options.workers} workers x {options.threads} "
                    f"threads) on ports {', '.join(str(s.port) for s in servers)}, balancer on "
                    f"{port}, Redis {options.redis}; {options.users} users for "
                    f"{options.duration:g} s ...",
                    flush=True,
                )
                busy = machine_busy_share()
                if busy is not None:
                    print(f"Machine busy before the load: {100 * busy:.0f}% of all cores.")
                before = resource.getrusage(resource.RUSAGE_SELF)
                tally, elapsed = asyncio.run(
                    run_load(
                        f"http://127.0.0.1:{port}",
                        data,
                        options.users,
                        options.duration,
                        options.think,
                        options.timeout,
                    )
                )
                after = resource.getrusage(resource.RUSAGE_SELF)
                client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                print(
                    f"The client's own CPU: {client_cpu:.0f} s in {elapsed:.0f} s "
                    f"({100 * client_cpu / elapsed:.0f}% of one core)."
                )
                for server in servers:
                    if not server.alive():
                        raise BenchError(f"gunicorn exited during the run:\n{server.log_tail()}")
            finally:
                proxy.terminate()
                proxy.join(5)
                for server in servers:
                    server.stop()
                    server.log_path.unlink(missing_ok=True)
            writes = lost_writes(database_url, tally)
            return 0 if report(tally, elapsed, writes, options.users) else 1
    except BenchError as exc:
        print(f"load test failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
