"""The transparency page: live settings, budget and HR views of the reader's own employer only,
HR views as counts without names, and closed to everyone outside the employer."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from wellness.analytics import privacy
from wellness.analytics.models import PrivacyRelease
from wellness.analytics.privacy import EPSILON_PER_RELEASE, Group, Query, RawCell, period_of
from wellness.analytics.transparency import previous_period, transparency_facts
from wellness.audit.services import record
from wellness.auth.models import Role
from wellness.db import utcnow

URL = "/transparency"


@pytest.fixture
def employer(make_employer):
    return make_employer(locale="en", name="Musterfirma GmbH")


@pytest.fixture
def other(make_employer):
    return make_employer(
        locale="en", name="Andere AG", k_participation=13, k_health=17, dp_epsilon_per_period=4.5
    )


@pytest.fixture
def reader(app, employer, make_user, login):
    """An employee of ``employer``, signed in on a client of their own."""
    return login(app.test_client(), make_user(Role.EMPLOYEE, employer=employer))


def page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def fact(html: str, label: str) -> str:
    """The value next to ``label`` in the settings list, tags stripped."""
    match = re.search(rf"<dt>{re.escape(label)}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert match, label
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def section(html: str, title_id: str) -> str:
    start = html.index(f'id="{title_id}"')
    return html[start : html.index("</section>", start)]


def budget_row(html: str, period: str) -> list[str]:
    row = re.search(rf"<td>{period}</td>(.*?)</tr>", section(html, "budget-title"), re.S)
    assert row, period
    return re.findall(r'<td class="num">([^<]*)</td>', row.group(1))


def test_page_follows_the_live_settings(db, employer, reader):
    html = page(reader)
    assert "Musterfirma GmbH" in html
    assert fact(html, "Minimum group size for participation figures") == "5 people"
    assert fact(html, "Minimum group size for health figures") == "10 people"
    assert fact(html, "Random noise on health figures (differential privacy)") == "on"
    assert fact(html, "Privacy budget per quarter (epsilon)") == "20"
    assert fact(html, "Retention of health data") == "36 months"
    assert "pays for 20 new health figures per quarter" in html

    employer.k_health, employer.k_participation = 12, 7
    employer.dp_enabled, employer.retention_months = False, 24
    db.session.commit()

    html = page(reader)
    assert fact(html, "Minimum group size for participation figures") == "7 people"
    assert fact(html, "Minimum group size for health figures") == "12 people"
    assert fact(html, "Random noise on health figures (differential privacy)") == "off"
    assert "Random noise is switched off for this employer" in html
    assert fact(html, "Retention of health data") == "24 months"
    collected = section(html, "data-title")
    assert "Deleted automatically after 24 months" in collected
    assert re.search(r"<td>Consents</td>\s*<td>No</td>", collected)
    measures = section(html, "measures-title")
    assert re.search(r"pain_mean</code></td>.*?<td class=\"num\">12</td>", measures, re.S)
    assert re.search(r"participation_rate</code></td>.*?<td class=\"num\">7</td>", measures, re.S)


def test_budget_spent_after_a_release(db, employer, reader):
    current = period_of(utcnow())
    assert budget_row(page(reader), current) == ["0", "0"]

    everyone = {person: 4.0 for person in range(1, 31)}
    query = Query(
        employer_id=employer.id,
        measure="pain_mean",
        health=True,
        lower=0.0,
        upper=10.0,
        key="pain_mean|transparency-test",
        max_cells_per_person=1,
    )
    released = privacy.release(query, RawCell(None, everyone), [RawCell(Group("d", "D"), everyone)])
    assert released.noisy
    db.session.commit()

    html = page(reader)
    assert budget_row(html, current) == ["1", "1"]
    assert budget_row(html, previous_period(current)) == ["0", "0"]


def test_hr_views_are_counted_without_names(app, employer, reader, make_user, login):
    hr = make_user(Role.HR, employer=employer, name="Hanna Heimlich", email="hanna@example.test")
    hr_client = login(app.test_client(), hr)
    for _ in range(2):
        assert hr_client.get("/api/v1/analytics/participation_rate").status_code == 200

    views = section(page(reader), "views-title")
    row = re.search(r"Share of employees enrolled in a course</td>(.*?)</tr>", views, re.S)
    assert row
    assert re.findall(r'<td class="num">([^<]*)</td>', row.group(1)) == ["2", "0"]
    whole = page(reader)
    for trace in ("Hanna", "Heimlich", "hanna@"):
        assert trace not in whole


def test_views_are_grouped_by_german_month(db, employer):
    # 31 March 22:30 UTC is already 1 April in Germany.
    for moment in (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)):
        record(
            "hr.analytics_viewed",
            employer_id=employer.id,
            target_type="measure",
            target_id="pain_mean",
            details={"measure": "pain_mean", "group_by": "month", "refused": True},
            occurred_at=moment,
        )
    db.session.commit()

    facts = transparency_facts(employer, now=datetime(2026, 4, 15, tzinfo=UTC))
    assert [(v.month, v.measure, v.count, v.refused) for v in facts.views] == [
        (date(2026, 4, 1), "pain_mean", 1, 1),
        (date(2026, 3, 1), "pain_mean", 1, 1),
    ]
    assert [p.period for p in facts.budget] == ["2026-Q2", "2026-Q1", "2025-Q4", "2025-Q3"]


def test_another_employers_figures_never_appear(db, employer, other, reader, make_user):
    db.session.add(
        PrivacyRelease(
            employer_id=other.id,
            period=period_of(utcnow()),
            query_key="pain_mean|other",
            epsilon=EPSILON_PER_RELEASE,
            result_json="{}",
        )
    )
    other_hr = make_user(Role.HR, employer=other, name="Otto Fremd")
    for _ in range(3):
        record(
            "hr.analytics_viewed",
            actor_id=other_hr.id,
            employer_id=other.id,
            target_type="measure",
            target_id="checklist_score",
            details={"measure": "checklist_score", "group_by": "site"},
        )
    db.session.commit()

    html = page(reader)
    for foreign in ("Andere AG", "Otto Fremd", "17 people", "13 people", "4.5"):
        assert foreign not in html
    assert budget_row(html, period_of(utcnow())) == ["0", "0"]
    assert "No HR analytics queries in this time" in section(html, "views-title")


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admin_read_it_too(app, employer, make_user, login, role):
    assert page(login(app.test_client(), make_user(role, employer=employer)))


def test_provider_and_operator_are_refused(app, make_user, make_provider, login):
    provider = login(app.test_client(), make_user(Role.PROVIDER, provider=make_provider()))
    operator = login(app.test_client(), make_user(Role.OPERATOR))
    assert provider.get(URL).status_code == 403
    assert operator.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
