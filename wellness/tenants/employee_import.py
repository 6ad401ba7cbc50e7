"""Employee import from CSV/XLSX for employers without SCIM: check a file, then store it all or
nothing.

Files come from German HR systems as they export them: UTF-8 or Windows-1252, ``;`` ``,`` or tab,
or XLSX, with German or English headers (:mod:`wellness.tabular` reads them). The employee number
(Personalnummer) is the key: a number we know updates that employee, a new one creates an
employee, and an unchanged row changes nothing, so importing the same file twice is harmless.
Employees missing from the file are never deleted or deactivated: an export of one department
must not end everybody else's access.

Rules a file is held to, all reported at once with row, column and reason:
- only the columns a file has are compared; an empty department, site or hiring date clears it,
  an empty name or e-mail keeps the stored one (an import never removes an account);
- the e-mail (with a name) gives the employee an account to sign in with (password reset or
  SSO); rows without e-mail create a directory entry without an account, and then no name is
  stored (the name lives on the account);
- departments are matched by name (names are unique per employer). A department we do not know
  yet is created on import and listed in the preview; "Vertrieb/Nord" names its parent, so a new
  department lands in the right place of the tree. Sites are never created: a site needs a city,
  and a typo in a site name would silently split a location's figures, so an unknown site is an
  error that lists the known ones;
- "Aktiv"/"active" (ja/nein) or an "Austrittsdatum" on or before today deactivate an employee
  as SCIM does: the account is disabled and open enrollments are cancelled; the row stays for
  accounting and aggregate history.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wellness.audit.services import record
from wellness.auth.models import Role, User, UserRole
from wellness.drafts import DraftStore
from wellness.extensions import db
from wellness.i18n import BERLIN
from wellness.tabular import (
    EMAIL_HEADERS,
    FileRefused,
    RowErrors,
    Table,
    Wording,
    column_roles,
    data_rows,
    normalize,
    parse_day,
    read_table,
)
from wellness.tenants import leavers
from wellness.tenants.models import Department, Employee, EmployeeImportDraft, Employer, Site

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
#: Rows listed in a preview; the counts are always complete.
MAX_LISTED_CHANGES = 500

HEADERS: dict[str, frozenset[str]] = {
    "number": frozenset(
        {
            "personalnummer",
            "personal-nr.",
            "personal-nr",
            "personalnr",
            "personalnr.",
            "pers.-nr.",
            "pers.-nr",
            "pers.nr.",
            "persnr",
            "mitarbeiternummer",
            "mitarbeiter-nr.",
            "employee number",
            "employee no",
            "employee no.",
            "employee id",
            "employeenumber",
            "personnel number",
            "staff number",
        }
    ),
    "first_name": frozenset({"vorname", "first name", "firstname", "given name"}),
    "last_name": frozenset(
        {"nachname", "familienname", "last name", "lastname", "surname", "family name"}
    ),
    "name": frozenset({"name", "full name", "vollständiger name", "mitarbeiter"}),
    "email": EMAIL_HEADERS | {"dienstliche e-mail", "work email", "work e-mail"},
    "department": frozenset(
        {"abteilung", "department", "bereich", "organisationseinheit", "org-einheit", "team"}
    ),
    "site": frozenset({"standort", "site", "location", "arbeitsort", "niederlassung", "werk"}),
    "hired_on": frozenset(
        {"eintrittsdatum", "eintritt", "hired on", "hire date", "date of hire", "start date"}
    ),
    "left_on": frozenset(
        {"austrittsdatum", "austritt", "left on", "leaving date", "exit date", "end date"}
    ),
    "active": frozenset({"aktiv", "active", "status"}),
}

_YES = frozenset({"ja", "yes", "j", "y", "1", "x", "true", "wahr", "aktiv", "active"})
_NO = frozenset({"nein", "no", "n", "0", "false", "falsch", "inaktiv", "inactive", "ausgetreten"})
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]{2,}$")
_EMAIL_CHUNK = 500

EMPLOYEE_WORDING = Wording(
    wrong_kind=lambda kind: _(
        "This is a %(kind)s file, not a spreadsheet. Please upload the employee list as CSV or "
        "XLSX (Excel: File > Save as).",
        kind=kind,
    ),
    not_a_workbook=lambda: _(
        "This zip file is not an Excel workbook (XLSX). Please upload the employee list as CSV "
        "or XLSX."
    ),
    too_many_sheets=lambda count, limit: _(
        "The workbook has %(count)d sheets; put the employees on the first sheet of a workbook "
        "with at most %(limit)d sheets.",
        count=count,
        limit=limit,
    ),
    expands=lambda: _(
        "The Excel file expands to far more data than an employee list holds and is refused. "
        "Please save the employee list alone as a new workbook or as CSV."
    ),
)

drafts = DraftStore(EmployeeImportDraft)

#: A row's cell for a column role (``None`` when the file lacks the column).
_Cell = Callable[[str], "str | None"]
#: Report a problem of this row in a role's column.
_Fail = Callable[[str, str], None]


@dataclass(frozen=True)
class FieldChange:
    field: str  # "name", "email", "department", "site", "hired_on", "active"
    old: str
    new: str


@dataclass(frozen=True)
class RowChange:
    """What one row does to one employee, for the preview."""

    row: int
    number: str
    created: bool
    fields: tuple[FieldChange, ...]


@dataclass
class ImportReport(RowErrors):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[RowChange] = field(default_factory=list)
    #: Departments the import creates, as paths ("Vertrieb/Nord").
    new_departments: list[str] = field(default_factory=list)
    #: Columns the file has that we do not read (salary, birthday, ...): never stored.
    ignored_columns: list[str] = field(default_factory=list)
    #: Fingerprint of every change; the confirmation must find the same.
    plan: str = ""
    dry_run: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "new_departments": self.new_departments,
            "errors": [error.as_json() for error in self.errors],
            "errors_total": self.errors_total,
            "dry_run": self.dry_run,
        }


@dataclass
class _Row:
    """What one row says; ``None`` means "not given, keep what is stored"."""

    row: int
    number: str
    name: str | None = None
    email: str | None = None
    #: Department name (existing or new); "" clears it.
    department: str | None = None
    site_id: int | None = None
    clear_site: bool = False
    hired_on: date | None = None
    clear_hired_on: bool = False
    active: bool | None = None


@dataclass
class _Known:
    """The employer as a file is checked against, loaded once."""

    employer: Employer
    today: date
    by_number: dict[str, Employee] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)  # casefolded name
    sites: dict[str, Site] = field(default_factory=dict)  # casefolded name
    #: New departments: casefolded name -> (name as written, parent name or None, first row).
    new_departments: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, employer: Employer, today: date) -> _Known:
        known = cls(employer, today)
        for employee in db.session.scalars(
            select(Employee).where(
                Employee.employer_id == employer.id, Employee.employee_number.is_not(None)
            )
        ):
            known.by_number[employee.employee_number or ""] = employee
        departments = db.session.scalars(
            select(Department).where(Department.employer_id == employer.id)
        ).all()
        known.departments = {d.name.casefold(): d for d in departments}
        sites = db.session.scalars(select(Site).where(Site.employer_id == employer.id)).all()
        known.sites = {s.name.casefold(): s for s in sites}
        return known


def import_employees(
    employer: Employer,
    stream: IO[bytes],
    *,
    filename: str,
    actor_id: int | None,
    dry_run: bool,
    today: date | None = None,
) -> ImportReport:
    """Check the file and, unless ``dry_run`` or anything is wrong, store every row of it.

    Never commits; the caller commits when ``report.ok`` and not ``dry_run``, else rolls back.
    """
    report = ImportReport(dry_run=dry_run)
    if not dry_run:
        # One import per employer at a time: the comparison with stored employees stays true.
        db.session.execute(select(Employer.id).where(Employer.id == employer.id).with_for_update())
    known = _Known.load(employer, today or datetime.now(BERLIN).date())
    try:
        table = read_table(stream, MAX_BYTES, EMPLOYEE_WORDING)
        columns = _columns(table, report)
        rows = _collect(table, columns, known, report)
    except FileRefused as exc:
        report.error(None, None, exc.message)
        return report
    header = [cell.strip() for cell in table.header]
    users = _check_emails(
        rows, known, header[columns["email"]] if "email" in columns else "", report
    )
    _check_own_account(rows, known, columns, header, actor_id, report)
    report.errors.sort(key=lambda error: error.row or 0)
    if not report.ok:
        return report
    plan = _compare(rows, known, users, report)
    report.new_departments = [_path(known, key) for key in known.new_departments]
    report.plan = hashlib.sha256(
        json.dumps([report.new_departments, plan], sort_keys=True).encode()
    ).hexdigest()
    if not dry_run:
        _store(rows, known, users, report, filename, actor_id)
    return report


def _columns(table: Table, report: ImportReport) -> dict[str, int]:
    found, others = column_roles(table.header, HEADERS)
    report.ignored_columns = [table.header[i].strip() for i in others if table.header[i].strip()]
    if "number" not in found:
        raise FileRefused(
            _(
                'The file needs a column with the employee number ("Personalnummer" or '
                '"employee number"): it tells the import which employee a row is about.'
            )
        )
    if ("first_name" in found) != ("last_name" in found):
        raise FileRefused(
            _('Give "Vorname" and "Nachname" (first and last name) together, or one "Name".')
        )
    if "name" in found and "first_name" in found:
        raise FileRefused(_('Give either "Vorname" and "Nachname" or one "Name" column, not both.'))
    return found


def _collect(
    table: Table, columns: dict[str, int], known: _Known, report: ImportReport
) -> list[_Row]:
    header = [cell.strip() for cell in table.header]
    first_row: dict[str, int] = {}
    rows: list[_Row] = []
    for number, cells in data_rows(table.rows, len(header), report, MAX_ROWS):

        def cell(role: str, cells: list[str] = cells) -> str | None:
            index = columns.get(role)
            return None if index is None else cells[index].strip()

        def fail(role: str, message: str, number: int = number) -> None:
            report.error(number, header[columns[role]], message)

        key = (cell("number") or "").replace("\u00a0", " ").strip()
        if not key:
            fail("number", _("The employee number is missing."))
            continue
        if len(key) > 60:
            fail("number", _("The employee number is longer than 60 characters."))
            continue
        if key in first_row:
            fail(
                "number",
                _(
                    "The employee number %(number)s is already in row %(row)d; each employee "
                    "may appear once.",
                    number=key,
                    row=first_row[key],
                ),
            )
            continue
        first_row[key] = number
        row = _Row(number, key)
        rows.append(row)
        _read_name(row, cell, fail, columns)
        email = cell("email")
        if email:
            typed, email = email, email.lower()
            if len(email) > 254 or not _EMAIL.match(email):
                fail("email", _("'%(value)s' is not an e-mail address.", value=typed))
            elif row.name is None and _without_account(known.by_number.get(key)):
                role = "name" if "name" in columns else "last_name"
                if role in columns:
                    fail(role, _("The name is missing; an employee with an e-mail needs one."))
                else:
                    fail("email", _("An account needs a name: add a Name column to the file."))
            else:
                row.email = email
        department = cell("department")
        if department is not None:
            row.department = _department(department, number, known, fail)
        _read_site(row, cell("site"), known, fail)
        _read_dates(row, cell, fail, known)
    return rows


def _without_account(employee: Employee | None) -> bool:
    return employee is None or employee.user_id is None


def _read_name(row: _Row, cell: _Cell, fail: _Fail, columns: dict[str, int]) -> None:
    if "name" in columns:
        name = cell("name") or ""
    else:
        name = " ".join(part for part in (cell("first_name"), cell("last_name")) if part)
    name = " ".join(name.split())
    if len(name) > 200:
        fail(
            "name" if "name" in columns else "last_name",
            _("The name is longer than 200 characters."),
        )
    elif name:
        row.name = name


def _department(text: str, number: int, known: _Known, fail: _Fail) -> str | None:
    """The department's name ("" clears), registering new departments; ``None`` on error."""
    text = text.strip()
    if not text:
        return ""
    if text.casefold() in known.departments:  # also names that contain "/" ("F/E")
        return known.departments[text.casefold()].name
    parts = [" ".join(part.split()) for part in text.split("/")]
    if not all(parts):
        fail("department", _("'%(value)s' has an empty part between slashes.", value=text))
        return None
    if any(len(part) > 120 for part in parts):
        fail("department", _("A department name is longer than 120 characters."))
        return None
    parent: str | None = None
    for part in parts:
        key = part.casefold()
        existing = known.departments.get(key)
        if existing is not None:
            actual = existing.parent.name if existing.parent is not None else None
            if (actual or "").casefold() != (parent or "").casefold():
                fail(
                    "department",
                    _(
                        "The department %(name)s exists under %(actual)s, not under %(given)s.",
                        name=existing.name,
                        actual=actual or _("the top level"),
                        given=parent or _("the top level"),
                    ),
                )
                return None
        else:
            planned = known.new_departments.get(key)
            if planned is None:
                known.new_departments[key] = (part, parent, number)
            elif (planned[1] or "").casefold() != (parent or "").casefold():
                fail(
                    "department",
                    _(
                        "Row %(row)d puts the new department %(name)s under %(first)s; this row "
                        "under %(second)s.",
                        row=planned[2],
                        name=planned[0],
                        first=planned[1] or _("the top level"),
                        second=parent or _("the top level"),
                    ),
                )
                return None
        parent = existing.name if existing is not None else known.new_departments[key][0]
    return parent


