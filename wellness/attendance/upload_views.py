"""Provider pages: attendance upload, preview of every change and error, confirmation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from wellness import jobs
from wellness.attendance import drafts
from wellness.attendance.importer import Report, import_attendance
from wellness.attendance.models import AttendanceDraft, AttendanceUpload
from wellness.auth.guards import allow, user
from wellness.auth.models import Role, User
from wellness.courses.models import Offering
from wellness.courses.views import own_offering
from wellness.extensions import db
from wellness.jobs import imports

upload_bp = Blueprint("attendance", __name__, url_prefix="/provider")


@upload_bp.route("/offerings/<int:offering_id>/attendance", methods=["GET", "POST"])
@allow(Role.PROVIDER)
def upload(offering_id: int) -> ResponseReturnValue:
    """Upload → preview (nothing stored) → confirm (stored) or discard."""
    offering = own_offering(offering_id)
    step = request.form.get("step") if request.method == "POST" else None
    if step == "preview":
        return _preview(offering)
    if step in ("confirm", "discard"):
        draft = drafts.find(request.form.get("token", ""), offering.id, user().id)
        if draft is None:
            flash(_("This preview has expired. Please upload the file again."), "error")
            return redirect(url_for("attendance.upload", offering_id=offering.id))
        if step == "discard":
            drafts.discard(draft)
            db.session.commit()
            flash(_("The upload was discarded; nothing was stored."), "success")
            return redirect(url_for("attendance.upload", offering_id=offering.id))
        return _confirm(offering, draft)
    if step is not None:
        abort(400)
    return _page(offering)


def _preview(offering: Offering) -> ResponseReturnValue:
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _page(offering, problem=_("Please choose a file to upload.")), 422
    report = import_attendance(
        offering, sent.stream, filename=sent.filename, actor_id=user().id, dry_run=True
    )
    db.session.rollback()
    token = None
    if report.ok:
        token = drafts.save(offering.id, user().id, sent.filename, sent.stream)
        db.session.commit()
    return _page(offering, report=report, token=token, filename=sent.filename), (
        200 if report.ok else 422
    )


def _confirm(offering: Offering, draft: AttendanceDraft) -> ResponseReturnValue:
    filename = draft.filename
    if imports.runs_in_background(len(draft.content)):
        return _confirm_in_background(offering, draft)
    report = import_attendance(
        offering, drafts.content(draft), filename=filename, actor_id=user().id, dry_run=False
    )
    if not report.ok:  # the offering changed since the preview
        db.session.rollback()
        return _page(offering, report=report, filename=filename), 422
    drafts.discard(draft)
    db.session.commit()
    flash(
        _(
            "Attendance stored: %(created)d new, %(changed)d corrected, %(unchanged)d unchanged.",
            created=report.created,
            changed=report.changed,
            unchanged=report.unchanged,
        ),
        "success",
    )
    return redirect(url_for("roster.participants", offering_id=offering.id))


def _confirm_in_background(offering: Offering, draft: AttendanceDraft) -> ResponseReturnValue:
    """A large file: stored for the import job, then its status page (done at once inline)."""
    row = imports.create_import(
        offering, user().id, draft.filename, drafts.content(draft), str(get_locale() or "de")
    )
    drafts.discard(draft)
    db.session.commit()
    import_id = row.id
    jobs.enqueue("import_attendance", import_id)
    status = imports.status_json(row)
    if status["state"] == "done" and status["report"]:  # inline, or a very fast worker
        report = status["report"]
        flash(
            _(
                "Attendance stored: %(created)d new, %(changed)d corrected, "
                "%(unchanged)d unchanged.",
                created=report["created"],
                changed=report["changed"],
                unchanged=report["unchanged"],
            ),
            "success",
        )
        return redirect(url_for("roster.participants", offering_id=offering.id))
    return redirect(
        url_for("attendance.import_status", offering_id=offering.id, import_id=import_id)
    )


@upload_bp.route("/offerings/<int:offering_id>/attendance/imports/<int:import_id>")
@allow(Role.PROVIDER)
def import_status(offering_id: int, import_id: int) -> ResponseReturnValue:
    """Progress of a large upload's import; reloads itself until it has finished."""
    offering = own_offering(offering_id)
    row = imports.find_import(offering.id, import_id)
    if row is None:
        abort(404)
    status = imports.status_json(row)
    body = render_template(
        "attendance/import_status.html", offering=offering, course=offering.course, status=status
    )
    if status["state"] in ("queued", "running"):
        return body, 200, {"Refresh": "3"}
    return body


def _page(
    offering: Offering,
    *,
    report: Report | None = None,
    token: str | None = None,
    filename: str | None = None,
    problem: str | None = None,
) -> str:
    history = db.session.execute(
        select(AttendanceUpload, User.name)
        .outerjoin(User, User.id == AttendanceUpload.uploaded_by_id)
        .where(AttendanceUpload.offering_id == offering.id)
        .order_by(AttendanceUpload.created_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "attendance/upload.html",
        offering=offering,
        course=offering.course,
        report=report,
        token=token,
        filename=filename,
        problem=problem,
        history=history,
    )
