"""Ergonomic measures (request, workflow, history, privacy) and adapted checklist templates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.health.test_checklists import form_data, valid_answers
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.errors import Conflict, DomainError
from wellness.health import measures
from wellness.health.checklists import current_templates, load_shipped_templates, submit_response
from wellness.health.models import ChecklistTemplate, ErgonomicMeasure, MeasureStatus
from wellness.i18n import local_today

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def screen(db, employer) -> ChecklistTemplate:
    templates = {t.key: t for t in load_shipped_templates()}
    db.session.commit()
    return templates["screen-workstation"]


@pytest.fixture
def employee(make_user, employer):
    return make_user(Role.EMPLOYEE, employer=employer, name="Erika Muster")


@pytest.fixture
def admin(make_user, employer):
    return make_user(Role.ADMIN, employer=employer, name="Anna Admin")


@pytest.fixture
def response(db, employee, screen):
    """Erika's response: chair height "no", mouse "partly", everything else fine."""
    answers = valid_answers(screen, chair_height="no", mouse="partly")
    found = submit_response(employee.employee, screen.key, 1, "office", answers)
    db.session.commit()
    return found


def _request(db: Any, employee: Any, response: Any, **fields: Any) -> ErgonomicMeasure:
    fields = {"item_key": "chair_height", "kind": "footrest"} | fields
    measure = measures.request_measure(employee.employee, employee.id, response.id, **fields)
    db.session.commit()
    return measure


def _events(db: Any, measure: ErgonomicMeasure) -> list[tuple[str, str | None]]:
    return [
        (e.action, e.details)
        for e in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "ergonomic_measure")
            .where(AuditEvent.target_id == str(measure.id))
            .order_by(AuditEvent.id)
        )
    ]


# --- requesting ---------------------------------------------------------------------------


def test_employee_requests_a_measure_from_an_item_of_their_result(
    client, login, db, employee, response
):
    login(client, employee)
    path = f"/me/checklists/results/{response.id}/items/chair_height/measure"
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "What your employer will see" in html
    assert '<option selected value="office_chair">' in html  # the item's suggestion
    sent = client.post(path, data={"kind": "footrest", "note": "Desk is fixed at 74 cm."})
    assert sent.status_code == 302
    measure = db.session.scalars(select(ErgonomicMeasure)).one()
    assert (measure.title, measure.status, measure.note) == (
        "footrest",
        "requested",
        "Desk is fixed at 74 cm.",
    )
    assert measure.employer_id == employee.employer_id
    assert measure.item_id == next(i.id for i in response.template.items if i.key == "chair_height")
    assert [action for action, _ in _events(db, measure)] == ["employee.measure_requested"]

    mine = client.get("/me/checklists/measures").get_data(as_text=True)
    assert "Footrest" in mine
    assert "Requested" in mine
    assert "Desk is fixed at 74 cm." in mine
    result = client.get(f"/me/checklists/results/{response.id}").get_data(as_text=True)
    assert "Measure requested: Footrest" in result


def test_own_words_are_needed_for_something_else(client, login, db, employee, response):
    login(client, employee)
    path = f"/me/checklists/results/{response.id}/items/mouse/measure"
    refused = client.post(path, data={"kind": "other", "own_title": ""})
    assert refused.status_code == 400
    assert "Describe the measure you need" in refused.get_data(as_text=True)
    assert (
        client.post(path, data={"kind": "other", "own_title": "Smaller keyboard"}).status_code
        == 302
    )
    assert db.session.scalars(select(ErgonomicMeasure.title)).all() == ["Smaller keyboard"]


def test_the_same_open_request_is_not_sent_twice(db, employee, response):
    _request(db, employee, response)
    with pytest.raises(Conflict, match="already asked"):
        _request(db, employee, response)


def test_unknown_kind_and_unknown_item_are_refused(db, employee, response):
    with pytest.raises(DomainError, match="Choose a measure"):
        _request(db, employee, response, kind="golden_chair")
    with pytest.raises(DomainError, match="no such question"):
        _request(db, employee, response, item_key="bogus")
    assert db.session.scalars(select(ErgonomicMeasure)).all() == []


def test_nobody_requests_a_measure_from_someone_elses_result(
    client, login, db, employer, make_user, response
):
    login(client, make_user(Role.EMPLOYEE, employer=employer))
    path = f"/me/checklists/results/{response.id}/items/chair_height/measure"
    assert client.post(path, data={"kind": "footrest"}).status_code == 404
    assert db.session.scalars(select(ErgonomicMeasure)).all() == []


# --- the admin's workflow -----------------------------------------------------------------


