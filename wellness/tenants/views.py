"""Employer administration (admins of one employer) and the platform operator's pages."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from wellness.api import params
from wellness.audit.models import AuditEvent
from wellness.auth.guards import allow, current_employer_id, tenant_select, user
from wellness.auth.models import Role, User
from wellness.courses import opening
from wellness.courses.models import Provider
from wellness.db import utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status, to_cents
from wellness.health import measures
from wellness.health.models import MeasureStatus
from wellness.i18n import local_today
from wellness.tenants import services
from wellness.tenants.forms import (
    DepartmentForm,
    EmployerForm,
    ProviderForm,
    SettingsForm,
    SiteForm,
)
from wellness.tenants.models import Department, Employee, Employer, Site

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
operator_bp = Blueprint("operator", __name__, url_prefix="/operator")


def _employer() -> Employer:
    employer = db.session.get(Employer, current_employer_id())
    assert employer is not None  # noqa: S101 - the FK guarantees it  # nosec B101
    return employer


def _count(model: type) -> int:
    query = select(func.count()).select_from(tenant_select(model).subquery())
    return db.session.scalar(query) or 0


@admin_bp.route("/")
@allow(Role.ADMIN)
def index() -> ResponseReturnValue:
    counts = {
        "employees": _count(Employee),
        "departments": _count(Department),
        "sites": _count(Site),
    }
    employer = _employer()
    return render_template(
        "admin/index.html", employer=employer, counts=counts, todo=_to_do(employer, counts)
    )


def _to_do(employer: Employer, counts: dict[str, int]) -> dict[str, int]:
    """What is waiting for the admin: measures to decide and to see through, offerings not
    opened, empty basics. Each count is what the linked list shows."""
    by_status = measures.status_counts(employer.id)
    not_open = opening.list_offerings(
        employer.id, local_today(utcnow()), open_filter=opening.NOT_OPEN
    )
    return {
        "requested": by_status.get(MeasureStatus.REQUESTED.value, 0),
        "open": measures.open_count(by_status),
        "not_open": len(not_open),
        # Below the participation threshold HR can be shown nothing at all; the accounts set
        # up by hand (the admin, HR) are usually all there is before the first import.
        "few_employees": counts["employees"]
        if counts["employees"] < employer.k_participation
        else 0,
        "no_departments": int(not counts["departments"]),
    }


@admin_bp.route("/employees")
@allow(Role.ADMIN)
def employees() -> ResponseReturnValue:
    query = request.args.get("q", "")[:100]
    page = params.page_number()
    result = services.list_employees(current_employer_id(), query=query, page=page)
    return render_template("admin/employees.html", result=result, query=query)


@admin_bp.route("/organisation", methods=["GET", "POST"])
@allow(Role.ADMIN)
def organisation() -> ResponseReturnValue:
    employer = _employer()
    tree = services.department_tree(employer.id)
    department_form = DepartmentForm(prefix="department")
    department_form.parent_id.choices = [SelectChoice(0, _("— top level —"))] + [
        SelectChoice(d.id, "\u2003" * depth + d.name) for depth, d in tree
    ]
    site_form = SiteForm(prefix="site")
    submitted = request.form.get("form")
    try:
        if submitted == "department" and department_form.validate_on_submit():
            services.create_department(
                employer,
                department_form.name.data or "",
                department_form.parent_id.data or None,
                user().id,
            )
            db.session.commit()
            flash(_("Department added."), "success")
            return redirect(url_for("admin.organisation"))
        if submitted == "site" and site_form.validate_on_submit():
            services.create_site(
                employer, site_form.name.data or "", site_form.city.data or "", user().id
            )
            db.session.commit()
            flash(_("Site added."), "success")
            return redirect(url_for("admin.organisation"))
    except DomainError as exc:
        db.session.rollback()
        target = department_form.name if submitted == "department" else site_form.name
        target.errors = [*target.errors, exc.message]
    sites = db.session.scalars(tenant_select(Site).order_by(Site.name)).all()
    return render_template(
        "admin/organisation.html",
        tree=tree,
        sites=sites,
        department_form=department_form,
        site_form=site_form,
    ), form_status()


@admin_bp.route("/settings", methods=["GET", "POST"])
@allow(Role.ADMIN)
def settings() -> ResponseReturnValue:
    employer = _employer()
    form = SettingsForm(obj=employer)
    if request.method == "GET":
        form.budget_eur.data = Decimal(employer.budget_per_employee_cents) / 100
    if form.validate_on_submit():
        new = services.EmployerSettings(
            name=(form.name.data or "").strip(),
            locale=form.locale.data or "de",
            k_participation=int(form.k_participation.data or 0),
            k_health=int(form.k_health.data or 0),
            dp_enabled=bool(form.dp_enabled.data),
            budget_per_employee_cents=to_cents(form.budget_eur.data),
            retention_months=int(form.retention_months.data or 0),
            password_login_enabled=bool(form.password_login_enabled.data),
        )
        try:
            services.update_settings(employer, new, user().id)
        except DomainError as exc:
            db.session.rollback()
            form.k_health.errors = [*form.k_health.errors, exc.message]
        else:
            db.session.commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form), form_status()


@admin_bp.route("/audit")
@allow(Role.ADMIN)
def audit() -> ResponseReturnValue:
    events = db.session.execute(
        tenant_select(AuditEvent)
        .add_columns(User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(200)
    ).all()
    return render_template("admin/audit.html", events=events)


@admin_bp.get("/audit.csv")
@allow(Role.ADMIN)
def audit_export() -> ResponseReturnValue:
    """Every event of the admin's own employer as CSV; the download is itself logged."""
    from wellness.audit.export import audit_rows
    from wellness.audit.services import record
    from wellness.i18n import current_language
    from wellness.spreadsheet import CSV_DELIMITER, CSV_MIMETYPE, csv_bytes
    from wellness.web import private

    employer_id = current_employer_id()
    rows = list(audit_rows(employer_id))
    record(
        "audit.exported",
        actor_id=user().id,
        employer_id=employer_id,
        details={"events": len(rows) - 1},
    )
    db.session.commit()
    response = private(csv_bytes(rows, delimiter=CSV_DELIMITER[current_language()]))
    response.mimetype = CSV_MIMETYPE
    response.headers.set("Content-Disposition", "attachment", filename="audit-log.csv")
    return response


