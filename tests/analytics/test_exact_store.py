"""The store of exact releases: a repeat is served without computing, and any committed write
that may change the figure (an enrollment, a cancellation, an attendance import, a move to
another department, the employer's k) gives the next view a new figure; a write rolled back or
a mere audit event does not; the key holds the employer, the day and the language."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tests.analytics.test_measures import (
    by_group,
    calendar_year,
    department,
    enroll,
    pain,
    people,
    spec,
    this_month,
)
from wellness.analytics import data_version
from wellness.analytics.grid import GroupBy
from wellness.analytics.measures import run, stored
from wellness.analytics.models import ExactRelease, PrivacyRelease
from wellness.attendance.importer import import_attendance
from wellness.attendance.models import Attendance
from wellness.auth.models import Role
from wellness.courses.models import CourseSession, Enrollment, EnrollmentStatus, Offering
from wellness.db import utcnow
from wellness.extensions import db as _db
from wellness.i18n import BERLIN
from wellness.tenants.models import Department, Employee, Employer

PAGE_GROUPINGS = (GroupBy.MONTH, GroupBy.DEPARTMENT, GroupBy.QUARTER)


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    return make_employer(dp_enabled=False, locale="en")


@pytest.fixture
def statements(app: Any) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the test runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(_db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(_db.engine, "before_cursor_execute", count)


def version() -> int | None:
    value = data_version.current(_db.session.connection())
    _db.session.commit()
    return value


def stored_rows(employer: Employer) -> list[ExactRelease]:
    return list(
        _db.session.scalars(select(ExactRelease).where(ExactRelease.employer_id == employer.id))
    )


def figures(release: Any) -> list[tuple[Any, ...]]:
    cells = [release.total, *release.cells]
    return [(c.group, c.n, c.value, c.suppressed) for c in cells]


def participation(employer: Employer, make_offering: Callable[..., Offering]) -> Offering:
    """12 people in two departments, 3 of them in a running course."""
    sales, it = department(employer, "Sales"), department(employer, "IT")
    staff = people(employer, 6, sales)
    people(employer, 6, it)
    offering = make_offering(employer, starts_in_days=-7)
    enroll(staff[:3], offering)
    return offering


def test_a_repeat_is_served_from_the_store_without_computing(
    employer: Employer, make_offering: Callable[..., Offering], statements: list[str]
) -> None:
    participation(employer, make_offering)
    first = run(employer, spec("participation_rate"))
    _db.session.commit()
    assert not first.reused
    assert [row.query_key.split("|")[0] for row in stored_rows(employer)] == ["participation_rate"]
    _db.session.commit()

    statements.clear()
    again = run(employer, spec("participation_rate"))

    assert again.reused
    assert not again.noisy
    assert figures(again) == figures(first)
    assert again.k == first.k
    # The version, the employer (expired by the commit) and the stored row: no people, no
    # seats, nothing written.
    assert len(statements) <= 3, statements
    assert (
        statements[-1]
        .lstrip()
        .startswith("SELECT exact_releases.query_key, exact_releases.result_json")
    ), statements
    touched = " ".join(statements)
    assert "employees" not in touched
    assert "enrollments" not in touched
    assert "INSERT" not in touched


def test_a_warm_page_is_read_at_once_whatever_its_number_of_charts(
    employer: Employer, make_offering: Callable[..., Offering], statements: list[str]
) -> None:
    participation(employer, make_offering)
    page = [spec("participation_rate", group_by) for group_by in PAGE_GROUPINGS]
    first = [run(employer, one) for one in page]
    _db.session.commit()
    statements.clear()

    found = stored(employer, [*page, spec("completion_rate")])

    # The version, the employer (expired by the commit) and one read of the store.
    assert len(statements) <= 3, statements
    assert list(found) == page  # the completion rate was never computed
    assert [figures(found[one]) for one in page] == [figures(release) for release in first]
    assert all(release.reused for release in found.values())


def test_a_committed_enrollment_changes_the_next_answer(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    offering = participation(employer, make_offering)
    before = run(employer, spec("participation_rate"))
    _db.session.commit()
    others = people(employer, 3)  # committed: no department, enrolled next

    enroll(others, offering)
    after = run(employer, spec("participation_rate"))

    assert not after.reused
    assert (before.total.n, before.total.value) == (12, 0.25)
    assert (after.total.n, after.total.value) == (15, 0.4)
    assert run(employer, spec("participation_rate")).reused


def test_a_committed_cancellation_changes_the_next_answer(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    participation(employer, make_offering)
    assert run(employer, spec("participation_rate")).total.value == 0.25
    _db.session.commit()

    seat = _db.session.scalars(select(Enrollment)).first()
    assert seat is not None
    seat.status = EnrollmentStatus.CANCELLED.value
    _db.session.commit()

    assert run(employer, spec("participation_rate")).total.value == pytest.approx(2 / 12)


def test_a_move_to_another_department_changes_the_next_answer(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    participation(employer, make_offering)
    first = by_group(run(employer, spec("participation_rate")))
    _db.session.commit()
    assert sorted(cell.n for cell in first.values()) == [6, 6]

    it = _db.session.scalars(select(Department).where(Department.name == "IT")).one()
    seller = _db.session.scalars(select(Employee).where(Employee.department_id != it.id)).first()
    assert seller is not None
    seller.department_id = it.id
    _db.session.commit()

    cells = by_group(run(employer, spec("participation_rate")))
    assert cells[str(it.id)].n == 7


def test_a_changed_k_changes_the_next_answer(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    participation(employer, make_offering)
    shown = run(employer, spec("participation_rate"))
    _db.session.commit()
    assert shown.k == 5
    assert not any(cell.suppressed for cell in shown.cells)

    employer.k_participation = 7
    _db.session.commit()

    stricter = run(employer, spec("participation_rate"))
    assert stricter.k == 7
    assert all(cell.suppressed for cell in stricter.cells)


def test_an_attendance_import_changes_the_next_answer(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    staff = people(employer, 6)
    finished = make_offering(employer, starts_in_days=-70)  # ended three weeks ago
    enroll(staff, finished)
    period = calendar_year(finished.ends_on)
    before = run(employer, spec("attendance_rate", period=period))
    _db.session.commit()
    assert (before.total.n, before.total.value) == (6, 0.0)

    codes = list(
        _db.session.scalars(
            select(Enrollment.participant_code).where(Enrollment.offering_id == finished.id)
        )
    )
    days = [
        session.starts_at.astimezone(BERLIN).date()
        for session in _db.session.scalars(
            select(CourseSession).where(CourseSession.offering_id == finished.id)
        )
    ]
    lines = ["Teilnehmercode;Datum;Status"]
    lines += [f"{code};{day:%d.%m.%Y};anwesend" for code in codes for day in days]
    report = import_attendance(
        finished,
        io.BytesIO("\n".join(lines).encode()),
        filename="anwesenheit.csv",
        actor_id=None,
        dry_run=False,
    )
    assert report.ok, report.errors
    _db.session.commit()
    assert _db.session.scalar(select(func.count()).select_from(Attendance)) == 6 * len(days)

    after = run(employer, spec("attendance_rate", period=period))
    assert not after.reused
    assert (after.total.n, after.total.value) == (6, 1.0)


def test_a_write_rolled_back_moves_no_version(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    offering = participation(employer, make_offering)
    (spare,) = people(employer, 1)
    first = run(employer, spec("participation_rate"))
    _db.session.commit()
    was = version()

    seat = Enrollment(
        offering_id=offering.id,
        employee_id=spare.id,
        status=EnrollmentStatus.ENROLLED.value,
        participant_code="ROLLEDBACK",
        employer_share_cents=0,
        budget_year=offering.starts_on.year,
    )
    _db.session.add(seat)
    _db.session.flush()
    _db.session.rollback()

    assert version() == was
    again = run(employer, spec("participation_rate"))
    assert again.reused
    assert figures(again) == figures(first)


def test_a_session_sees_its_own_uncommitted_write_not_the_store(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    participation(employer, make_offering)
    run(employer, spec("participation_rate"))
    _db.session.commit()
    rows = stored_rows(employer)
    _db.session.commit()

    employer.k_participation = 7  # not flushed yet: the lookup's autoflush writes it
    pending = run(employer, spec("participation_rate"))

    assert not pending.reused
    assert pending.k == 7
    _db.session.rollback()
    assert [r.result_json for r in stored_rows(employer)] == [r.result_json for r in rows]


def test_audit_events_of_hr_views_move_no_version(
    employer: Employer,
    make_offering: Callable[..., Offering],
    make_user: Any,
    client: Any,
    login: Any,
) -> None:
    participation(employer, make_offering)
    hr = login(client, make_user(Role.HR, employer=employer))
    month = f"{this_month().first:%Y-%m}"
    url = f"/api/v1/analytics/participation_rate?group_by=department&from={month}&to={month}"

    first, again = hr.get(url).get_json(), hr.get(url).get_json()

    assert (first["reused"], again["reused"]) == (False, True)
    assert first["total"] == again["total"]
    assert first["cells"] == again["cells"]


def test_another_employers_hr_never_gets_this_employers_release(
    employer: Employer,
    make_employer: Callable[..., Employer],
    make_offering: Callable[..., Offering],
    make_user: Any,
    make_app: Callable[..., Any],
    login: Any,
) -> None:
    participation(employer, make_offering)
    other = make_employer(dp_enabled=False, locale="en")
    people(other, 10)
    month = f"{this_month().first:%Y-%m}"
    url = f"/api/v1/analytics/participation_rate?group_by=department&from={month}&to={month}"
    ours = login(make_app().test_client(), make_user(Role.HR, employer=employer)).get(url)
    assert ours.get_json()["total"]["n"] == 13  # with the HR user's own employee record

    theirs = login(make_app().test_client(), make_user(Role.HR, employer=other)).get(url)

    body = theirs.get_json()
    assert body["reused"] is False
    assert (body["total"]["n"], body["total"]["value"]) == (11, 0.0)
    assert all(row.employer_id == employer.id for row in stored_rows(employer))
    assert len(stored_rows(other)) == 1


def test_another_day_computes_anew_and_replaces_the_old_days_row(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    participation(employer, make_offering)
    now = utcnow()
    run(employer, spec("participation_rate"), now=now)
    _db.session.commit()

    next_day = run(employer, spec("participation_rate"), now=now + timedelta(days=1))
    _db.session.commit()

    assert not next_day.reused
    assert [row.day for row in stored_rows(employer)] == [
        (now + timedelta(days=1)).astimezone(BERLIN).date()
    ]


def test_only_exact_releases_are_kept_here(
    make_employer: Callable[..., Employer], make_offering: Callable[..., Offering]
) -> None:
    noisy = make_employer(dp_enabled=True, locale="en")
    pain(people(noisy, 12), 4)
    run(noisy, spec("pain_mean"))
    _db.session.commit()
    assert stored_rows(noisy) == []
    assert _db.session.scalar(select(func.count()).select_from(PrivacyRelease)) == 1

    exact = make_employer(dp_enabled=False, locale="en")
    pain(people(exact, 12), 4)
    run(exact, spec("pain_mean"))
    _db.session.commit()
    assert run(exact, spec("pain_mean")).reused
    assert len(stored_rows(exact)) == 1


def test_an_exact_release_is_kept_after_a_noisy_one_in_the_same_transaction(
    make_employer: Callable[..., Employer], make_offering: Callable[..., Offering]
) -> None:
    """A dashboard page: the noisy release locks the employer row until the page commits;
    storing the exact one (on its own connection on PostgreSQL) must neither wait nor fail."""
    noisy = make_employer(dp_enabled=True, locale="en")
    participation(noisy, make_offering)
    pain(people(noisy, 12), 4)

    assert run(noisy, spec("pain_mean")).noisy
    exact = run(noisy, spec("participation_rate"))
    _db.session.commit()

    assert not exact.noisy
    assert len(stored_rows(noisy)) == 1
    assert run(noisy, spec("participation_rate")).reused


def test_a_version_that_could_not_be_moved_keeps_the_store_shut_until_it_moves(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    """The database going away right after a commit: the write stands (no error), and the
    process serves no stored figure until the owed move is made."""
    offering = participation(employer, make_offering)
    before = run(employer, spec("participation_rate"))
    _db.session.commit()
    (late,) = people(employer, 1)
    was = version()
    kept = [(row.data_version, row.result_json) for row in stored_rows(employer)]
    failures = [0]

    def unreachable(*_args: Any) -> None:
        if failures[0]:
            failures[0] -= 1
            raise _db.engine.dialect.loaded_dbapi.OperationalError("simulated: server gone")

    event.listen(_db.engine.pool, "checkout", unreachable)
    try:
        _db.session.connection()  # the writer's connection, before the server goes
        failures[0] = 1  # the move after the commit fails
        enroll([late], offering)  # commits, and raises nothing: the enrollment is saved

        connection = _db.session.connection()
        failures[0] = 2  # still unreachable while the next views ask
        assert data_version.current(connection) is None
        after = run(employer, spec("participation_rate"))
    finally:
        event.remove(_db.engine.pool, "checkout", unreachable)

    assert not after.reused
    assert (before.total.n, before.total.value) == (12, 0.25)
    assert (after.total.n, after.total.value) == (13, 4 / 13)
    # Nothing stored meanwhile.
    assert [(row.data_version, row.result_json) for row in stored_rows(employer)] == kept
    _db.session.rollback()
    # Reachable again: the owed move is made once, and the store opens.
    assert version() == was + 1