def test_admin_works_a_measure_through_to_done_with_dates_and_audit(
    client, login, db, employee, admin, response
):
    measure = _request(db, employee, response, note="Desk is fixed at 74 cm.")
    login(client, admin)
    path = f"/admin/measures/{measure.id}"
    page = client.get(path).get_data(as_text=True)
    assert "Erika Muster" in page
    assert "Footrest" in page
    assert "Is the seat height set" in page  # the item the request came from
    assert "Desk is fixed at 74 cm." in page
    for label in ("Approve", "Reject"):
        assert f'<button type="submit" class="button">{label}</button>' in page
    assert "Mark as done" not in page  # not possible before approval

    assert client.post(path, data={"form": "approved"}).status_code == 302
    ordered = client.post(path, data={"form": "ordered", "ordered-cost_eur": "59.00"})
    assert ordered.status_code == 302
    assert client.post(path, data={"form": "done"}).status_code == 302

    db.session.refresh(measure)
    assert measure.status == "done"
    assert measure.requested_at <= measure.approved_at <= measure.ordered_at <= measure.done_at
    assert measure.cost_cents == 5900
    assert measure.updated_by_id == admin.id
    actions = [action for action, _ in _events(db, measure)]
    assert actions == [
        "employee.measure_requested",
        "admin.measure_approved",
        "admin.measure_ordered",
        "admin.measure_done",
    ]
    page = client.get(path).get_data(as_text=True)
    assert "by Anna Admin" in page
    assert "Next step" not in page


def test_approved_measure_can_be_done_without_ordering(db, employee, admin, response):
    measure = _request(db, employee, response, kind="eye_examination", item_key="eye_examination")
    measures.advance(admin.employer_id, measure.id, MeasureStatus.APPROVED, admin.id)
    measures.advance(admin.employer_id, measure.id, MeasureStatus.DONE, admin.id)
    assert measure.status == "done"
    assert measure.ordered_at is None


@pytest.mark.parametrize(
    ("steps", "to"),
    [
        ((), MeasureStatus.DONE),
        ((), MeasureStatus.ORDERED),
        ((MeasureStatus.APPROVED, MeasureStatus.ORDERED), MeasureStatus.APPROVED),
        ((MeasureStatus.APPROVED, MeasureStatus.DONE), MeasureStatus.ORDERED),
    ],
)
def test_steps_that_skip_or_go_back_are_refused(db, employee, admin, response, steps, to):
    measure = _request(db, employee, response)
    for step in steps:
        measures.advance(admin.employer_id, measure.id, step, admin.id)
    with pytest.raises(Conflict, match="cannot be marked"):
        measures.advance(admin.employer_id, measure.id, to, admin.id)


def test_a_step_that_is_no_longer_offered_is_explained(
    client, login, db, employee, admin, response
):
    measure = _request(db, employee, response)
    login(client, admin)
    answer = client.post(f"/admin/measures/{measure.id}", data={"form": "done"})
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "This step is no longer possible" in page
    db.session.refresh(measure)
    assert measure.status == "requested"


def test_step_dates_may_be_recorded_afterwards_but_not_in_the_future_or_out_of_order(
    db, employee, admin, response
):
    measure = _request(db, employee, response)
    now = datetime.now(UTC)
    today = local_today(now)
    with pytest.raises(DomainError, match="future"):
        measures.advance(
            admin.employer_id,
            measure.id,
            MeasureStatus.APPROVED,
            admin.id,
            today + timedelta(days=1),
        )
    with pytest.raises(DomainError, match="before the previous step"):
        measures.advance(
            admin.employer_id, measure.id, MeasureStatus.APPROVED, admin.id, date(2020, 1, 1)
        )
    measure.requested_at = now - timedelta(days=10)
    measures.advance(
        admin.employer_id, measure.id, MeasureStatus.APPROVED, admin.id, today - timedelta(days=3)
    )
    assert local_today(measure.approved_at) == today - timedelta(days=3)


def test_rejection_needs_a_reason_which_the_employee_reads(
    client, login, db, employee, admin, response
):
    measure = _request(db, employee, response)
    login(client, admin)
    path = f"/admin/measures/{measure.id}"
    refused = client.post(path, data={"form": "rejected", "rejected-reason": "  "})
    assert refused.status_code == 400
    db.session.refresh(measure)
    assert measure.status == "requested"
    reason = "Chair was re-adjusted during a workplace visit."
    assert (
        client.post(path, data={"form": "rejected", "rejected-reason": reason}).status_code == 302
    )
    db.session.refresh(measure)
    assert measure.status == "rejected"
    assert measure.rejected_at is not None
    assert reason in client.get(path).get_data(as_text=True)
    client.post("/logout")
    login(client, employee)
    mine = client.get("/me/checklists/measures").get_data(as_text=True)
    assert "Rejected" in mine
    assert reason in mine
    assert "Anna Admin" not in mine


