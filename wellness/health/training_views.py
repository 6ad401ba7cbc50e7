"""Employee pages: the exercise list, logging a home training session, and the own log.

Like the pain pages, they only ever read the signed-in employee's own sessions; a session id in
a URL that belongs to someone else answers 404.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField
from wtforms.validators import Optional

from wellness.api import params
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.extensions import db
from wellness.forms import form_status
from wellness.health import training
from wellness.health.checkin_views import entry_window, show_error
from wellness.health.checkins import InvalidEntry, Period
from wellness.health.training import MINUTES, REPS, SETS, EntryInput, Exercise, ExerciseKind
from wellness.i18n import current_language, local_today
from wellness.web import private

training_bp = Blueprint("training", __name__)

PER_PAGE = 20
#: Weeks of training frequency on the log page.
RECENT_WEEKS = 8
#: The amounts asked per exercise kind; stretches and holds are timed, so no sets.
AMOUNTS: dict[ExerciseKind, tuple[str, ...]] = {
    ExerciseKind.REPS: ("sets", "reps"),
    ExerciseKind.MINUTES: ("minutes",),
}
BOUNDS = {"sets": SETS, "reps": REPS, "minutes": MINUTES}


def amount_field(exercise: Exercise, amount: str) -> str:
    return f"{exercise.key}_{amount}"


class TrainingForm(FlaskForm):
    """The day, then sets and repetitions or minutes per exercise (added below); exercises left
    empty were not done."""

    performed_on = DateField(_l("Day of the session"), validators=[Optional()])


_LABELS = {"sets": _l("Sets"), "reps": _l("Repetitions per set"), "minutes": _l("Minutes")}
for _exercise in training.catalogue():
    for _amount in AMOUNTS[_exercise.kind]:
        setattr(
            TrainingForm,
            amount_field(_exercise, _amount),
            IntegerField(_LABELS[_amount], validators=[Optional()]),
        )


def _entries(form: TrainingForm) -> list[EntryInput]:
    """The exercises with at least one amount filled in, in catalogue order."""
    entries = []
    for exercise in training.catalogue():
        amounts = {name: form[amount_field(exercise, name)].data for name in AMOUNTS[exercise.kind]}
        if any(value is not None for value in amounts.values()):
            entries.append(EntryInput(exercise.key, **amounts))
    return entries


def _field_of(refused: InvalidEntry, entries: list[EntryInput]) -> str:
    """The form field a refusal is about: ``entries[2].reps`` is the third filled exercise."""
    if refused.entry is None:
        return refused.field
    return f"{entries[refused.entry].exercise}_{refused.field.rpartition('.')[2]}"


@training_bp.get("/me/training")
@allow(Role.EMPLOYEE)
def index() -> ResponseReturnValue:
    employee = current_employee()
    page = params.page_number()
    log = training.history(employee, page=page, per_page=PER_PAGE)
    weeks = training.frequency(employee, Period.WEEK, count=RECENT_WEEKS)
    body = render_template(
        "health/training_log.html",
        log=log,
        weeks=weeks,
        exercises={item.key: item for item in training.catalogue()},
        language=current_language(),
    )
    return private(make_response(body))


@training_bp.get("/me/training/exercises")
@allow(Role.EMPLOYEE)
def exercises() -> ResponseReturnValue:
    return render_template(
        "health/training_exercises.html",
        exercises=training.catalogue(),
        language=current_language(),
    )


@training_bp.route("/me/training/new", methods=["GET", "POST"])
@allow(Role.EMPLOYEE)
def new() -> ResponseReturnValue:
    employee = current_employee()
    today = local_today(utcnow())
    form = TrainingForm()
    if request.method == "GET":
        form.performed_on.data = today
    if form.validate_on_submit():
        entries = _entries(form)
        try:
            training.log_session(
                employee, entries, performed_on=form.performed_on.data, today=today
            )
        except InvalidEntry as refused:
            db.session.rollback()
            show_error(form, _field_of(refused, entries), refused.message)
        else:
            db.session.commit()
            flash(_("Training session saved. Well done!"), "success")
            return redirect(url_for("checkins.trend", period=Period.WEEK.value))
    earliest, latest = entry_window(today)
    body = render_template(
        "health/training_new.html",
        form=form,
        exercises=training.catalogue(),
        amounts={
            item.key: [(amount_field(item, name), BOUNDS[name]) for name in AMOUNTS[item.kind]]
            for item in training.catalogue()
        },
        language=current_language(),
        earliest=earliest,
        latest=latest,
    )
    return private(make_response(body, form_status()))


@training_bp.post("/me/training/<int:log_id>/delete")
@allow(Role.EMPLOYEE)
def delete(log_id: int) -> ResponseReturnValue:
    training.delete_session(current_employee(), log_id)
    db.session.commit()
    flash(_("Training session deleted."), "success")
    return redirect(url_for("training.index"))