@operator_bp.route("/", methods=["GET", "POST"])
@allow(Role.OPERATOR)
def platform() -> ResponseReturnValue:
    employer_form = EmployerForm(prefix="employer")
    provider_form = ProviderForm(prefix="provider")
    submitted = request.form.get("form")
    try:
        if submitted == "employer" and employer_form.validate_on_submit():
            services.create_employer(
                employer_form.slug.data or "",
                employer_form.name.data or "",
                employer_form.locale.data or "de",
                user().id,
            )
            db.session.commit()
            flash(_("Employer added."), "success")
            return redirect(url_for("operator.platform"))
        if submitted == "provider" and provider_form.validate_on_submit():
            services.create_provider(
                provider_form.slug.data or "",
                provider_form.name.data or "",
                provider_form.city.data or None,
                user().id,
            )
            db.session.commit()
            flash(_("Provider added."), "success")
            return redirect(url_for("operator.platform"))
    except DomainError as exc:
        db.session.rollback()
        target = employer_form.slug if submitted == "employer" else provider_form.slug
        target.errors = [*target.errors, exc.message]
    employers = db.session.execute(
        select(Employer, func.count(Employee.id))
        .outerjoin(Employee, Employee.employer_id == Employer.id)
        .group_by(Employer.id)
        .order_by(Employer.name)
    ).all()
    providers = db.session.scalars(select(Provider).order_by(Provider.name)).all()
    return render_template(
        "operator/index.html",
        employers=employers,
        providers=providers,
        employer_form=employer_form,
        provider_form=provider_form,
    ), form_status()