def _read_site(row: _Row, text: str | None, known: _Known, fail: _Fail) -> None:
    if text is None:
        return
    if not text:
        row.clear_site = True
        return
    site = known.sites.get(" ".join(text.split()).casefold())
    if site is None:
        names = sorted(s.name for s in known.sites.values())
        fail(
            "site",
            _(
                "There is no site '%(value)s'. Known sites: %(sites)s. Add new sites on the "
                "Organisation page first.",
                value=text,
                sites=", ".join(names) or _("none yet"),
            ),
        )
        return
    row.site_id = site.id


def _read_dates(row: _Row, cell: _Cell, fail: _Fail, known: _Known) -> None:
    hired = cell("hired_on")
    if hired:
        row.hired_on = parse_day(hired)
        if row.hired_on is None:
            fail("hired_on", _not_a_date(hired))
    elif hired is not None:
        row.clear_hired_on = True
    left_text = cell("left_on")
    left = parse_day(left_text) if left_text else None
    if left_text and left is None:
        fail("left_on", _not_a_date(left_text))
        return
    active_text = cell("active")
    active: bool | None = None
    if active_text:
        mark = normalize(active_text)
        if mark not in _YES and mark not in _NO:
            fail(
                "active",
                _(
                    "'%(value)s' is not yes or no; write ja/nein, yes/no or 1/0.",
                    value=active_text,
                ),
            )
            return
        active = mark in _YES
    if left_text is not None:  # the file has the column: a past leaving date ends the job
        has_left = left is not None and left <= known.today
        active = (active if active is not None else True) and not has_left
    row.active = active