def test_admin_sees_the_request_but_never_answers_or_scores(
    client, login, db, employee, admin, response
):
    measure = _request(db, employee, response)
    login(client, admin)
    pages = [
        client.get("/admin/measures").get_data(as_text=True),
        client.get(f"/admin/measures/{measure.id}").get_data(as_text=True),
    ]
    for page in pages:
        # Mouse was answered "partly": neither that question nor any answer or score shows.
        assert "Is the mouse right next to the keyboard" not in page
        assert "Your answer" not in page
        assert "Partly" not in page
        assert f"{response.score} of 100" not in page
    assert client.get(f"/me/checklists/results/{response.id}").status_code == 403


def test_measures_list_filters_by_status_and_area(client, login, db, employee, admin, response):
    chair = _request(db, employee, response)
    mouse = _request(db, employee, response, item_key="mouse", kind="ergonomic_mouse")
    measures.advance(admin.employer_id, mouse.id, MeasureStatus.APPROVED, admin.id)
    db.session.commit()
    login(client, admin)

    def listed(**query: str) -> set[int]:
        page = client.get("/admin/measures", query_string=query).get_data(as_text=True)
        return {m.id for m in (chair, mouse) if f'/admin/measures/{m.id}"' in page}

    assert listed() == {chair.id, mouse.id}
    assert listed(status="requested") == {chair.id}
    assert listed(status="open") == {chair.id, mouse.id}
    assert listed(status="done") == set()
    assert listed(area="keyboard_mouse") == {mouse.id}
    assert listed(area="chair", status="approved") == set()
    assert listed(status="bogus") == {chair.id, mouse.id}


def test_admin_start_page_counts_what_its_links_list(client, login, db, employee, admin, response):
    _request(db, employee, response)
    mouse = _request(db, employee, response, item_key="mouse", kind="ergonomic_mouse")
    measures.advance(admin.employer_id, mouse.id, MeasureStatus.APPROVED, admin.id)
    db.session.commit()
    login(client, admin)
    start = client.get("/admin/").get_data(as_text=True)
    assert "waiting for your decision: 1" in start
    # The open list holds the requested measure and the approved one.
    assert "not done yet (requested, approved or ordered): 2" in start
    assert measures.list_for_employer(admin.employer_id, measures.OPEN_FILTER).total == 2


def test_other_employers_admins_and_other_roles_cannot_reach_a_measure(
    client, login, db, employee, response, make_user, make_employer, make_provider, employer
):
    measure = _request(db, employee, response)
    other_admin = make_user(Role.ADMIN, employer=make_employer())
    login(client, other_admin)
    path = f"/admin/measures/{measure.id}"
    assert client.get(path).status_code == 404
    assert client.post(path, data={"form": "approved"}).status_code == 404
    listing = client.get("/admin/measures").get_data(as_text=True)
    assert f'/admin/measures/{measure.id}"' not in listing
    db.session.refresh(measure)
    assert measure.status == "requested"
    for user in (
        make_user(Role.HR, employer=employer),
        make_user(Role.EMPLOYEE, employer=employer),
        make_user(Role.PROVIDER, provider=make_provider()),
    ):
        client.post("/logout")
        login(client, user)
        assert client.get(path).status_code == 403
        assert client.get("/admin/measures").status_code == 403
        assert client.post(path, data={"form": "approved"}).status_code == 403


# --- adapted checklists -------------------------------------------------------------------


def _edit_data(template: ChecklistTemplate, **changes: dict[str, Any]) -> dict[str, Any]:
    """The edit form as posted, with ``changes`` per item key."""
    data: dict[str, Any] = {
        "form": "edit",
        "edit-title_de": template.title_de,
        "edit-title_en": template.title_en,
    }
    for n, item in enumerate(template.items):
        values = {
            "key": item.key,
            "question_de": item.question_de,
            "question_en": item.question_en,
            "help_de": item.help_de,
            "help_en": item.help_en,
            "weight": str(item.weight),
        } | changes.get(item.key, {})
        data |= {f"edit-items-{n}-{name}": value for name, value in values.items()}
    return data


