"""Employee pages: the quick pain check-in, the own trend next to training frequency, and the
monthly reminder switch.

Every page reads the signed-in employee's own rows and nothing else: no URL carries a person or
a check-in id. The pages are health data, so browsers and proxies must not keep copies.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import plotly
from babel.dates import format_skeleton
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.extensions import db
from wellness.forms import form_status
from wellness.health import checkins, training
from wellness.health.checkins import (
    BACKDATE_DAYS,
    NRS_MAX,
    NRS_MIN,
    REGION_LABELS,
    InvalidEntry,
    PainTrend,
    Period,
)
from wellness.health.models import BodyRegion, PainCheckin
from wellness.health.training import Frequency
from wellness.i18n import current_language, local_today
from wellness.web import private

checkins_bp = Blueprint("checkins", __name__)

#: Served from the installed plotly package: no CDN, and no 4.8 MB copy in the repository.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


def show_error(form: FlaskForm, name: str, message: str) -> None:
    """Put a service's refusal next to the field it names, or above the form."""
    field = form._fields.get(name)
    if field is None:
        flash(message, "error")
    else:
        field.errors = [*field.errors, message]


def entry_window(today: date) -> tuple[date, date]:
    """Earliest and latest day an entry may be dated, for the date inputs' min and max."""
    return today - timedelta(days=BACKDATE_DAYS), today


class PainCheckinForm(FlaskForm):
    """One radio group per body region (added below), then two quick questions."""

    prevented_activity = BooleanField(
        _l("Pain kept me from my normal activities (work, household, leisure) in the last 7 days")
    )
    checked_on = DateField(
        _l("Day of the check-in"),
        validators=[Optional()],
        description=_l("Today, or an earlier day you want to catch up on."),
    )


for _region in BodyRegion:
    setattr(
        PainCheckinForm,
        _region.value,
        RadioField(
            REGION_LABELS[_region],
            choices=[SelectChoice(n, str(n)) for n in range(NRS_MIN, NRS_MAX + 1)],
            coerce=int,
            default=NRS_MIN,
            # The service checks the range, for the form and the API alike.
            validate_choice=False,
            invalid_value_message=_l(
                "Choose a number from %(low)d to %(high)d.", low=NRS_MIN, high=NRS_MAX
            ),
        ),
    )


def _answers(checkin: PainCheckin | None) -> dict[str, Any] | None:
    if checkin is None:
        return None
    scores = checkins.scores_of(checkin)
    return {
        **{region.value: nrs for region, nrs in scores.items()},
        "prevented_activity": checkin.prevented_activity,
        "checked_on": checkin.checked_on,
    }


@checkins_bp.route("/me/pain", methods=["GET", "POST"])
@allow(Role.EMPLOYEE)
def checkin() -> ResponseReturnValue:
    employee = current_employee()
    today = local_today(utcnow())
    existing = checkins.checkin_on(employee, today)
    form = PainCheckinForm(data=_answers(existing) if request.method == "GET" else None)
    if request.method == "GET" and existing is None:
        form.checked_on.data = today
    if form.validate_on_submit():
        scores = {region.value: form[region.value].data for region in BodyRegion}
        try:
            recorded = checkins.record_checkin(
                employee,
                scores,
                prevented_activity=bool(form.prevented_activity.data),
                checked_on=form.checked_on.data,
                today=today,
            )
        except InvalidEntry as refused:
            db.session.rollback()
            show_error(form, refused.field.removeprefix("scores."), refused.message)
        else:
            db.session.commit()
            saved = (
                _("Check-in updated: it replaces your earlier answers for that day.")
                if recorded.replaced
                else _("Check-in saved. Thank you!")
            )
            flash(saved, "success")
            return redirect(url_for("checkins.trend"))
    earliest, latest = entry_window(today)
    page = render_template(
        "health/pain_checkin.html",
        form=form,
        regions=list(BodyRegion),
        existing=existing,
        earliest=earliest,
        latest=latest,
        reminder=employee.pain_reminder_opt_in,
    )
    return private(make_response(page, form_status()))