def _not_a_date(text: str) -> str:
    return _("'%(value)s' is not a date; write dd.mm.yyyy or yyyy-mm-dd.", value=text)


def _check_emails(
    rows: list[_Row], known: _Known, column: str, report: ImportReport
) -> dict[str, User]:
    """Accounts the file's e-mail addresses already have; refuses addresses of other people."""
    seen: dict[str, int] = {}
    for row in rows:
        if row.email is None:
            continue
        if row.email in seen:
            report.error(
                row.row,
                column,
                _(
                    "The e-mail address %(email)s is already in row %(row)d.",
                    email=row.email,
                    row=seen[row.email],
                ),
            )
        seen.setdefault(row.email, row.row)
    emails = list(seen)
    users: dict[str, User] = {}
    for start in range(0, len(emails), _EMAIL_CHUNK):
        chunk = emails[start : start + _EMAIL_CHUNK]
        users.update(
            (found.email, found)
            for found in db.session.scalars(
                select(User).options(selectinload(User.employee)).where(User.email.in_(chunk))
            )
        )
    for row in rows:
        owner = users.get(row.email or "")
        if owner is None:
            continue
        if owner.employer_id != known.employer.id:
            # Says nothing about whose it is: the other account may be another employer's.
            report.error(
                row.row,
                column,
                _(
                    "The e-mail address %(email)s is already used by another account; each "
                    "address can belong to one account only.",
                    email=row.email,
                ),
            )
            continue
        employee = known.by_number.get(row.number)
        linked = owner.employee
        if linked is None and employee is not None and employee.user_id not in (None, owner.id):
            report.error(
                row.row,
                column,
                _(
                    "The e-mail address %(email)s belongs to another account of your company.",
                    email=row.email,
                ),
            )
        elif linked is not None and (employee is None or linked.id != employee.id):
            report.error(
                row.row,
                column,
                _(
                    "The e-mail address %(email)s belongs to employee %(other)s.",
                    email=row.email,
                    other=linked.employee_number or _("without number"),
                ),
            )
    return users


