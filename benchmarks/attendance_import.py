"""Attendance import of 100,000 rows on PostgreSQL, against a bare COPY of the same file.

Run with the project's virtualenv: ``python benchmarks/attendance_import.py`` (``make bench``
runs it after the API benchmark). It creates a throw-away database, seeds one offering with
10,000 participants and 10 sessions, writes a long-format CSV of 100,000 rows (code;date;status,
as German Excel exports it) and measures, in the same run:

- the baseline: ``COPY`` of that file into a plain three-column text table;
- the import of the same file through ``import_attendance`` (parse, check, store, audit,
  certificates), first into an empty offering (100,000 new marks), then again (all unchanged);
- Python's peak traced memory of the import for files of 25,000, 50,000 and 100,000 rows.

Target (issue 4): the import at most 3x the COPY.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BenchError, fresh_database, run_cli, server_env  # noqa: E402

PARTICIPANTS = 10_000
SESSIONS = 10
TARGET_RATIO = 3.0


def seed(app: Any) -> tuple[int, list[str], list[str]]:
    """One past offering with PARTICIPANTS enrollments; returns its id, codes, session dates."""
    from sqlalchemy import insert, select

    from wellness.auth.models import User
    from wellness.courses.models import Course, CourseSession, Enrollment, Offering, Provider
    from wellness.extensions import db
    from wellness.i18n import BERLIN
    from wellness.tenants.models import Employee, Employer

    with app.app_context():
        employer = db.session.scalar(select(Employer).limit(1))
        provider = Provider(slug="bench-import", name="Import Bench GmbH")
        db.session.add(provider)
        db.session.flush()
        course = Course(provider_id=provider.id, title="Rücken XXL", field_of_action="movement")
        db.session.add(course)
        db.session.flush()
        first = datetime(2026, 1, 5, 18, tzinfo=BERLIN)
        offering = Offering(
            course_id=course.id,
            starts_on=first.date(),
            ends_on=(first + timedelta(weeks=SESSIONS - 1)).date(),
            capacity=PARTICIPANTS,
            price_cents=0,
        )
        db.session.add(offering)
        db.session.flush()
        starts = [first + timedelta(weeks=week) for week in range(SESSIONS)]
        db.session.execute(
            insert(CourseSession),
            [
                {"offering_id": offering.id, "starts_at": s, "ends_at": s + timedelta(hours=1)}
                for s in starts
            ],
        )
        now = datetime.now(UTC)
        users = db.session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": f"bench{n}@import.example",
                    "name": f"Teilnehmer {n}",
                    "password_hash": "!",
                    "employer_id": employer.id,
                    "created_at": now,
                }
                for n in range(PARTICIPANTS)
            ],
        ).scalars()
        employees = db.session.execute(
            insert(Employee).returning(Employee.id, sort_by_parameter_order=True),
            [{"employer_id": employer.id, "user_id": uid, "created_at": now} for uid in users],
        ).scalars()
        codes = [f"B{n:07d}" for n in range(PARTICIPANTS)]
        db.session.execute(
            insert(Enrollment),
            [
                {
                    "offering_id": offering.id,
                    "employee_id": eid,
                    "participant_code": code,
                    "status": "enrolled",
                    "budget_year": 2026,
                    "created_at": now,
                }
                for eid, code in zip(employees, codes, strict=True)
            ],
        )
        db.session.commit()
        return offering.id, codes, [f"{s:%d.%m.%Y}" for s in starts]


def csv_file(codes: list[str], days: list[str], rows: int) -> bytes:
    marks = ("anwesend", "anwesend", "anwesend", "abwesend", "entschuldigt")
    lines = ["Teilnehmercode;Datum;Anwesenheit"]
    for n in range(rows):
        code, day = codes[n // len(days) % len(codes)], days[n % len(days)]
        lines.append(f"{code};{day};{marks[n % len(marks)]}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def time_copy(app: Any, data: bytes, repeats: int) -> float:
    """Seconds for a bare COPY of the file into a plain text table (median)."""
    from wellness.extensions import db

    timings = []
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("CREATE TABLE bench_copy (code text, day text, status text)")
            raw.commit()
            for _ in range(repeats):
                started = time.perf_counter()
                with cursor.copy(
                    "COPY bench_copy FROM STDIN "
                    "(FORMAT csv, HEADER true, DELIMITER ';', ENCODING 'WIN1252')"
                ) as copy:
                    copy.write(data)
                raw.commit()
                timings.append(time.perf_counter() - started)
                cursor.execute("TRUNCATE bench_copy")
                raw.commit()
        finally:
            raw.close()
    return statistics.median(timings)


def time_copy_into_attendance(app: Any, offering_id: int, repeats: int) -> float:
    """Seconds to COPY the same 100,000 marks, already resolved to ids, straight into the
    attendance table with its keys and foreign keys: the floor for any import that stores them.
    Rolled back each time."""
    from sqlalchemy import select

    from wellness.attendance.models import Attendance, AttendanceUpload
    from wellness.courses.models import CourseSession, Enrollment
    from wellness.db import copy_rows, utcnow
    from wellness.extensions import db

    timings = []
    with app.app_context():
        enrollments = db.session.scalars(
            select(Enrollment.id).where(Enrollment.offering_id == offering_id)
        ).all()
        sessions = db.session.scalars(
            select(CourseSession.id).where(CourseSession.offering_id == offering_id)
        ).all()
        for _ in range(repeats):
            upload = AttendanceUpload(offering_id=offering_id, filename="floor", sha256="-")
            db.session.add(upload)
            db.session.flush()
            now = utcnow()
            rows = [(e, s, "present", upload.id, now) for e in enrollments for s in sessions]
            started = time.perf_counter()
            copy_rows(
                Attendance,
                ("enrollment_id", "session_id", "status", "upload_id", "updated_at"),
                rows,
            )
            db.session.flush()
            timings.append(time.perf_counter() - started)
            db.session.rollback()
    return statistics.median(timings)


def time_import(app: Any, offering_id: int, data: bytes, repeats: int) -> tuple[float, float, int]:
    """Median seconds of a first import (all new) and a repeated one (all unchanged)."""
    from sqlalchemy import delete, select

    from wellness.attendance.importer import import_attendance
    from wellness.attendance.models import Attendance, AttendanceUpload, Certificate
    from wellness.courses.models import Enrollment, Offering
    from wellness.extensions import db

    first, again = [], []
    rows = 0
    with app.test_request_context():
        for _ in range(repeats):
            enrollments = select(Enrollment.id).where(Enrollment.offering_id == offering_id)
            db.session.execute(
                delete(Certificate).where(Certificate.enrollment_id.in_(enrollments))
            )
            db.session.execute(delete(Attendance).where(Attendance.enrollment_id.in_(enrollments)))
            db.session.execute(
                delete(AttendanceUpload).where(AttendanceUpload.offering_id == offering_id)
            )
            db.session.commit()
            for timings in (first, again):
                offering = db.session.get(Offering, offering_id)
                started = time.perf_counter()
                report = import_attendance(
                    offering, io.BytesIO(data), filename="bench.csv", actor_id=None, dry_run=False
                )
                db.session.commit()
                timings.append(time.perf_counter() - started)
                if not report.ok:
                    raise BenchError(f"the import refused the file: {report.errors[:3]}")
                rows = report.rows
    return statistics.median(first), statistics.median(again), rows


def peak_memory(app: Any, offering_id: int, data: bytes) -> int:
    from wellness.attendance.importer import import_attendance
    from wellness.courses.models import Offering
    from wellness.extensions import db

    with app.test_request_context():
        offering = db.session.get(Offering, offering_id)
        tracemalloc.start()
        import_attendance(
            offering, io.BytesIO(data), filename="bench.csv", actor_id=None, dry_run=True
        )
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.session.rollback()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args(argv)
    try:
        with fresh_database(options.pg, f"wellness_bench_import_{os.getpid()}") as url:
            env = server_env(url)
            run_cli(["db", "upgrade"], env)
            run_cli(["demo"], env)
            os.environ.update(env)
            from wellness import create_app

            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": None})
            offering_id, codes, days = seed(app)
            data = csv_file(codes, days, options.rows)
            copy_s = time_copy(app, data, options.repeats)
            floor_s = time_copy_into_attendance(app, offering_id, options.repeats)
            first_s, again_s, rows = time_import(app, offering_id, data, options.repeats)
            memory = {
                n: peak_memory(app, offering_id, csv_file(codes, days, n))
                for n in (options.rows // 4, options.rows // 2, options.rows)
            }
            with app.app_context():
                from wellness.extensions import db

                db.engine.dispose()
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    ratio = first_s / copy_s
    print(f"\nAttendance import, {rows:,} rows ({len(data) / 1e6:.1f} MB, long format, cp1252)")
    print(f"  bare COPY into a text table     {copy_s * 1000:8.0f} ms   1.00x")
    print(
        f"  COPY of the marks into attendance {floor_s * 1000:6.0f} ms  {floor_s / copy_s:5.2f}x"
        "   (keys and foreign keys checked: the floor)"
    )
    print(f"  import, all new marks           {first_s * 1000:8.0f} ms  {ratio:5.2f}x")
    print(f"  import again, all unchanged     {again_s * 1000:8.0f} ms  {again_s / copy_s:5.2f}x")
    for n, peak in memory.items():
        print(f"  peak Python memory, {n:7,} rows  {peak / 1e6:8.1f} MB")
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"  {verdict}  import <= {TARGET_RATIO:.0f}x COPY    {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
