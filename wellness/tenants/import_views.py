"""Employer admin pages: employee import upload, preview of every change and error, confirmation.

The preview stores nothing but the file (as a draft, with a fingerprint of the changes it
showed); the confirmation applies the draft only while it still makes exactly those changes.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from wellness.auth.guards import allow, current_employer_id, user
from wellness.auth.models import Role
from wellness.extensions import db
from wellness.tenants import employee_import
from wellness.tenants.employee_import import ImportReport, drafts, import_employees
from wellness.tenants.models import EmployeeImportDraft, Employer

bp = Blueprint("employee_import", __name__, url_prefix="/admin/employees/import")


def _employer() -> Employer:
    employer = db.session.get(Employer, current_employer_id())
    if employer is None:
        abort(403)
    return employer


@bp.route("", methods=["GET", "POST"])
@allow(Role.ADMIN)
def upload() -> ResponseReturnValue:
    """Upload → preview (nothing stored) → confirm (stored) or discard."""
    employer = _employer()
    step = request.form.get("step") if request.method == "POST" else None
    if step == "preview":
        return _preview(employer)
    if step in ("confirm", "discard"):
        draft = drafts.find(request.form.get("token", ""), user().id, employer_id=employer.id)
        if draft is None:
            flash(_("This preview has expired. Please upload the file again."), "error")
            return redirect(url_for("employee_import.upload"))
        if step == "discard":
            drafts.discard(draft)
            db.session.commit()
            flash(_("The upload was discarded; nothing was stored."), "success")
            return redirect(url_for("employee_import.upload"))
        return _confirm(employer, draft)
    if step is not None:
        abort(400)
    return _page()


def _preview(employer: Employer) -> ResponseReturnValue:
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _page(problem=_("Please choose a file to upload.")), 422
    report = import_employees(
        employer, sent.stream, filename=sent.filename, actor_id=user().id, dry_run=True
    )
    db.session.rollback()
    token = None
    if report.ok:
        token = drafts.save(
            user().id, sent.filename, sent.stream, employer_id=employer.id, plan_sha256=report.plan
        )
        db.session.commit()
    return _page(report=report, token=token, filename=sent.filename), (200 if report.ok else 422)


def _confirm(employer: Employer, draft: EmployeeImportDraft) -> ResponseReturnValue:
    filename, token = draft.filename, draft.token
    report = import_employees(
        employer, drafts.content(draft), filename=filename, actor_id=user().id, dry_run=False
    )
    if not report.ok:  # the employees or departments changed since the preview
        db.session.rollback()
        return _page(report=report, filename=filename), 422
    if not employee_import.now_plan_matches(draft, report):
        db.session.rollback()
        fresh = drafts.find(token, user().id, employer_id=employer.id)
        if fresh is not None:
            fresh.plan_sha256 = report.plan
            db.session.commit()
        flash(
            _(
                "The employees changed since your preview, so nothing was stored. Please check "
                "the new preview and confirm again."
            ),
            "error",
        )
        return _page(report=report, token=token, filename=filename), 409
    drafts.discard(draft)
    db.session.commit()
    flash(
        _(
            "Employees imported: %(created)d created, %(updated)d updated, %(unchanged)d "
            "unchanged.",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
        ),
        "success",
    )
    return redirect(url_for("admin.employees"))


def _page(
    *,
    report: ImportReport | None = None,
    token: str | None = None,
    filename: str | None = None,
    problem: str | None = None,
) -> str:
    return render_template(
        "admin/employee_import.html",
        report=report,
        token=token,
        filename=filename,
        problem=problem,
        label=employee_import.label,
        shown=employee_import.shown,
    )
