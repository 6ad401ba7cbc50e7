"""What each dashboard page shows: a list of charts, each one analytics query.

Plain data, so the layout, the callbacks, the downloads, the benchmark and the tests all read the
same definitions. Health figures are grouped by quarter rather than month: one person is in every
time cell, so the noise of a differentially private release grows with the number of cells, and
four quarters give trends HR can read where twelve months would be noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from wellness.analytics.grid import GroupBy
from wellness.analytics.measures import MEASURES
from wellness.health.checkins import REGION_LABELS
from wellness.health.models import BodyRegion


@dataclass(frozen=True)
class Chart:
    #: Unique across pages; names the chart's components and its downloads.
    id: str
    measure: str
    group_by: GroupBy
    #: For pain measures, ``%(region)s`` stands for the body region chosen.
    title: LazyString

    def heading(self, region: BodyRegion) -> str:
        if MEASURES[self.measure].by_region:
            return str(self.title) % {"region": REGION_LABELS[region]}
        return str(self.title)


@dataclass(frozen=True)
class Page:
    path: str
    name: LazyString
    intro: LazyString
    charts: tuple[Chart, ...]
    #: Shown as key figure cards with trends instead of charts.
    key_figures: bool = False


#: Key figures of the overview: each shown for the last quarter of the period, with the trend
#: against the quarter before.
KEY_FIGURES = (
    Chart("key-participation", "participation_rate", GroupBy.QUARTER, _l("Participation")),
    Chart("key-completion", "completion_rate", GroupBy.QUARTER, _l("Completion")),
    Chart("key-pain", "pain_mean", GroupBy.QUARTER, _l("Pain: %(region)s")),
    Chart("key-checklist", "checklist_score", GroupBy.QUARTER, _l("Workstation score")),
    Chart("key-budget", "budget_used", GroupBy.QUARTER, _l("Budget per participant")),
)

PAGES = (
    Page(
        "",
        _l("Overview"),
        _l("Key figures of the last quarter of the period, with the trend since the one before."),
        KEY_FIGURES,
        key_figures=True,
    ),
    Page(
        "participation",
        _l("Participation"),
        _l("Who takes part in prevention courses and how many finish them with a certificate."),
        (
            Chart(
                "participation-month",
                "participation_rate",
                GroupBy.MONTH,
                _l("Share of employees enrolled in a course, per month"),
            ),
            Chart(
                "participation-department",
                "participation_rate",
                GroupBy.DEPARTMENT,
                _l("Share of employees enrolled in a course, per department"),
            ),
            Chart(
                "participation-field",
                "participation_rate",
                GroupBy.FIELD,
                _l("Share of employees enrolled, per field of action of the course"),
            ),
            Chart(
                "completion-department",
                "completion_rate",
                GroupBy.DEPARTMENT,
                _l("Share of participants with a certificate, per department"),
            ),
            Chart(
                "attendance-department",
                "attendance_rate",
                GroupBy.DEPARTMENT,
                _l("Share of course sessions attended by participants, per department"),
            ),
        ),
    ),
    Page(
        "pain",
        _l("Pain trends"),
        _l(
            "Self-reported pain (numeric rating scale 0 = none to 10 = worst) of the employees who "
            "consented; each person counts once per cell, however often they checked in."
        ),
        (
            Chart(
                "pain-quarter",
                "pain_mean",
                GroupBy.QUARTER,
                _l("Mean pain (NRS 0-10), %(region)s, per quarter"),
            ),
            Chart(
                "pain-department",
                "pain_mean",
                GroupBy.DEPARTMENT,
                _l("Mean pain (NRS 0-10), %(region)s, per department"),
            ),
            Chart(
                "pain-limited-quarter",
                "pain_limited_share",
                GroupBy.QUARTER,
                _l("Share whose pain prevented normal activity, per quarter"),
            ),
        ),
    ),
    Page(
        "ergonomics",
        _l("Ergonomics"),
        _l(
            "Scores of the latest workstation checklist per person (100 = nothing to fix), from "
            "the employees who consented."
        ),
        (
            Chart(
                "checklist-department",
                "checklist_score",
                GroupBy.DEPARTMENT,
                _l("Workstation checklist score (0-100), per department"),
            ),
            Chart(
                "open-issues-department",
                "open_issues_share",
                GroupBy.DEPARTMENT,
                _l("Share of workstations with items to fix, per department"),
            ),
            Chart(
                "measures-done-quarter",
                "measures_done",
                GroupBy.QUARTER,
                _l("Share of requested ergonomic measures done, per quarter of request"),
            ),
        ),
    ),
    Page(
        "course-effect",
        _l("Course effect"),
        _l(
            "Change in low back pain of course participants from before to after their course, "
            "next to employees who did not take part, over the same months. An observation, not "
            "proof: participants chose to take part."
        ),
        (
            Chart(
                "course-effect",
                "course_effect",
                GroupBy.PARTICIPATION,
                _l(
                    "Change in mean pain (NRS points), %(region)s, from the 3 months before a "
                    "back course to the 3 months after it"
                ),
            ),
            Chart(
                "training-quarter",
                "training_frequency",
                GroupBy.QUARTER,
                _l("Home training sessions per week, per quarter"),
            ),
        ),
    ),
    Page(
        "budget",
        _l("Budget"),
        _l("What the employer paid for course seats, per participant, against the yearly budget."),
        (
            Chart(
                "budget-month",
                "budget_used",
                GroupBy.MONTH,
                _l("Employer budget used per participant (EUR), per month of course start"),
            ),
            Chart(
                "budget-department",
                "budget_used",
                GroupBy.DEPARTMENT,
                _l("Employer budget used per participant (EUR), per department"),
            ),
        ),
    ),
)

CHARTS: dict[str, Chart] = {chart.id: chart for page in PAGES for chart in page.charts}
