"""Employers, their organisation and settings. Callers pass the employer; nothing here reads
the request, so CLI, API and views share the same rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from wellness.audit.services import record
from wellness.auth.models import User
from wellness.courses.models import Provider
from wellness.db import apply_changes
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.tenants.models import MIN_GROUP_SIZE, Department, Employee, Employer, Site

NamedT = TypeVar("NamedT", Department, Site)

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")


def _check_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise DomainError(
            _(
                "Use 3-60 lower-case letters, digits and hyphens for the short name, "
                "e.g. 'musterfirma'."
            )
        )
    return slug


def create_employer(
    slug: str, name: str, locale: str = "de", actor_id: int | None = None
) -> Employer:
    slug = _check_slug(slug)
    if db.session.scalar(select(Employer.id).where(Employer.slug == slug)) is not None:
        raise DomainError(
            _("An employer with the short name '%(slug)s' already exists.", slug=slug)
        )
    employer = Employer(slug=slug, name=name.strip(), locale=locale)
    db.session.add(employer)
    db.session.flush()
    record("operator.employer_created", actor_id=actor_id, employer_id=employer.id)
    return employer


def create_provider(
    slug: str, name: str, city: str | None = None, actor_id: int | None = None
) -> Provider:
    slug = _check_slug(slug)
    if db.session.scalar(select(Provider.id).where(Provider.slug == slug)) is not None:
        raise DomainError(_("A provider with the short name '%(slug)s' already exists.", slug=slug))
    provider = Provider(slug=slug, name=name.strip(), city=city)
    db.session.add(provider)
    db.session.flush()
    record("operator.provider_created", actor_id=actor_id, provider_id=provider.id)
    return provider


@dataclass(frozen=True)
class EmployerSettings:
    name: str
    locale: str
    k_participation: int
    k_health: int
    dp_enabled: bool
    budget_per_employee_cents: int
    retention_months: int
    password_login_enabled: bool


def update_settings(employer: Employer, settings: EmployerSettings, actor_id: int) -> list[str]:
    """Apply settings; returns the names of the fields that changed (for the audit log)."""
    if min(settings.k_participation, settings.k_health) < MIN_GROUP_SIZE:
        raise DomainError(_("Minimum group sizes below %(k)d are not allowed.", k=MIN_GROUP_SIZE))
    from wellness.auth.oidc import sso_configured

    if not settings.password_login_enabled and not sso_configured(employer):
        # Nobody of the employer could sign in any more.
        raise DomainError(_("Password login can only be turned off once single sign-on is set up."))
    changed = apply_changes(employer, vars(settings))
    if changed:
        record(
            "admin.settings_changed",
            actor_id=actor_id,
            employer_id=employer.id,
            target_type="employer",
            target_id=employer.id,
            details={"fields": changed},
        )
    db.session.flush()
    return changed


def create_department(
    employer: Employer, name: str, parent_id: int | None, actor_id: int | None = None
) -> Department:
    if parent_id is not None:
        parent = db.session.get(Department, parent_id)
        if parent is None or parent.employer_id != employer.id:
            raise DomainError(_("The parent department does not exist."))
    department = Department(employer_id=employer.id, name=name.strip(), parent_id=parent_id)
    duplicate = _("A department named '%(name)s' already exists.", name=department.name)
    return _add_named(department, duplicate, "admin.department_created", actor_id)


def create_site(employer: Employer, name: str, city: str, actor_id: int | None = None) -> Site:
    site = Site(employer_id=employer.id, name=name.strip(), city=city.strip())
    duplicate = _("A site named '%(name)s' already exists.", name=site.name)
    return _add_named(site, duplicate, "admin.site_created", actor_id)


def _add_named(row: NamedT, duplicate: str, action: str, actor_id: int | None) -> NamedT:
    """Add a department or site whose name must be unique within its employer; audit it."""
    model = type(row)
    exists = select(model.id).where(model.employer_id == row.employer_id, model.name == row.name)
    if db.session.scalar(exists) is not None:
        raise DomainError(duplicate)
    db.session.add(row)
    db.session.flush()
    record(
        action,
        actor_id=actor_id,
        employer_id=row.employer_id,
        target_type=model.__tablename__.rstrip("s"),
        target_id=row.id,
    )
    return row


def department_tree(employer_id: int) -> list[tuple[int, Department]]:
    """Departments in tree order with their depth, for indented lists and select boxes."""
    departments = db.session.scalars(
        select(Department).where(Department.employer_id == employer_id).order_by(Department.name)
    ).all()
    children: dict[int | None, list[Department]] = {}
    for department in departments:
        children.setdefault(department.parent_id, []).append(department)
    ordered: list[tuple[int, Department]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for department in children.get(parent_id, []):
            ordered.append((depth, department))
            walk(department.id, depth + 1)

    walk(None, 0)
    return ordered


@dataclass(frozen=True)
class EmployeePage:
    rows: list[tuple[Employee, User | None]]
    total: int
    page: int
    pages: int


def list_employees(
    employer_id: int, query: str = "", page: int = 1, per_page: int = 50
) -> EmployeePage:
    """One page of the employer's staff directory (no health data), searchable by name/e-mail."""
    base = (
        select(Employee, User)
        .outerjoin(User, User.id == Employee.user_id)
        .where(Employee.employer_id == employer_id)
    )
    if query:
        pattern = f"%{query.strip().lower()}%"
        base = base.where(
            or_(
                func.lower(User.name).like(pattern),
                func.lower(User.email).like(pattern),
                func.lower(Employee.employee_number).like(pattern),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        base.options(selectinload(Employee.department), selectinload(Employee.site))
        .order_by(User.name, Employee.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return EmployeePage(rows=list(rows), total=total, page=page, pages=pages)