def _check_own_account(
    rows: list[_Row],
    known: _Known,
    columns: dict[str, int],
    header: list[str],
    actor_id: int | None,
    report: ImportReport,
) -> None:
    """An admin cannot lock themselves out by deactivating their own account in a file."""
    if actor_id is None:
        return
    column = header[columns["active"] if "active" in columns else columns.get("left_on", 0)]
    for row in rows:
        employee = known.by_number.get(row.number)
        if row.active is False and employee is not None and employee.user_id == actor_id:
            report.error(
                row.row,
                column,
                _("This row would deactivate your own account; another admin has to do that."),
            )


def _compare(
    rows: list[_Row], known: _Known, users: dict[str, User], report: ImportReport
) -> list[Any]:
    """Count and list the changes; returns them as plain data for the fingerprint."""
    plan: list[Any] = []
    for row in rows:
        employee = known.by_number.get(row.number)
        fields = tuple(_field_changes(row, employee, users))
        if employee is not None and not fields:
            report.unchanged += 1
            continue
        if employee is None:
            report.created += 1
        else:
            report.updated += 1
        plan.append([row.number, employee is None, [[f.field, f.old, f.new] for f in fields]])
        if len(report.changes) < MAX_LISTED_CHANGES:
            report.changes.append(RowChange(row.row, row.number, employee is None, fields))
    return plan


