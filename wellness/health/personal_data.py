"""The person's GDPR rights, self-served: export everything (Art. 15, 20), erase health data
(Art. 17).

Export: every row about the person, one JSON and one CSV file per table, in a ZIP with a
README. Rows are dumped column by column from the tables, so a column added later is exported
without anyone remembering to; only secrets are left out (see ``data/export-readme.txt``).

Erasure deletes the health data at once and keeps what others need, without the person:

* pain check-ins with their scores, checklist responses with their answers and training logs
  with their exercises are deleted;
* workplace measures stay, because they are the employer's risk-assessment documentation
  (ArbSchG §§ 5, 6: what was done, about which checklist item, when, at what cost), but lose
  the link to the person, their note and a title in their own words (see ``ANONYMOUS_MEASURE``);
* enrollments of finished courses in past budget years, with their payments, attendance and
  certificates, move to a new pseudonymous employee record (no account, number, external id,
  department or site), so the employer's and provider's accounting still adds up but the
  course history no longer names the person. Enrollments of running or future courses and of
  the current budget year stay with the person: they are needed to attend, and moving them
  would free the yearly tax-free budget (§3 Nr. 34 EStG) a second time;
* consents stay: they are the proof of what the person agreed to, and the person's choice for
  data they record from now on.

Both rights are audit-logged with counts only and without the employer, so the employer's
audit log cannot tell who used a health tool.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.elements import KeyedColumnElement

from wellness.attendance.models import Attendance, Certificate
from wellness.audit.models import AuditEvent
from wellness.audit.services import record
from wellness.auth.models import ApiToken, User, UserRole
from wellness.courses.models import Course, CourseSession, Enrollment, Offering, Provider
from wellness.db import Base, utcnow
from wellness.extensions import db
from wellness.health import pain_months
from wellness.health.consent import text_version
from wellness.health.measures import MEASURE_KINDS, OTHER_KIND, REQUESTED_ACTION
from wellness.health.measures import TARGET_TYPE as MEASURE_TARGET
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
    PainCheckin,
    PainMonth,
    PainScore,
)
from wellness.i18n import local_today
from wellness.notifications.models import OutboundMail
from wellness.spreadsheet import Cell, csv_bytes
from wellness.tenants.models import Department, Employee, Site

README_FILE = Path(__file__).resolve().parent / "data" / "export-readme.txt"

#: What a measure loses when its person erases their data or it expires: the person, their note,
#: and a title in their own words (it may say why they need it); a kind such as ``footrest``
#: stays, because the risk assessment must show what was done.
ANONYMOUS_MEASURE: dict[str, Any] = {
    "employee_id": None,
    "note": None,
    "title": case(
        (ErgonomicMeasure.title.in_(list(MEASURE_KINDS)), ErgonomicMeasure.title),
        else_=OTHER_KIND,
    ),
}

#: Secrets that stay out of the export even though they belong to the person.
SECRET_COLUMNS: dict[type[Base], frozenset[str]] = {
    User: frozenset({"password_hash"}),
    ApiToken: frozenset({"token_hash"}),
    Employee: frozenset({"calendar_token"}),
}


# --- Export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportTable:
    name: str
    #: Column names, so an empty table still gets a CSV header.
    columns: list[str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class PersonalDataExport:
    filename: str
    content: bytes
    tables: list[ExportTable]

    @property
    def row_counts(self) -> dict[str, int]:
        return {table.name: len(table.rows) for table in self.tables}


def _columns(model: type[Base]) -> list[KeyedColumnElement[Any]]:
    """Every stored column of ``model`` except its secrets."""
    hidden = SECRET_COLUMNS.get(model, frozenset())
    return [c for c in model.__table__.columns if c.name not in hidden]


def export_queries(employee: Employee) -> list[tuple[str, Select[Any]]]:
    """One query per exported table, all restricted to this person (account and record)."""
    user_id = employee.user_id
    health = HealthRows.of(employee)
    checkins = select(PainCheckin.id).where(health.checkins)
    responses = select(ChecklistResponse.id).where(health.responses)
    logs = select(ExerciseLog.id).where(health.logs)
    enrollments = select(Enrollment.id).where(Enrollment.employee_id == employee.id)
    return [
        ("account", select(*_columns(User)).where(User.id == user_id)),
        ("roles", select(*_columns(UserRole)).where(UserRole.user_id == user_id)),
        ("api_tokens", select(*_columns(ApiToken)).where(ApiToken.user_id == user_id)),
        (
            "employee",
            select(
                *_columns(Employee),
                Department.name.label("department_name"),
                Site.name.label("site_name"),
            )
            .outerjoin(Department, Department.id == Employee.department_id)
            .outerjoin(Site, Site.id == Employee.site_id)
            .where(Employee.id == employee.id),
        ),
        ("consents", select(*_columns(Consent)).where(Consent.employee_id == employee.id)),
        ("pain_checkins", select(*_columns(PainCheckin)).where(PainCheckin.id.in_(checkins))),
        ("pain_scores", select(*_columns(PainScore)).where(PainScore.checkin_id.in_(checkins))),
        ("pain_months", select(*_columns(PainMonth)).where(PainMonth.employee_id == employee.id)),
        (
            "checklist_responses",
            select(
                *_columns(ChecklistResponse),
                ChecklistTemplate.key.label("template_key"),
                ChecklistTemplate.version.label("template_version"),
                ChecklistTemplate.title_de.label("template_title_de"),
                ChecklistTemplate.title_en.label("template_title_en"),
            )
            .join(ChecklistTemplate, ChecklistTemplate.id == ChecklistResponse.template_id)
            .where(ChecklistResponse.id.in_(responses)),
        ),
        (
            "checklist_answers",
            select(
                *_columns(ChecklistAnswer),
                ChecklistItem.key.label("item_key"),
                ChecklistItem.area.label("item_area"),
                ChecklistItem.question_de.label("question_de"),
                ChecklistItem.question_en.label("question_en"),
                ChecklistItem.unit.label("unit"),
            )
            .join(ChecklistItem, ChecklistItem.id == ChecklistAnswer.item_id)
            .where(ChecklistAnswer.response_id.in_(responses)),
        ),
        (
            "ergonomic_measures",
            select(*_columns(ErgonomicMeasure)).where(health.measures),
        ),
        ("exercise_logs", select(*_columns(ExerciseLog)).where(ExerciseLog.id.in_(logs))),
        (
            "exercise_entries",
            select(*_columns(ExerciseEntry)).where(ExerciseEntry.log_id.in_(logs)),
        ),
        (
            "enrollments",
            select(
                *_columns(Enrollment),
                Course.title.label("course_title"),
                Course.zpp_course_id.label("zpp_course_id"),
                Provider.name.label("provider_name"),
                Offering.starts_on.label("offering_starts_on"),
                Offering.ends_on.label("offering_ends_on"),
                Offering.price_cents.label("offering_price_cents"),
            )
            .join(Offering, Offering.id == Enrollment.offering_id)
            .join(Course, Course.id == Offering.course_id)
            .join(Provider, Provider.id == Course.provider_id)
            .where(Enrollment.id.in_(enrollments)),
        ),
        (
            "attendance",
            select(
                *_columns(Attendance),
                CourseSession.starts_at.label("session_starts_at"),
                CourseSession.ends_at.label("session_ends_at"),
            )
            .join(CourseSession, CourseSession.id == Attendance.session_id)
            .where(Attendance.enrollment_id.in_(enrollments)),
        ),
        (
            "certificates",
            select(*_columns(Certificate)).where(Certificate.enrollment_id.in_(enrollments)),
        ),
        ("mails", select(*_columns(OutboundMail)).where(OutboundMail.user_id == user_id)),
        ("audit_events", select(*_columns(AuditEvent)).where(AuditEvent.actor_id == user_id)),
    ]


def _plain(value: Any) -> Any:
    """A JSON-ready value: timestamps and dates as ISO 8601, everything else as stored."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