@checkins_bp.post("/me/pain/reminder")
@allow(Role.EMPLOYEE)
def reminder() -> ResponseReturnValue:
    """Switch the monthly reminder mail on or off (CSRF is checked for every form)."""
    wanted = request.form.get("reminder")
    if wanted not in ("on", "off"):
        abort(400)
    checkins.set_pain_reminder(current_employee(), wanted == "on")
    db.session.commit()
    if wanted == "on":
        flash(_("We will remind you by e-mail once a month."), "success")
    else:
        flash(_("Monthly reminder switched off."), "success")
    return redirect(url_for("checkins.checkin"))


# --- Trend ---------------------------------------------------------------------------------


def period_label(start: date, period: Period) -> str:
    """``März 2026`` / ``Mar 2026`` for months, ``16. März`` / ``Mar 16`` for weeks."""
    skeleton = "MMMd" if period is Period.WEEK else "yMMM"
    return str(format_skeleton(skeleton, start, locale=current_language()))


def trend_figure(trend: PainTrend, sessions: list[Frequency], labels: list[str]) -> dict[str, Any]:
    """The Plotly figure: pain per region as lines (0-10), training sessions per week as bars on
    a second axis, one category per week or month. A pure function, so tests can check it."""
    bars: dict[str, Any] = {
        "type": "bar",
        "name": _("Training sessions per week"),
        "x": labels,
        "y": [row.per_week for row in sessions],
        "yaxis": "y2",
        "marker": {"color": "#b7ddd7"},
        "hovertemplate": "%{y}<extra></extra>",
    }
    lines = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": str(REGION_LABELS[region]),
            "x": labels,
            "y": [point.scores[region] for point in trend.points],
            "connectgaps": True,
            "hovertemplate": "%{y}<extra>" + str(REGION_LABELS[region]) + "</extra>",
        }
        for region in trend.regions
    ]
    #: Whole sessions on the right axis, at least 0-3 so a single session does not look huge.
    most = math.ceil(max([row.per_week for row in sessions] + [3.0]))
    return {
        "data": [bars, *lines],
        "layout": {
            "separators": ".," if current_language() == "en" else ",.",
            "xaxis": {"type": "category", "fixedrange": True},
            "yaxis": {
                "title": {"text": _("Pain (0 = none, 10 = worst)")},
                "range": [0, 10.3],
                "fixedrange": True,
            },
            "yaxis2": {
                "title": {"text": _("Sessions per week")},
                "overlaying": "y",
                "side": "right",
                "range": [0, most + 0.1],
                "dtick": 1 if most <= 7 else None,
                "fixedrange": True,
                "showgrid": False,
            },
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "margin": {"l": 50, "r": 50, "t": 10, "b": 40},
            "hovermode": "x unified",
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


@checkins_bp.get("/me/pain/trend")
@allow(Role.EMPLOYEE)
def trend() -> ResponseReturnValue:
    """Pain per region by month (or week) next to training sessions per week, as a chart and
    as a table with the same numbers."""
    employee = current_employee()
    try:
        period = Period(request.args.get("period", Period.MONTH.value))
    except ValueError:
        period = Period.MONTH
    pain = checkins.pain_trend(employee, period)
    sessions = training.frequency(employee, period)
    labels = [period_label(point.starts_on, period) for point in pain.points]
    page = render_template(
        "health/pain_trend.html",
        period=period,
        pain=pain,
        rows=list(zip(labels, pain.points, sessions, strict=True)),
        figure=trend_figure(pain, sessions, labels),
        region_labels=REGION_LABELS,
        recent=checkins.history(employee, per_page=10),
        plotly_url=url_for("checkins.plotly_js", v=plotly.__version__),
    )
    return private(make_response(page))


@checkins_bp.get("/me/pain/plotly.min.js")
@allow(Role.EMPLOYEE)
def plotly_js() -> ResponseReturnValue:
    """Plotly's own bundle from the installed package (the URL carries its version, so it can
    be cached for a year)."""
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=YEAR)