def _field_changes(
    row: _Row, employee: Employee | None, users: dict[str, User]
) -> list[FieldChange]:
    account = employee.user if employee is not None else None
    if account is None and row.email is not None:
        account_name = users[row.email].name if row.email in users else ""
    else:
        account_name = account.name if account is not None else ""
    old = {
        "name": account_name,
        "email": account.email if account is not None else "",
        "department": _name(employee.department) if employee is not None else "",
        "site": _name(employee.site) if employee is not None else "",
        "hired_on": _day(employee.hired_on) if employee is not None else "",
        "active": _yes_no(employee.active) if employee is not None else "",
    }
    new = dict(old)
    if row.email is not None:
        new["email"] = row.email
        if row.name is not None:
            new["name"] = row.name
    elif row.name is not None and account is not None:
        new["name"] = row.name
    if row.department is not None:
        new["department"] = row.department
    if row.site_id is not None or row.clear_site:
        new["site"] = _site_name(row.site_id)
    if row.hired_on is not None or row.clear_hired_on:
        new["hired_on"] = _day(row.hired_on)
    if row.active is not None or employee is None:
        new["active"] = _yes_no(row.active if row.active is not None else True)
    return [FieldChange(name, old[name], new[name]) for name in old if old[name] != new[name]]


def _name(row: Department | Site | None) -> str:
    return row.name if row is not None else ""