def test_admin_copies_adapts_and_publishes_a_checklist_that_employees_then_answer(
    client, login, db, employer, admin, employee, screen
):
    login(client, admin)
    listing = client.get("/admin/checklists").get_data(as_text=True)
    assert "Screen workstation: ergonomic self-check" in listing
    copied = client.post(f"/admin/checklists/{screen.id}", data={"form": "copy"})
    assert copied.status_code == 302
    copy = db.session.scalars(
        select(ChecklistTemplate).where(ChecklistTemplate.employer_id == employer.id)
    ).one()
    assert copy.key == f"screen-workstation.{employer.id}.1"
    assert copy.version == 1
    assert copy.published_at is None
    assert copy.based_on_id == screen.id
    assert copy.id not in {t.id for t in current_templates(employer.id)}  # a draft

    path = f"/admin/checklists/{copy.id}"
    edited = client.post(
        path,
        data=_edit_data(
            copy,
            chair_height={"question_en": "Is your chair set to your height?", "weight": "5"},
            document_holder={"remove": "y"},
        )
        | {"edit-title_en": "Our screen check"},
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)
    db.session.expire_all()
    items = {item.key: item for item in copy.items}
    assert "document_holder" not in items
    assert items["chair_height"].question_en == "Is your chair set to your height?"
    assert items["chair_height"].weight == 5
    assert copy.title_en == "Our screen check"
    assert client.post(path, data={"form": "publish"}).status_code == 302
    db.session.expire_all()
    assert copy.published_at is not None
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type == "checklist_template")
    ).all()
    assert actions == [
        "admin.checklist_copied",
        "admin.checklist_changed",
        "admin.checklist_published",
    ]

    client.post("/logout")
    login(client, employee)
    assert "Our screen check" in client.get("/me/checklists").get_data(as_text=True)
    form = client.get(f"/me/checklists/{copy.key}").get_data(as_text=True)
    assert "Is your chair set to your height?" in form
    assert "document holder" not in form
    answered = client.post(f"/me/checklists/{copy.key}", data=form_data(copy))
    assert answered.status_code == 302


def test_published_versions_never_change_a_new_version_is_a_draft(
    client, login, db, employer, admin, screen
):
    from wellness.health.templates_admin import copy_template, publish

    copy = copy_template(employer.id, screen.id, admin.id)
    publish(employer.id, copy.id, admin.id)
    db.session.commit()
    login(client, admin)
    path = f"/admin/checklists/{copy.id}"
    assert client.post(path, data=_edit_data(copy)).status_code == 400
    started = client.post(path, data={"form": "new_version"})
    assert started.status_code == 302
    draft = db.session.scalars(
        select(ChecklistTemplate).where(
            ChecklistTemplate.key == copy.key, ChecklistTemplate.version == 2
        )
    ).one()
    assert draft.published_at is None
    assert started.headers["Location"].endswith(f"/admin/checklists/{draft.id}")
    # Starting again opens the same draft; discarding it leaves version 1 alone.
    client.post(path, data={"form": "new_version"})
    assert client.post(f"/admin/checklists/{draft.id}", data={"form": "discard"}).status_code == 302
    versions = db.session.scalars(
        select(ChecklistTemplate.version).where(ChecklistTemplate.key == copy.key)
    ).all()
    assert versions == [1]


def test_shipped_checklists_cannot_be_edited_and_bad_edits_are_refused(
    client, login, db, employer, admin, screen
):
    from wellness.health.templates_admin import copy_template

    login(client, admin)
    assert client.post(f"/admin/checklists/{screen.id}", data=_edit_data(screen)).status_code == 400
    published = client.post(
        f"/admin/checklists/{screen.id}", data={"form": "publish"}, follow_redirects=True
    )
    assert "Only a draft of your own copy can be changed" in published.get_data(as_text=True)
    assert db.session.scalars(select(ChecklistTemplate.employer_id)).all() == [None, None]

    copy = copy_template(employer.id, screen.id, admin.id)
    db.session.commit()
    path = f"/admin/checklists/{copy.id}"
    everything_removed = {item.key: {"remove": "y"} for item in copy.items}
    refused = client.post(path, data=_edit_data(copy, **everything_removed))
    assert refused.status_code == 400
    assert "Keep at least one question." in refused.get_data(as_text=True)
    too_heavy = client.post(path, data=_edit_data(copy, mouse={"weight": "11"}))
    assert too_heavy.status_code == 400
    db.session.expire_all()
    assert len(copy.items) == len(screen.items)


def test_another_employers_copy_does_not_exist_for_an_admin(
    client, login, db, employer, admin, screen, make_employer, make_user
):
    from wellness.health.templates_admin import copy_template

    copy = copy_template(employer.id, screen.id, admin.id)
    db.session.commit()
    login(client, make_user(Role.ADMIN, employer=make_employer()))
    path = f"/admin/checklists/{copy.id}"
    assert client.get(path).status_code == 404
    assert client.post(path, data={"form": "copy"}).status_code == 404
    assert client.post(path, data={"form": "publish"}).status_code == 404
    assert copy.key not in client.get("/admin/checklists").get_data(as_text=True)
