"""Employee import from CSV/XLSX: the service, the admin's preview and confirmation, the CLI."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from wellness.audit.models import AuditEvent
from wellness.auth.models import Role, User
from wellness.tenants.employee_import import ImportReport, import_employees
from wellness.tenants.models import Department, Employee, EmployeeImportDraft, Employer, Site

GERMAN = (
    "Personalnummer;Vorname;Nachname;E-Mail;Abteilung;Standort;Eintrittsdatum\n"
    "1001;Jürgen;Müller;juergen.mueller@firma.test;Vertrieb;Köln;01.04.2019\n"
    "1002;Anna;Schäfer;anna.schaefer@firma.test;Vertrieb/Nord;Köln;2021-10-15\n"
    "1003;Özlem;Weiß;;Produktion;Köln;\n"
)
URL = "/admin/employees/import"


@pytest.fixture
def employer(make_employer: Callable[..., Employer], db: Any) -> Employer:
    employer = make_employer(slug="musterfirma")
    db.session.add(Site(employer_id=employer.id, name="Köln", city="Köln"))
    db.session.add(Department(employer_id=employer.id, name="Produktion"))
    db.session.commit()
    return employer


def _run(
    employer: Employer, data: bytes, *, dry_run: bool = False, filename: str = "staff.csv"
) -> ImportReport:
    return import_employees(
        employer,
        io.BytesIO(data),
        filename=filename,
        actor_id=None,
        dry_run=dry_run,
        today=date(2026, 12, 3),
    )


def _employees(db: Any, employer: Employer) -> dict[str, Employee]:
    rows = db.session.scalars(select(Employee).where(Employee.employer_id == employer.id))
    return {e.employee_number: e for e in rows}


def _count(db: Any, model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _snapshot(db: Any) -> tuple[int, ...]:
    return tuple(_count(db, m) for m in (Employee, User, Department, AuditEvent))


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the service -----------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_german_csv_in_utf8_creates_employees_accounts_and_new_departments(
    db: Any, employer: Employer
) -> None:
    report = _run(employer, GERMAN.encode("utf-8"))
    db.session.commit()

    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert report.new_departments == ["Vertrieb", "Vertrieb/Nord"]
    staff = _employees(db, employer)
    juergen = staff["1001"]
    assert juergen.user is not None
    assert (juergen.user.name, juergen.user.email) == (
        "Jürgen Müller",
        "juergen.mueller@firma.test",
    )
    assert juergen.user.role_names == {Role.EMPLOYEE}
    assert juergen.user.password_hash is None, "they set a password by reset or use SSO"
    assert juergen.hired_on == date(2019, 4, 1)
    assert juergen.site is not None
    assert juergen.site.name == "Köln"
    nord = staff["1002"].department
    assert nord is not None
    assert nord.name == "Nord"
    assert nord.parent is not None
    assert nord.parent.name == "Vertrieb"
    assert staff["1002"].hired_on == date(2021, 10, 15)
    assert staff["1003"].user is None, "no e-mail: a directory entry without an account"
    assert staff["1003"].department is not None
    assert staff["1003"].department.name == "Produktion"


def test_windows_1252_with_semicolons_and_utf8_bom_read_the_same(
    db: Any, employer: Employer
) -> None:
    report = _run(employer, GERMAN.encode("cp1252"))
    db.session.rollback()
    bom = _run(employer, b"\xef\xbb\xbf" + GERMAN.encode("utf-8"))
    db.session.commit()

    assert report.ok, report.errors
    assert bom.ok, bom.errors
    assert (report.created, bom.created) == (3, 3)
    user = _employees(db, employer)["1001"].user
    assert user is not None
    assert user.name == "Jürgen Müller"


def test_english_headers_with_commas_and_tabs(db: Any, employer: Employer) -> None:
    comma = (
        "Employee number,Name,Email,Department,Site,Hired on,Active\n"
        "E-1,Max Power,max@firma.test,Produktion,köln,2024-01-31,yes\n"
        "E-2,Eva Lu,eva@firma.test,,,,no\n"
    )
    report = _run(employer, comma.encode())
    db.session.rollback()
    tab = _run(employer, comma.replace(",", "\t").encode())
    db.session.commit()

    assert report.ok, report.errors
    assert tab.ok, tab.errors
    staff = _employees(db, employer)
    assert staff["E-1"].site is not None, "site names match case-insensitively"
    assert staff["E-1"].active
    assert not staff["E-2"].active
    assert staff["E-2"].user is not None
    assert not staff["E-2"].user.is_enabled


def test_xlsx_with_date_cells_and_numbers(db: Any, employer: Employer) -> None:
    data = _xlsx(
        [
            ["Personalnummer", "Name", "E-Mail", "Eintrittsdatum", "Gehalt"],
            [4711, "Karl Klammer", "karl@firma.test", date(2020, 2, 1), 4200.5],
        ]
    )

    report = _run(employer, data, filename="staff.xlsx")
    db.session.commit()

    assert report.ok, report.errors
    assert report.ignored_columns == ["Gehalt"], "other columns are named, never stored"
    karl = _employees(db, employer)["4711"]
    assert karl.hired_on == date(2020, 2, 1)


@pytest.mark.usefixtures("english")
def test_an_error_file_lists_every_problem_with_row_and_column_and_stores_nothing(
    db: Any, employer: Employer, make_employer: Callable[..., Employer], make_user: Any
) -> None:
    other = make_employer()
    make_user(Role.EMPLOYEE, employer=other, email="taken@other.test")
    before = _snapshot(db)
    data = (
        "Personalnummer;Name;E-Mail;Standort;Eintrittsdatum;Abteilung\n"
        "1;Max;max@;Köln;01.01.2020;\n"  # row 2
        "2;Eva;eva@firma.test;Hamburg;;\n"  # row 3
        "1;Max again;max2@firma.test;Köln;;\n"  # row 4
        ";Nobody;nobody@firma.test;;;\n"  # row 5
        "3;Tom;tom@firma.test;;31.02.2024;\n"  # row 6
        "4;Ute;taken@other.test;;;\n"  # row 7
        "5;;five@firma.test;;;\n"  # row 8
        "6;Udo;udo@firma.test;;;Produktion/Nord\n"  # row 9
        "7;Ida;udo@firma.test;;;\n"  # row 10
    ).encode()

    report = _run(employer, data)
    db.session.rollback()

    assert not report.ok
    found = {(e.row, e.column): e.message for e in report.errors}
    assert found[(2, "E-Mail")] == "'max@' is not an e-mail address."
    assert "There is no site 'Hamburg'. Known sites: Köln." in found[(3, "Standort")]
    assert "already in row 2" in found[(4, "Personalnummer")]
    assert found[(5, "Personalnummer")] == "The employee number is missing."
    assert "'31.02.2024' is not a date" in found[(6, "Eintrittsdatum")]
    assert "already used by another account" in found[(7, "E-Mail")]
    assert "other.test" not in found[(7, "E-Mail")].replace("taken@other.test", "")
    assert "name is missing" in found[(8, "Name")]
    assert (9, "Abteilung") not in found, "a new sub-department under an existing one is fine"
    assert "already in row 9" in found[(10, "E-Mail")]
    assert report.errors_total == len(report.errors) == 8
    assert [e.row for e in report.errors] == sorted(e.row or 0 for e in report.errors)
    assert _snapshot(db) == before


@pytest.mark.usefixtures("english")
def test_a_file_without_employee_numbers_is_refused_as_a_whole(db: Any, employer: Employer) -> None:
    report = _run(employer, b"Name;E-Mail\nMax;max@firma.test\n")

    assert [(e.row, e.column) for e in report.errors] == [(None, None)]
    assert "Personalnummer" in report.errors[0].message


def test_reimporting_the_same_file_changes_nothing(db: Any, employer: Employer) -> None:
    assert _run(employer, GERMAN.encode()).ok
    db.session.commit()
    before = _snapshot(db)

    again = _run(employer, GERMAN.encode())
    db.session.commit()

    assert again.ok, again.errors
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert again.new_departments == []
    assert _snapshot(db)[:3] == before[:3]


def test_a_changed_row_updates_only_that_employee_and_missing_ones_are_kept(
    db: Any, employer: Employer
) -> None:
    assert _run(employer, GERMAN.encode()).ok
    db.session.commit()
    changed = (
        "Personalnummer;Vorname;Nachname;E-Mail;Abteilung;Standort;Eintrittsdatum;Austrittsdatum\n"
        "1001;Jürgen;Müller-Lüdenscheidt;jm@firma.test;Produktion;Köln;01.04.2019;30.11.2026\n"
        "1002;Anna;Schäfer;anna.schaefer@firma.test;Vertrieb/Nord;Köln;2021-10-15;\n"
    )

    report = _run(employer, changed.encode())
    db.session.commit()

    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    (change,) = report.changes
    assert change.number == "1001"
    assert {f.field: (f.old, f.new) for f in change.fields} == {
        "name": ("Jürgen Müller", "Jürgen Müller-Lüdenscheidt"),
        "email": ("juergen.mueller@firma.test", "jm@firma.test"),
        "department": ("Vertrieb", "Produktion"),
        "active": ("yes", "no"),
    }
    staff = _employees(db, employer)
    assert staff["1001"].user is not None
    assert staff["1001"].user.email == "jm@firma.test"
    assert not staff["1001"].active
    assert not staff["1001"].user.is_enabled
    assert staff["1003"].active, "missing from the file: kept as it was"


def test_dry_run_stores_nothing(db: Any, employer: Employer) -> None:
    before = _snapshot(db)

    report = _run(employer, GERMAN.encode(), dry_run=True)
    db.session.rollback()

    assert report.ok
    assert report.created == 3
    assert _snapshot(db) == before


def test_other_employers_employee_numbers_are_not_ours(
    db: Any, employer: Employer, make_employer: Callable[..., Employer]
) -> None:
    other = make_employer()
    db.session.add(Site(employer_id=other.id, name="Köln", city="Köln"))
    db.session.commit()
    assert _run(other, GERMAN.replace("@firma", "@other").encode()).ok
    db.session.commit()

    report = _run(employer, GERMAN.encode())
    db.session.commit()

    assert (report.created, report.updated) == (3, 0)
    assert _employees(db, other)["1001"].user.email == "juergen.mueller@other.test"  # type: ignore[union-attr]


# --- the admin's pages -----------------------------------------------------------------------


@pytest.fixture
def admin(make_user: Any, employer: Employer) -> User:
    return make_user(Role.ADMIN, employer=employer, locale="en")  # type: ignore[no-any-return]


def _preview(client: FlaskClient, data: bytes, filename: str = "staff.csv") -> Any:
    return client.post(URL, data={"step": "preview", "file": (io.BytesIO(data), filename)})


def _token(html: str) -> str:
    return html.split('name="token" value="')[1].split('"')[0]


def test_preview_stores_nothing_and_confirm_stores_what_it_showed(
    app: Flask, db: Any, employer: Employer, admin: User, login: Any
) -> None:
    client = login(app.test_client(), admin)
    listing = client.get("/admin/employees").get_data(as_text=True)
    assert URL in listing, "the employees page links the import"
    assert client.get(URL).status_code == 200
    before = _snapshot(db)

    preview = _preview(client, GERMAN.encode("cp1252"))

    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Jürgen Müller" in html
    assert "Vertrieb/Nord" in html
    assert "never deleted" in html
    assert _snapshot(db) == before, "the preview stores no employee"
    assert _count(db, EmployeeImportDraft) == 1

    done = client.post(URL, data={"step": "confirm", "token": _token(html)})

    assert done.status_code == 302
    assert set(_employees(db, employer)) >= {"1001", "1002", "1003"}
    assert _count(db, EmployeeImportDraft) == 0
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "3 created, 0 updated, 0 unchanged" in page
    again = client.post(URL, data={"step": "confirm", "token": _token(html)})
    assert again.status_code == 302
    assert "expired" in client.get(URL).get_data(as_text=True)


def test_confirm_refuses_when_the_employees_changed_since_the_preview(
    app: Flask, db: Any, employer: Employer, admin: User, login: Any
) -> None:
    client = login(app.test_client(), admin)
    token = _token(_preview(client, GERMAN.encode()).get_data(as_text=True))
    db.session.add(Employee(employer_id=employer.id, employee_number="1001"))
    db.session.commit()
    before = _snapshot(db)

    response = client.post(URL, data={"step": "confirm", "token": token})

    assert response.status_code == 409
    assert "changed since your preview" in response.get_data(as_text=True)
    assert _snapshot(db) == before
    second = client.post(URL, data={"step": "confirm", "token": token})
    assert second.status_code == 302, "confirming the new preview applies it"
    assert (
        _count(db, Employee) == before[0] + 2  # 1002 and 1003 are new; 1001 was updated
    )


def test_error_preview_lists_problems_escaped_and_keeps_no_draft(
    app: Flask, db: Any, employer: Employer, admin: User, login: Any
) -> None:
    client = login(app.test_client(), admin)
    data = b"Personalnummer;Name;E-Mail\n1;<script>x</script>;max@\n2;Eva;eva@\n"

    response = _preview(client, data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<script>x</script>" not in html
    assert "&#39;max@&#39; is not an e-mail address." in html
    assert "&#39;eva@&#39; is not an e-mail address." in html
    assert _count(db, EmployeeImportDraft) == 0


def test_admin_of_another_employer_cannot_confirm_or_see_the_import(
    app: Flask,
    db: Any,
    employer: Employer,
    admin: User,
    login: Any,
    make_employer: Callable[..., Employer],
    make_user: Any,
) -> None:
    owner = login(app.test_client(), admin)
    token = _token(_preview(owner, GERMAN.encode()).get_data(as_text=True))
    other = make_employer()
    intruder = login(app.test_client(), make_user(Role.ADMIN, employer=other, locale="en"))
    before = _snapshot(db)

    confirm = intruder.post(URL, data={"step": "confirm", "token": token})
    page = intruder.get(URL).get_data(as_text=True)

    assert confirm.status_code == 302
    assert "expired" in page, "another employer's token finds nothing"
    assert "Jürgen" not in page
    assert _snapshot(db) == before
    assert "1001" not in _employees(db, other)
    assert "1001" not in _employees(db, employer)
    assert _count(db, EmployeeImportDraft) == 1, "the owner's draft is untouched"


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.HR])
def test_non_admins_are_refused(
    app: Flask, db: Any, employer: Employer, login: Any, make_user: Any, role: Role
) -> None:
    client = login(app.test_client(), make_user(role, employer=employer))

    assert client.get(URL).status_code == 403
    assert _preview(client, GERMAN.encode()).status_code == 403
    assert _count(db, EmployeeImportDraft) == 0


def test_anonymous_is_sent_to_login(app: Flask, employer: Employer) -> None:
    response = app.test_client().get(URL)

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- the command line ------------------------------------------------------------------------


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_imports_and_reports_counts(
    app: Flask, db: Any, employer: Employer, tmp_path: Path
) -> None:
    file = tmp_path / "staff.csv"
    file.write_bytes(GERMAN.encode("cp1252"))

    dry = _cli(app, "import-employees", str(file), "--employer", "musterfirma", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 created, 0 updated, 0 unchanged" in dry.output
    assert _count(db, Employee) == 0
    done = _cli(app, "import-employees", str(file), "--employer", "musterfirma")
    again = _cli(app, "import-employees", str(file), "--employer", "musterfirma")

    assert done.exit_code == 0, done.output
    assert "New department: Vertrieb/Nord" in done.output
    assert "Imported 3 rows: 3 created" in done.output
    assert again.exit_code == 0
    assert "0 created, 0 updated, 3 unchanged" in again.output
    assert _count(db, Employee) == 3


def test_cli_prints_every_error_and_exits_1(
    app: Flask, db: Any, employer: Employer, tmp_path: Path
) -> None:
    file = tmp_path / "staff.csv"
    file.write_bytes(b"Personalnummer;E-Mail;Name\n7;max@;Max\n7;eva@firma.test;Eva\n")

    result = _cli(app, "import-employees", str(file), "--employer", "musterfirma")
    unknown = _cli(app, "import-employees", str(file), "--employer", "nope")

    assert result.exit_code == 1
    assert "Row 2, E-Mail: " in result.stderr
    assert "max@" in result.stderr
    assert "Row 3, Personalnummer: " in result.stderr
    assert "is not an e-mail address" in result.stderr  # the command line speaks English
    assert "2 " in result.stderr.splitlines()[-1]
    assert _count(db, Employee) == 0
    assert unknown.exit_code == 1
    assert "nope" in unknown.stderr


def test_an_admin_cannot_deactivate_their_own_account_by_import(
    app: Flask, db: Any, employer: Employer, admin: User, login: Any
) -> None:
    client = login(app.test_client(), admin)
    assert admin.employee is not None
    data = f"Personalnummer;Aktiv\n{admin.employee.employee_number};nein\n".encode()

    response = _preview(client, data)

    assert response.status_code == 422
    assert "deactivate your own account" in response.get_data(as_text=True)
    assert db.session.get(Employee, admin.employee.id).active


def test_an_account_of_the_same_employer_without_employee_record_is_linked(
    db: Any, employer: Employer
) -> None:
    from wellness.auth.services import NewUser, create_user

    hr = create_user(
        NewUser(email="hr@firma.test", name="Hanna Hr", roles=(Role.HR,), employer_id=employer.id)
    )
    db.session.commit()

    report = _run(employer, b"Personalnummer;Name;E-Mail\n900;Hanna Hr;HR@firma.test\n")
    db.session.commit()

    assert report.ok, report.errors
    employee = _employees(db, employer)["900"]
    assert employee.user_id == hr.id
    assert hr.role_names == {Role.HR, Role.EMPLOYEE}
    assert _count(db, User) == 1


def test_a_leaving_date_deactivates_like_scim_and_cancels_open_enrollments(
    db: Any, employer: Employer, make_user: Any, make_offering: Any
) -> None:
    from wellness.courses import enrollment
    from wellness.courses.models import Enrollment, EnrollmentStatus

    person = make_user(Role.EMPLOYEE, employer=employer)
    number = person.employee.employee_number
    offering = make_offering(employer)
    enrollment.enroll(person.employee, offering.id)
    db.session.commit()

    report = _run(employer, f"Personalnummer;Austrittsdatum\n{number};30.11.2026\n".encode())
    db.session.commit()

    assert report.ok, report.errors
    assert report.updated == 1
    assert not person.employee.active
    assert not person.is_enabled
    status = db.session.scalar(
        select(Enrollment.status).where(Enrollment.employee_id == person.employee.id)
    )
    assert status == EnrollmentStatus.CANCELLED.value
    back = _run(employer, f"Personalnummer;Aktiv\n{number};ja\n".encode())
    db.session.commit()
    assert back.updated == 1
    assert person.is_enabled, "reactivating restores access"


def test_the_page_and_preview_render_for_a_german_admin(
    app: Flask, employer: Employer, login: Any, make_user: Any
) -> None:
    client = login(app.test_client(), make_user(Role.ADMIN, employer=employer))

    assert client.get(URL).status_code == 200
    preview = _preview(client, GERMAN.encode("cp1252"))
    assert preview.status_code == 200
    assert "01.04.2019" in preview.get_data(as_text=True), "dates in the German format"