def _site_name(site_id: int | None) -> str:
    if site_id is None:
        return ""
    site = db.session.get(Site, site_id)
    return site.name if site is not None else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _path(known: _Known, key: str) -> str:
    name, parent, _row = known.new_departments[key]
    if parent is None:
        return name
    parent_key = parent.casefold()
    if parent_key in known.new_departments:
        return f"{_path(known, parent_key)}/{name}"
    parents = [parent]
    existing = known.departments.get(parent_key)
    while existing is not None and existing.parent is not None:
        existing = existing.parent
        parents.insert(0, existing.name)
    return "/".join([*parents, name])


def _store(
    rows: list[_Row],
    known: _Known,
    users: dict[str, User],
    report: ImportReport,
    filename: str,
    actor_id: int | None,
) -> None:
    employer_id = known.employer.id
    for key, (name, parent, _row) in known.new_departments.items():  # parents come first
        department = Department(
            employer_id=employer_id,
            name=name,
            parent=known.departments[parent.casefold()] if parent is not None else None,
        )
        db.session.add(department)
        known.departments[key] = department
    db.session.flush()
    for row in rows:
        employee = known.by_number.get(row.number)
        if employee is None:
            employee = Employee(employer_id=employer_id, employee_number=row.number, active=True)
            db.session.add(employee)
        _apply(row, employee, known, users)
    db.session.flush()
    record(
        "admin.employees_imported",
        actor_id=actor_id,
        employer_id=employer_id,
        details={
            "file": filename[:255],
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "departments_created": len(known.new_departments),
        },
    )


def _apply(row: _Row, employee: Employee, known: _Known, users: dict[str, User]) -> None:
    account = employee.user
    if row.email is not None:
        if account is None:
            account = users.get(row.email)
            if account is None:
                account = User(
                    email=row.email,
                    name=row.name or "",
                    employer_id=known.employer.id,
                    roles=[UserRole(role=Role.EMPLOYEE.value)],
                )
                db.session.add(account)
            elif not account.has_role(Role.EMPLOYEE):
                # An account of this employer (an admin, say) that is also on the staff list.
                account.roles.append(UserRole(role=Role.EMPLOYEE.value))
            employee.user = account
        elif account.email != row.email:
            account.email = row.email
    if account is not None and row.name is not None and account.name != row.name:
        account.name = row.name
    if row.department is not None:
        employee.department = (
            known.departments[row.department.casefold()] if row.department else None
        )
    if row.site_id is not None or row.clear_site:
        employee.site_id = row.site_id
    if row.hired_on is not None or row.clear_hired_on:
        employee.hired_on = row.hired_on
    if row.active is not None and row.active != employee.active:
        # The same leaving as a SCIM "active: false": access and open enrollments end, the
        # person and their history stay; reactivating restores access only.
        if row.active:
            leavers.reactivate(employee, via="import")
        else:
            leavers.deactivate(employee, via="import")


def label(field_name: str) -> str:
    """The column a field change is about, in the reader's language."""
    return {
        "name": _("Name"),
        "email": _("E-mail"),
        "department": _("Department"),
        "site": _("Site"),
        "hired_on": _("Hired on"),
        "active": _("Active"),
    }[field_name]


def shown(field_name: str, value: str) -> str:
    """A field value as the preview shows it (dates in the reader's format, yes/no translated)."""
    if not value:
        return "–"
    if field_name == "hired_on":
        return str(format_date(date.fromisoformat(value), "medium"))
    if field_name == "active":
        return _("yes") if value == "yes" else _("no")
    return value


def now_plan_matches(draft: EmployeeImportDraft, report: ImportReport) -> bool:
    """Whether the confirmation would make exactly the changes its preview showed."""
    return bool(draft.plan_sha256) and draft.plan_sha256 == report.plan
