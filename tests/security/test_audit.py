"""The audit log is append-only through the ORM and exportable by the employer admin."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, select, update

from wellness.audit.append_only import AuditLogIsAppendOnly
from wellness.audit.models import AuditEvent
from wellness.audit.services import record
from wellness.auth.models import Role


def _event(db, **fields) -> AuditEvent:
    event = record("admin.settings_changed", **fields)
    db.session.commit()
    return event


def test_a_loaded_event_cannot_be_changed_or_deleted(db, make_employer) -> None:
    event = _event(db, employer_id=make_employer().id, details={"field": "k_health"})
    event.action = "admin.nothing_happened"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "admin.settings_changed"


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).values(action="auth.login"),
        update(AuditEvent).values(actor_id=None, details=None),
        delete(AuditEvent),
    ],
    ids=["update", "update-beyond-the-actor", "delete"],
)
def test_bulk_statements_cannot_rewrite_history(db, make_employer, statement) -> None:
    _event(db, employer_id=make_employer().id)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(statement)
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action)) == "admin.settings_changed"


def test_gdpr_erasure_may_still_forget_who_acted(db, make_employer, make_user) -> None:
    employer = make_employer()
    person = make_user(employer=employer)
    event = _event(db, employer_id=employer.id, actor_id=person.id)
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == event.id)
        .values(actor_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).actor_id is None


def _rows(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_admin_downloads_the_own_employers_log_and_the_download_is_logged(
    client, db, make_employer, make_user, login
) -> None:
    mine, other = make_employer(), make_employer()
    admin = make_user(Role.ADMIN, employer=mine)
    _event(db, employer_id=mine.id, target_type="setting", details={"name": "=HYPERLINK(1)"})
    _event(db, employer_id=other.id, target_type="secret-of-other")
    login(client, admin)

    page = client.get("/admin/audit").get_data(as_text=True)
    assert 'href="/admin/audit.csv"' in page
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = _rows(response)
    body = response.get_data(as_text=True)
    assert "secret-of-other" not in body
    assert any(row[3] == "admin.settings_changed" for row in rows[1:])
    assert any(row[3] == "auth.login" for row in rows[1:])  # the admin's own sign-in
    # Every cell that a spreadsheet would run as a formula is neutralized.
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    exported = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.exported")
    ).all()
    assert [(e.actor_id, e.employer_id) for e in exported] == [(admin.id, mine.id)]


def test_admin_of_employer_b_gets_none_of_employer_as_events(
    client, db, make_employer, make_user, login
) -> None:
    a, b = make_employer(), make_employer()
    make_user(Role.ADMIN, employer=a)
    _event(db, employer_id=a.id, target_type="only-for-a")
    login(client, make_user(Role.ADMIN, employer=b))
    body = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "only-for-a" not in body
    assert (
        db.session.scalar(
            select(AuditEvent.employer_id).where(AuditEvent.action == "audit.exported")
        )
        == b.id
    )


@pytest.mark.parametrize("role", [Role.HR, Role.EMPLOYEE])
def test_only_the_employer_admin_may_export(client, make_employer, make_user, login, role):
    login(client, make_user(role, employer=make_employer()))
    response = client.get("/admin/audit.csv")
    assert response.status_code in (302, 403)
    assert "text/csv" not in response.headers.get("Content-Type", "")


def test_anonymous_export_is_refused(client) -> None:
    response = client.get("/admin/audit.csv")
    assert response.status_code in (302, 401)
