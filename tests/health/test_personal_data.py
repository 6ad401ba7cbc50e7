"""Export (Art. 15/20) and erasure of health data (Art. 17): what is stored before and after,
for the person and for a colleague who must stay untouched.

``add_health_data`` and ``stored`` are also used by the retention and API tests.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.sql.selectable import Join

from wellness.attendance.models import Attendance, Certificate
from wellness.audit.models import AuditEvent
from wellness.audit.services import record
from wellness.auth.models import ApiToken, Role, User
from wellness.auth.services import create_api_token
from wellness.courses.models import Enrollment, Offering
from wellness.db import utcnow
from wellness.health import consent, personal_data
from wellness.health.models import (
    ChecklistAnswer,
    ChecklistItem,
    ChecklistResponse,
    ChecklistTemplate,
    Consent,
    ConsentPurpose,
    ErgonomicMeasure,
    ExerciseEntry,
    ExerciseLog,
    MeasureStatus,
    PainCheckin,
    PainScore,
)
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employee

#: A value a spreadsheet would run as a formula, typed by someone else (a provider, a mail).
FORMULA = '=HYPERLINK("http://evil.example")'


def _template(db) -> ChecklistTemplate:
    """A small template of our own (the shipped ones belong to the checklist feature)."""
    found = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.key == "privacy"))
    if found is not None:
        return found
    template = ChecklistTemplate(key="privacy", version=1, title_de="Test", title_en="Test")
    template.items = [
        ChecklistItem(
            key="screen_height", area="screen", position=1, question_de="?", question_en="?"
        ),
        ChecklistItem(
            key="viewing_distance",
            area="screen",
            position=2,
            question_de="Abstand?",
            question_en="Distance?",
            answer_type="number",
            number_min=50,
            number_max=80,
            unit="cm",
        ),
    ]
    db.session.add(template)
    db.session.flush()
    return template


def add_health_data(db, employee: Employee, day: date, *, nrs: int = 6) -> ErgonomicMeasure:
    """One entry of each kind of health data about ``day``, and a measure closed that day."""
    template = _template(db)
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    db.session.add_all(
        [
            PainCheckin(
                employee_id=employee.id,
                checked_on=day,
                prevented_activity=True,
                scores=[
                    PainScore(region="low_back", nrs=nrs, prevented_activity=True),
                    PainScore(region="neck", nrs=2),
                ],
            ),
            ChecklistResponse(
                employee_id=employee.id,
                template_id=template.id,
                score=50,
                items_to_fix=2,
                submitted_at=moment,
                answers=[
                    ChecklistAnswer(item_id=template.items[0].id, choice="no"),
                    ChecklistAnswer(item_id=template.items[1].id, number=45.0),
                ],
            ),
            ExerciseLog(
                employee_id=employee.id,
                performed_on=day,
                entries=[
                    ExerciseEntry(exercise="bridge", sets=3, reps=12),
                    ExerciseEntry(exercise="stretching", minutes=10),
                ],
            ),
        ]
    )
    measure = ErgonomicMeasure(
        employer_id=employee.employer_id,
        employee_id=employee.id,
        item_id=template.items[0].id,
        title="footrest",
        status=MeasureStatus.DONE.value,
        note="Knie tun beim Sitzen weh",
        cost_cents=5900,
        requested_at=moment - timedelta(days=20),
        done_at=moment,
    )
    db.session.add(measure)
    db.session.commit()
    return measure


def _count(db, model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def stored(db, employee_id: int) -> dict[str, int]:
    """Rows about one person, per table."""
    checkins = select(PainCheckin.id).where(PainCheckin.employee_id == employee_id)
    responses = select(ChecklistResponse.id).where(ChecklistResponse.employee_id == employee_id)
    logs = select(ExerciseLog.id).where(ExerciseLog.employee_id == employee_id)
    enrollments = select(Enrollment.id).where(Enrollment.employee_id == employee_id)
    return {
        "pain_checkins": _count(db, PainCheckin, PainCheckin.employee_id == employee_id),
        "pain_scores": _count(db, PainScore, PainScore.checkin_id.in_(checkins)),
        "checklist_responses": _count(
            db, ChecklistResponse, ChecklistResponse.employee_id == employee_id
        ),
        "checklist_answers": _count(
            db, ChecklistAnswer, ChecklistAnswer.response_id.in_(responses)
        ),
        "exercise_logs": _count(db, ExerciseLog, ExerciseLog.employee_id == employee_id),
        "exercise_entries": _count(db, ExerciseEntry, ExerciseEntry.log_id.in_(logs)),
        "ergonomic_measures": _count(
            db, ErgonomicMeasure, ErgonomicMeasure.employee_id == employee_id
        ),
        "consents": _count(db, Consent, Consent.employee_id == employee_id),
        "enrollments": _count(db, Enrollment, Enrollment.employee_id == employee_id),
        "attendance": _count(db, Attendance, Attendance.enrollment_id.in_(enrollments)),
        "certificates": _count(db, Certificate, Certificate.enrollment_id.in_(enrollments)),
    }


def totals(db) -> dict[str, int]:
    """Rows per table in the whole database (for what must be kept)."""
    models = (Employee, User, ErgonomicMeasure, Consent, Enrollment, Attendance, Certificate)
    return {model.__tablename__: _count(db, model) for model in models}


HEALTH_TABLES = (
    "pain_checkins",
    "pain_scores",
    "checklist_responses",
    "checklist_answers",
    "exercise_logs",
    "exercise_entries",
)


def _enroll(db, employee: Employee, offering: Offering, code: str) -> Enrollment:
    enrollment = Enrollment(
        offering_id=offering.id,
        employee_id=employee.id,
        status="enrolled",
        participant_code=code,
        employer_share_cents=10000,
        employee_share_cents=5000,
        budget_year=offering.starts_on.year,
        enrolled_at=utcnow(),
    )
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


@pytest.fixture
def me(db, employer, make_user):
    user = make_user(Role.EMPLOYEE, employer=employer, name="Erika Example")
    user.employee.calendar_token = "secret-calendar-token-of-erika"
    db.session.commit()
    return user


@pytest.fixture
def colleague(db, employer, make_user):
    user = make_user(Role.EMPLOYEE, employer=employer, name="Carl Colleague")
    add_health_data(db, user.employee, date.today() - timedelta(days=3), nrs=9)
    return user


@pytest.fixture
def history(db, me, employer, make_offering):
    """Erika's health data, consent, courses (one finished years ago, one upcoming), a
    certificate, attendance, a mail and a token."""
    employee = me.employee
    for days in (3, 40):
        add_health_data(db, employee, date.today() - timedelta(days=days))
    consent.give_consent(
        employee,
        ConsentPurpose.HEALTH_AGGREGATES,
        consent.current_text(ConsentPurpose.HEALTH_AGGREGATES).version,
    )
    past = make_offering(employer, starts_in_days=-800, title=FORMULA)
    upcoming = make_offering(employer, starts_in_days=14)
    finished = _enroll(db, employee, past, "PASTCODE")
    _enroll(db, employee, upcoming, "NEXTCODE")
    for session in past.sessions:
        db.session.add(
            Attendance(enrollment_id=finished.id, session_id=session.id, status="present")
        )
    db.session.add(
        Certificate(
            enrollment_id=finished.id,
            verification_code="ABCD-EFGH-JKLM",
            sessions_attended=8,
            sessions_total=8,
            fee_cents=15000,
            fee_paid=True,
        )
    )
    db.session.add(
        OutboundMail(
            user_id=me.id,
            recipient=me.email,
            subject=FORMULA,
            body_text="Hallo Erika",
            kind="test",
        )
    )
    create_api_token(me, "my script")
    record("auth.login", actor_id=me.id, employer_id=employer.id)
    db.session.commit()
    return {"finished": finished, "past": past, "upcoming": upcoming}


def _open(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def _json(files: dict[str, bytes], table: str) -> list[dict[str, Any]]:
    return json.loads(files[f"json/{table}.json"])


def _csv(files: dict[str, bytes], table: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[f"csv/{table}.csv"].decode("utf-8-sig"))))


# --- Export ---------------------------------------------------------------------------------


def test_export_holds_every_row_about_the_person_as_json_and_csv(db, me, colleague, history):
    employee = me.employee
    before = stored(db, employee.id)

    export = personal_data.export_personal_data(employee)
    db.session.commit()
    files = _open(export.content)

    assert export.filename.startswith("wellness-my-data-")
    assert export.filename.endswith(".zip")
    assert "README.txt" in files
    tables = [table.name for table in export.tables]
    for table in tables:
        assert f"json/{table}.json" in files
        assert f"csv/{table}.csv" in files
        assert len(_json(files, table)) == len(_csv(files, table)) == export.row_counts[table]
        assert f"\n{table} " in files["README.txt"].decode()  # described in the README
    for table, count in before.items():
        assert export.row_counts[table] == count, table
    assert before["pain_checkins"] == 2
    assert before["enrollments"] == 2
    assert export.row_counts["account"] == 1
    assert export.row_counts["employee"] == 1
    assert export.row_counts["consent_texts"] == 2  # German and English of the agreed version
    assert export.row_counts["mails"] == 1
    assert export.row_counts["api_tokens"] == 1
    assert export.row_counts["audit_events"] >= 2  # the login and the consent
    # Only Erika's rows: the colleague's check-in (NRS 9) is not there.
    assert {row["employee_id"] for row in _json(files, "pain_checkins")} == {employee.id}
    assert 9 not in {row["nrs"] for row in _json(files, "pain_scores")}
    assert _json(files, "account")[0]["email"] == me.email
    answers = _json(files, "checklist_answers")
    assert {a["item_key"] for a in answers} == {"screen_height", "viewing_distance"}
    assert _json(files, "enrollments")[0]["course_title"] == FORMULA


def test_export_leaves_out_secrets_and_defuses_formulas_in_csv(db, me, history):
    export = personal_data.export_personal_data(me.employee)
    files = _open(export.content)
    everything = b"".join(files.values()).decode("utf-8", "replace")

    assert "password_hash" not in everything
    assert "token_hash" not in everything
    assert "calendar_token" not in everything
    assert "secret-calendar-token-of-erika" not in everything
    assert db.session.scalar(select(User.password_hash).where(User.id == me.id)) not in everything
    token_hash = db.session.scalar(select(ApiToken.token_hash).where(ApiToken.user_id == me.id))
    assert token_hash not in everything
    assert _json(files, "mails")[0]["subject"] == FORMULA  # exact in JSON
    assert _csv(files, "mails")[0]["subject"] == "'" + FORMULA  # harmless in a spreadsheet


def test_export_changes_nothing_but_is_audited_with_counts_only(db, me, colleague, history):
    before = (stored(db, me.employee.id), stored(db, colleague.employee.id), totals(db))

    personal_data.export_personal_data(me.employee)
    db.session.commit()

    assert (stored(db, me.employee.id), stored(db, colleague.employee.id), totals(db)) == before
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "privacy.data_exported")
    ).all()
    assert (event.actor_id, event.employer_id) == (me.id, None)
    assert set(json.loads(event.details)) == {"tables", "rows"}


def test_a_colleagues_export_contains_nothing_of_mine(db, me, colleague, history):
    files = _open(personal_data.export_personal_data(colleague.employee).content)
    everything = b"".join(files.values()).decode("utf-8", "replace")
    assert "Erika Example" not in everything
    assert me.email not in everything
    assert "PASTCODE" not in everything
    # An empty table still says what it would hold.
    assert files["csv/api_tokens.csv"].decode("utf-8-sig").startswith("id,user_id,name,")
    assert {row["employee_id"] for row in _json(files, "pain_checkins")} == {colleague.employee.id}


# --- Erasure --------------------------------------------------------------------------------


def test_erasure_deletes_health_data_and_keeps_accounting_pseudonymized(db, me, colleague, history):
    employee = me.employee
    mine, theirs, everywhere = (
        stored(db, employee.id),
        stored(db, colleague.employee.id),
        totals(db),
    )
    measure_ids = set(
        db.session.scalars(
            select(ErgonomicMeasure.id).where(ErgonomicMeasure.employee_id == employee.id)
        )
    )

    erasure = personal_data.erase_health_data(employee)
    db.session.commit()

    after = stored(db, employee.id)
    for table in HEALTH_TABLES:
        assert after[table] == 0, table
        assert getattr(erasure.health, table) == mine[table], table
    assert erasure.health.measures_anonymized == len(measure_ids) == 2
    assert erasure.enrollments_pseudonymized == 1
    # The colleague is untouched.
    assert stored(db, colleague.employee.id) == theirs
    # Measures stay as the employer's record, without the person and the note.
    assert after["ergonomic_measures"] == 0
    for measure in db.session.scalars(
        select(ErgonomicMeasure).where(ErgonomicMeasure.id.in_(measure_ids))
    ):
        assert (measure.employee_id, measure.note) == (None, None)
        assert (measure.title, measure.status, measure.cost_cents) == ("footrest", "done", 5900)
    # Consents and the upcoming course stay with the person; the finished one moved.
    assert after["consents"] == mine["consents"]
    assert after["enrollments"] == 1
    assert after["attendance"] == after["certificates"] == 0
    finished = db.session.get(Enrollment, history["finished"].id)
    pseudonym = db.session.get(Employee, finished.employee_id)
    assert pseudonym.id != employee.id
    assert pseudonym.user_id is None
    assert pseudonym.employee_number is None
    assert pseudonym.pseudonymized_at is not None
    assert not pseudonym.active
    assert pseudonym.employer_id == employee.employer_id
    assert (finished.employer_share_cents, finished.participant_code) == (10000, "PASTCODE")
    # Nothing the accounting needs was deleted: one more (pseudonymous) employee, same rest.
    assert totals(db) == {**everywhere, "employees": everywhere["employees"] + 1}
    assert stored(db, pseudonym.id)["attendance"] == mine["attendance"]
    assert stored(db, pseudonym.id)["certificates"] == 1
    # The person keeps their account and record.
    assert db.session.get(User, me.id).employee.id == employee.id
    assert employee.pseudonymized_at is None
    assert employee.active


def test_erasure_keeps_a_measures_kind_but_not_a_title_in_the_persons_own_words(db, me):
    employee = me.employee
    own, kind = (
        ErgonomicMeasure(
            employer_id=employee.employer_id,
            employee_id=employee.id,
            title=title,
            note="Bandscheibenvorfall",
            requested_at=utcnow(),
        )
        for title in ("Stuhl wegen Bandscheibenvorfall", "office_chair")
    )
    db.session.add_all([own, kind])
    db.session.commit()

    personal_data.erase_health_data(employee)
    db.session.commit()

    db.session.refresh(own)
    db.session.refresh(kind)
    assert (own.title, own.note, own.employee_id) == ("other", None, None)
    assert (kind.title, kind.note, kind.employee_id) == ("office_chair", None, None)
    assert own.status == kind.status == MeasureStatus.REQUESTED.value


def test_erasure_also_removes_the_requester_from_the_measures_audit_trail(db, me):
    from wellness.health import measures

    employee = me.employee
    measure = ErgonomicMeasure(
        employer_id=employee.employer_id,
        employee_id=employee.id,
        title="footrest",
        requested_at=utcnow(),
    )
    db.session.add(measure)
    db.session.flush()
    record(
        measures.REQUESTED_ACTION,
        actor_id=me.id,
        employer_id=employee.employer_id,
        target_type=measures.TARGET_TYPE,
        target_id=measure.id,
    )
    db.session.commit()
    assert measures.history([measure])[measure.id][0].actor == me.name

    personal_data.erase_health_data(employee)
    db.session.commit()

    db.session.refresh(measure)
    assert measures.history([measure])[measure.id][0].actor is None
    requested = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == measures.REQUESTED_ACTION)
    ).all()
    assert [event.actor_id for event in requested] == [None]


def test_erasure_is_audited_with_counts_only_and_not_shown_to_the_employer(db, me, history):
    personal_data.erase_health_data(me.employee)
    db.session.commit()

    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "privacy.health_data_erased")
    ).all()
    assert (event.actor_id, event.employer_id, event.target_id) == (
        me.id,
        None,
        str(me.employee.id),
    )
    details = json.loads(event.details)
    assert all(isinstance(value, int) for value in details.values())
    assert details["pain_checkins"] == 2
    assert details["enrollments_pseudonymized"] == 1
    assert "Knie" not in event.details


def test_erasing_again_changes_nothing(db, me, colleague, history):
    personal_data.erase_health_data(me.employee)
    db.session.commit()
    before = (stored(db, me.employee.id), totals(db))

    again = personal_data.erase_health_data(me.employee)
    db.session.commit()

    assert again.health.total == 0
    assert again.enrollments_pseudonymized == 0
    assert (stored(db, me.employee.id), totals(db)) == before


def test_new_health_data_after_erasure_is_recorded_as_usual(db, me, history):
    personal_data.erase_health_data(me.employee)
    db.session.commit()
    add_health_data(db, me.employee, date.today())
    assert stored(db, me.employee.id)["pain_checkins"] == 1


# --- Pages ----------------------------------------------------------------------------------


@pytest.fixture
def browser(client, login, me):
    return login(client, me)


def test_download_page_sends_the_zip_privately(db, browser, me, history):
    response = browser.post("/me/privacy/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    files = _open(response.data)
    assert len(_json(files, "pain_checkins")) == 2


def test_erase_page_asks_for_confirmation_and_only_then_erases(db, browser, me, colleague, history):
    page = browser.get("/me/privacy/erase")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "What is deleted" in body
    assert "What is kept" in body

    refused = browser.post("/me/privacy/erase", data={})
    assert refused.status_code == 400
    assert "Tick the box" in refused.get_data(as_text=True)
    assert stored(db, me.employee.id)["pain_checkins"] == 2

    done = browser.post("/me/privacy/erase", data={"confirm": "y"})
    assert done.status_code == 302
    assert stored(db, me.employee.id)["pain_checkins"] == 0
    assert stored(db, colleague.employee.id)["pain_checkins"] == 1


#: Tables that point at an account but hold nothing about an employee: provider staff's
#: attendance uploads, background imports and corrections, and an employer admin's previewed
#: employee file (their work, holding colleagues' records, not their own). Anything else
#: pointing at a person must be exported.
NOT_ABOUT_EMPLOYEES = {
    "attendance_uploads",
    "attendance_drafts",
    "attendance_changes",
    "employee_import_drafts",
    "attendance_imports",
}


def _tables(source) -> set[str]:
    """The tables a FROM item reads, looking inside joins."""
    if isinstance(source, Join):
        return _tables(source.left) | _tables(source.right)
    return {source.name}


def test_every_table_that_points_at_a_person_is_exported(db, me):
    exported = {
        name
        for _, query in personal_data.export_queries(me.employee)
        for source in query.get_final_froms()
        for name in _tables(source)
    }
    pointing = {
        table.name
        for table in db.metadata.sorted_tables
        for column in table.columns
        for key in column.foreign_keys
        if key.column.table.name in ("users", "employees")
    }
    assert pointing - NOT_ABOUT_EMPLOYEES <= exported, (
        "a new table refers to a person: add it to the export (and to erasure if it is health "
        "data) or explain here why it is not about the person"
    )