CONSENT_TEXT_COLUMNS = ["purpose", "version", "published_on", "language", "title", "text"]


def _consent_texts(consents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exact texts the person agreed to, one row per version and language."""
    rows = []
    for purpose, version in sorted({(c["purpose"], c["text_version"]) for c in consents}):
        text = text_version(ConsentPurpose(purpose), version)
        if text is None:
            continue
        for language in sorted(text.titles):
            values = (
                purpose,
                version,
                text.published_on.isoformat(),
                language,
                text.title(language),
                "\n\n".join(text.paragraphs(language)),
            )
            rows.append(dict(zip(CONSENT_TEXT_COLUMNS, values, strict=True)))
    return rows


def collect_personal_data(employee: Employee) -> list[ExportTable]:
    """Every row about the person, table by table, with JSON-ready values."""
    tables = []
    for name, statement in export_queries(employee):
        order = statement.selected_columns[0]  # the table's primary key comes first
        result = db.session.execute(statement.order_by(order)).mappings()
        rows = [{key: _plain(value) for key, value in row.items()} for row in result]
        tables.append(ExportTable(name, list(result.keys()), rows))
        if name == "consents":
            tables.append(ExportTable("consent_texts", CONSENT_TEXT_COLUMNS, _consent_texts(rows)))
    return tables


def _csv_cell(value: Any) -> Cell:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # type: ignore[no-any-return]


def _csv(table: ExportTable) -> bytes:
    rows: list[list[Cell]] = [list(table.columns)]
    rows.extend([_csv_cell(row[key]) for key in table.columns] for row in table.rows)
    return csv_bytes(rows, delimiter=",")


def _readme(tables: Iterable[ExportTable], now: datetime) -> str:
    files = "\n".join(f"  {table.name:<22}{len(table.rows):>6}" for table in tables)
    return README_FILE.read_text(encoding="utf-8").format(
        created=now.isoformat(timespec="seconds"), files=files
    )


def _zip(tables: list[ExportTable], now: datetime) -> bytes:
    folder = f"wellness-data-{now.date().isoformat()}"
    stamp = now.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add(path: str, content: bytes) -> None:
            info = zipfile.ZipInfo(f"{folder}/{path}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)

        add("README.txt", _readme(tables, now).encode("utf-8"))
        for table in tables:
            body = json.dumps(table.rows, ensure_ascii=False, indent=2)
            add(f"json/{table.name}.json", body.encode("utf-8"))
            add(f"csv/{table.name}.csv", _csv(table))
    return buffer.getvalue()


def export_personal_data(employee: Employee, *, now: datetime | None = None) -> PersonalDataExport:
    """The ZIP of everything about the person; audit-logged with counts, never content."""
    now = now or utcnow()
    tables = collect_personal_data(employee)
    export = PersonalDataExport(
        filename=f"wellness-my-data-{local_today(now).isoformat()}.zip",
        content=_zip(tables, now),
        tables=tables,
    )
    record(
        "privacy.data_exported",
        actor_id=employee.user_id,
        target_type="employee",
        target_id=employee.id,
        details={"tables": len(tables), "rows": sum(export.row_counts.values())},
    )
    return export


# --- Erasure (and the retention job, which deletes the same rows by age) --------------------


@dataclass(frozen=True)
class HealthDataCounts:
    """Rows deleted per table, and measures that lost their link to the person."""

    pain_checkins: int = 0
    pain_scores: int = 0
    checklist_responses: int = 0
    checklist_answers: int = 0
    exercise_logs: int = 0
    exercise_entries: int = 0
    measures_anonymized: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())


def _affected(statement: Any) -> int:
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        statement.execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class HealthRows:
    """Which health data an operation touches: one condition per kind of entry (the entries'
    details, such as pain scores per region, follow their entry)."""

    checkins: ColumnElement[bool]
    responses: ColumnElement[bool]
    logs: ColumnElement[bool]
    measures: ColumnElement[bool]
    #: Whose pain rollup (:mod:`wellness.health.pain_months`) to recompute afterwards: ids or
    #: a select of ids, for the months up to ``pain_until``'s (all months when None).
    pain_people: Any
    pain_until: date | None = None

    @classmethod
    def of(cls, employee: Employee) -> HealthRows:
        return cls(
            checkins=PainCheckin.employee_id == employee.id,
            responses=ChecklistResponse.employee_id == employee.id,
            logs=ExerciseLog.employee_id == employee.id,
            measures=ErgonomicMeasure.employee_id == employee.id,
            pain_people=[employee.id],
        )

    def targets(self) -> list[tuple[str, type[Base], ColumnElement[bool]]]:
        """(count name, table, condition), children before their parents."""
        checkins = select(PainCheckin.id).where(self.checkins)
        responses = select(ChecklistResponse.id).where(self.responses)
        logs = select(ExerciseLog.id).where(self.logs)
        return [
            ("pain_scores", PainScore, PainScore.checkin_id.in_(checkins)),
            ("pain_checkins", PainCheckin, self.checkins),
            ("checklist_answers", ChecklistAnswer, ChecklistAnswer.response_id.in_(responses)),
            ("checklist_responses", ChecklistResponse, self.responses),
            ("exercise_entries", ExerciseEntry, ExerciseEntry.log_id.in_(logs)),
            ("exercise_logs", ExerciseLog, self.logs),
            (
                "measures_anonymized",
                ErgonomicMeasure,
                and_(self.measures, ErgonomicMeasure.employee_id.is_not(None)),
            ),
        ]


def delete_health_data(rows: HealthRows) -> HealthDataCounts:
    """Delete the matching health data (children first, so the counts are exact and no
    database cascade is relied on); measures are kept but lose the person and the note."""
    counts = {}
    for name, model, condition in rows.targets():
        if model is ErgonomicMeasure:
            _forget_requester(condition)
            statement: Any = update(model).where(condition).values(**ANONYMOUS_MEASURE)
        else:
            statement = delete(model).where(condition)
        counts[name] = _affected(statement)
    pain_months.refresh(db.session.connection(), rows.pain_people, None, rows.pain_until)
    return HealthDataCounts(**counts)


def _forget_requester(measures: Any) -> None:
    """The audit log names who requested a measure (and the admin's measure history reads it
    from there): unlinking the measure alone would leave the person identifiable."""
    db.session.execute(
        update(AuditEvent)
        .where(
            AuditEvent.action == REQUESTED_ACTION,
            AuditEvent.target_type == MEASURE_TARGET,
            AuditEvent.target_id.in_(select(cast(ErgonomicMeasure.id, String)).where(measures)),
        )
        .values(actor_id=None)
        .execution_options(synchronize_session=False)
    )


def count_health_data(rows: HealthRows) -> HealthDataCounts:
    """What :func:`delete_health_data` would touch, for the confirmation page."""
    return HealthDataCounts(
        **{
            name: int(db.session.scalar(select(func.count()).select_from(model).where(cond)) or 0)
            for name, model, cond in rows.targets()
        }
    )


@dataclass(frozen=True)
class Erasure:
    health: HealthDataCounts
    #: Enrollments of finished courses in past budget years moved to a pseudonymous record.
    enrollments_pseudonymized: int


def _pseudonymize_closed_enrollments(employee: Employee, now: datetime) -> int:
    today = local_today(now)
    closed = list(
        db.session.scalars(
            select(Enrollment.id)
            .join(Offering, Offering.id == Enrollment.offering_id)
            .where(
                Enrollment.employee_id == employee.id,
                Enrollment.budget_year < today.year,
                Offering.ends_on < today,
            )
        )
    )
    if not closed:
        return 0
    # A fresh record per erasure: two erasures of one person are not linked to each other.
    pseudonym = Employee(employer_id=employee.employer_id, active=False, pseudonymized_at=now)
    db.session.add(pseudonym)
    db.session.flush()
    return _affected(
        update(Enrollment).where(Enrollment.id.in_(closed)).values(employee_id=pseudonym.id)
    )


def erase_health_data(employee: Employee, *, now: datetime | None = None) -> Erasure:
    """Art. 17 for health data, at once; see the module docstring for what is kept and why."""
    now = now or utcnow()
    health = delete_health_data(HealthRows.of(employee))
    erasure = Erasure(
        health=health, enrollments_pseudonymized=_pseudonymize_closed_enrollments(employee, now)
    )
    record(
        "privacy.health_data_erased",
        actor_id=employee.user_id,
        target_type="employee",
        target_id=employee.id,
        details={
            **health.as_dict(),
            "enrollments_pseudonymized": erasure.enrollments_pseudonymized,
        },
    )
    return erasure
