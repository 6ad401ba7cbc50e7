"""The provider's participants page and roster download (CSV and XLSX), and the spreadsheet
export underneath: layout in both languages, existing marks, formula injection, access."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from wellness.attendance.models import Attendance, Certificate
from wellness.auth.models import Role
from wellness.courses import enrollment as enrollment_service
from wellness.courses.models import CourseSession, Enrollment, Offering
from wellness.extensions import db as _db
from wellness.i18n import BERLIN
from wellness.spreadsheet import csv_bytes, neutralize, xlsx_bytes

EVIL_NAMES = ['=HYPERLINK("http://evil")', "+1", "@SUM(A1)", "-2+3", "\t=1", "\r=1"]


# --- helpers shared with tests/api/test_provider_api.py ------------------------------------


def enroll(make_user, employer, offering: Offering, name: str) -> Enrollment:
    """A new employee of ``employer`` called ``name`` takes a seat (or the waitlist)."""
    person = make_user(Role.EMPLOYEE, employer=employer, name=name)
    found = enrollment_service.enroll(person.employee, offering.id)
    _db.session.commit()
    return found


def mark(db, enrollment: Enrollment, session: CourseSession, status: str) -> None:
    db.session.add(Attendance(enrollment_id=enrollment.id, session_id=session.id, status=status))
    db.session.commit()


def berlin_dates(offering: Offering, fmt: str) -> list[str]:
    return [s.starts_at.astimezone(BERLIN).strftime(fmt) for s in offering.sessions]


def parse_csv(content: bytes, delimiter: str) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel reads umlauts"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


def parse_xlsx(content: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def employer(make_employer):
    return make_employer(locale="en")


@pytest.fixture
def provider(make_provider):
    return make_provider()


@pytest.fixture
def offering(employer, provider, make_offering):
    return make_offering(employer, provider=provider, sessions=3, capacity=2)


@pytest.fixture
def trainer_client(app, login, provider, make_user):
    """A new client signed in as a trainer of the provider; ``trainer_client("de")`` for German."""

    def build(locale: str = "en"):
        return login(app.test_client(), make_user(Role.PROVIDER, provider=provider, locale=locale))

    return build


@pytest.fixture
def classroom(db, employer, offering, make_user):
    """Two enrolled people with marks, one on the waitlist, one who cancelled."""
    sessions = offering.sessions
    zoe = enroll(make_user, employer, offering, "Zoë Zander")
    anna = enroll(make_user, employer, offering, "Ärger Anna")
    waiting = enroll(make_user, employer, offering, "Walter Waitlist")
    mark(db, anna, sessions[0], "present")
    mark(db, anna, sessions[1], "absent")
    mark(db, zoe, sessions[2], "excused")
    enrollment_service.cancel(zoe.employee, offering.id)  # frees a seat: Walter moves up
    db.session.commit()
    enrollment_service.enroll(zoe.employee, offering.id)  # back, now on the waitlist
    db.session.commit()
    return {"anna": anna, "walter": waiting, "zoe": zoe}


# --- the roster file -----------------------------------------------------------------------


LAYOUTS = {
    "de": {
        "header": ["Teilnehmercode", "Name"],
        "marks": {"present": "anwesend", "absent": "abwesend", "excused": "entschuldigt"},
        "date": "%d.%m.%Y",
        "delimiter": ";",
        "prefix": "teilnehmerliste",
    },
    "en": {
        "header": ["Participant code", "Name"],
        "marks": {"present": "present", "absent": "absent", "excused": "excused"},
        "date": "%Y-%m-%d",
        "delimiter": ",",
        "prefix": "roster",
    },
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_roster_lists_enrolled_participants_by_name_with_session_dates_and_marks(
    db, employer, offering, make_user, trainer_client, locale, kind
):
    sessions = offering.sessions
    anna = enroll(make_user, employer, offering, "Ärger Anna")
    bert = enroll(make_user, employer, offering, "bert Brandt")
    enroll(make_user, employer, offering, "Walter Waitlist")  # capacity 2: waitlisted
    mark(db, anna, sessions[0], "present")
    mark(db, anna, sessions[1], "absent")
    mark(db, anna, sessions[2], "excused")
    mark(db, bert, sessions[1], "present")
    layout = LAYOUTS[locale]

    response = trainer_client(locale).get(f"/provider/offerings/{offering.id}/roster.{kind}")

    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    expected_name = f"{layout['prefix']}-neue-rueckenschule-{offering.starts_on}.{kind}"
    assert f"filename={expected_name}" in disposition
    assert disposition.startswith("attachment")
    table = (
        parse_csv(response.data, layout["delimiter"])
        if kind == "csv"
        else parse_xlsx(response.data)
    )
    words = layout["marks"]
    assert table == [
        [*layout["header"], *berlin_dates(offering, layout["date"])],
        [anna.participant_code, "Ärger Anna", words["present"], words["absent"], words["excused"]],
        [bert.participant_code, "bert Brandt", "", words["present"], ""],
    ]


def test_csv_uses_the_excel_content_type(offering, trainer_client):
    response = trainer_client().get(f"/provider/offerings/{offering.id}/roster.csv")
    assert response.mimetype == "text/csv"
    xlsx = trainer_client().get(f"/provider/offerings/{offering.id}/roster.xlsx")
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_roster_leaves_out_waitlisted_and_cancelled_people(offering, classroom, trainer_client):
    table = parse_csv(
        trainer_client().get(f"/provider/offerings/{offering.id}/roster.csv").data, ","
    )
    codes = [row[0] for row in table[1:]]
    # Zoë cancelled and came back on the waitlist; Walter moved up into her seat.
    assert codes == [classroom["anna"].participant_code, classroom["walter"].participant_code]


def test_two_sessions_on_one_day_get_their_start_times(db, offering, trainer_client):
    first, second = (s.starts_at.astimezone(BERLIN) for s in offering.sessions[:2])
    morning = datetime.combine(first.date(), time(9, 30), tzinfo=BERLIN)
    db.session.add(
        CourseSession(
            offering_id=offering.id, starts_at=morning, ends_at=morning + timedelta(hours=1)
        )
    )
    db.session.commit()
    day, later = first.date(), second.date()

    english = parse_csv(
        trainer_client("en").get(f"/provider/offerings/{offering.id}/roster.csv").data, ","
    )[0]
    german = parse_xlsx(
        trainer_client("de").get(f"/provider/offerings/{offering.id}/roster.xlsx").data
    )[0]

    assert english[2:4] == [f"{day:%Y-%m-%d} 09:30", f"{day:%Y-%m-%d} 18:00"]
    assert english[4] == f"{later:%Y-%m-%d}"
    assert german[2:5] == [f"{day:%d.%m.%Y} 09:30", f"{day:%d.%m.%Y} 18:00", f"{later:%d.%m.%Y}"]


@pytest.mark.parametrize("name", EVIL_NAMES[:4])
def test_formula_names_are_neutralized_in_csv_and_stored_as_text_in_xlsx(
    employer, offering, make_user, trainer_client, name
):
    enroll(make_user, employer, offering, name)
    browser = trainer_client()

    csv_table = parse_csv(browser.get(f"/provider/offerings/{offering.id}/roster.csv").data, ",")
    xlsx = browser.get(f"/provider/offerings/{offering.id}/roster.xlsx").data

    assert csv_table[1][1] == "'" + name
    cell = load_workbook(io.BytesIO(xlsx)).active["B2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (name, "s", True)
    sheet_xml = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml
    assert b"<f " not in sheet_xml


# --- the participants page -----------------------------------------------------------------


def test_participants_page_shows_marks_attendance_certificate_and_waitlist(
    db, offering, classroom, trainer_client
):
    anna = classroom["anna"]
    db.session.add(
        Certificate(
            enrollment_id=anna.id,
            verification_code="ABCDEFGH12345678",
            sessions_attended=1,
            sessions_total=3,
            fee_cents=15000,
            fee_paid=True,
        )
    )
    db.session.commit()

    page = trainer_client().get(f"/provider/offerings/{offering.id}/participants")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert anna.participant_code in body
    assert "Ärger Anna" in body
    assert classroom["walter"].participant_code in body
    assert classroom["zoe"].participant_code not in body  # on the waitlist now
    assert "1 of 3" in body  # Anna: present once
    assert "0 of 3" in body  # Walter: nothing recorded
    assert "Certificate issued" in body
    assert re.search(r"Waiting list</dt>\s*<dd>1</dd>", body)
    for word in ("present", "absent"):
        assert f'<span class="visually-hidden">{word}</span>' in body
    assert f"/provider/offerings/{offering.id}/roster.csv" in body
    assert f"/provider/offerings/{offering.id}/roster.xlsx" in body
    assert f'href="/provider/offerings/{offering.id}/attendance">Upload attendance' in body


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil")', "<script>alert(1)</script>"])
def test_participant_names_are_escaped_on_the_page(
    employer, offering, make_user, trainer_client, name
):
    enroll(make_user, employer, offering, name)
    body = (
        trainer_client()
        .get(f"/provider/offerings/{offering.id}/participants")
        .get_data(as_text=True)
    )
    assert name not in body
    escaped = name.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    assert escaped in body


def test_empty_offering_says_nobody_is_enrolled(offering, trainer_client):
    body = (
        trainer_client()
        .get(f"/provider/offerings/{offering.id}/participants")
        .get_data(as_text=True)
    )
    assert "Nobody is enrolled yet" in body


def test_offering_page_links_to_participants(offering, trainer_client):
    body = trainer_client().get(f"/provider/offerings/{offering.id}").get_data(as_text=True)
    assert f'href="/provider/offerings/{offering.id}/participants"' in body


def test_index_counts_participants_with_one_query_for_all_offerings(
    app, db, employer, provider, offering, classroom, make_offering, trainer_client
):
    browser = trainer_client()
    statements: list[str] = []

    def count(conn, cursor, statement, *args: object) -> None:
        statements.append(statement)

    def index_statements() -> tuple[str, int]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            body = browser.get("/provider/").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return body, len(statements)

    body, with_one = index_statements()
    assert f'href="/provider/offerings/{offering.id}/participants">2 of 2' in body
    for _ in range(3):
        make_offering(employer, provider=provider)
    body, with_four = index_statements()
    assert with_four == with_one
    assert body.count("/participants") == 4


# --- access --------------------------------------------------------------------------------

PATHS = ["participants", "roster.csv", "roster.xlsx"]


@pytest.mark.parametrize("path", PATHS)
def test_another_providers_offering_is_not_found(
    employer, make_offering, make_provider, trainer_client, path
):
    foreign = make_offering(employer, provider=make_provider())
    assert trainer_client().get(f"/provider/offerings/{foreign.id}/{path}").status_code == 404


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.HR, Role.ADMIN])
@pytest.mark.parametrize("path", PATHS)
def test_only_providers_see_participants_and_rosters(
    client, login, employer, offering, make_user, role, path
):
    login(client, make_user(role, employer=employer))
    assert client.get(f"/provider/offerings/{offering.id}/{path}").status_code == 403


# --- spreadsheet export --------------------------------------------------------------------


@pytest.mark.parametrize("value", EVIL_NAMES)
def test_neutralize_prefixes_formula_starters_with_an_apostrophe(value):
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["Anna", "", " =1", "1+1", "a@b.de", None, -5, 2.5])
def test_neutralize_keeps_harmless_values(value):
    assert neutralize(value) == value


def test_csv_bytes_quotes_delimiters_and_keeps_numbers():
    content = csv_bytes([["Müller; Anna", 3, None, "=1+2"]], delimiter=";")
    assert content == '\ufeff"Müller; Anna";3;;\'=1+2\r\n'.encode()


def test_xlsx_bytes_sanitizes_the_sheet_title_and_drops_control_characters():
    content = xlsx_bytes("Kurs: [Rücken]/Fit? * " + "x" * 40, [["a\x00b\x07", 1, None]])
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.active
    assert sheet.title.startswith("Kurs")
    assert len(sheet.title) == 31
    assert not set(sheet.title) & set("\\/?*[]:")
    assert [c.value for c in sheet[1]] == ["ab", 1]


def test_csv_writes_fractions_as_the_delimiters_spreadsheet_reads_them():
    rows = [["Abteilung", "Wert"], ["=Vertrieb", -0.5], ["Montage", 74.25], ["Alle", 3]]
    german = csv_bytes(rows, delimiter=";").decode("utf-8-sig").splitlines()
    assert german[1:] == ["'=Vertrieb;-0,5", "Montage;74,25", "Alle;3"]
    english = csv_bytes(rows, delimiter=",").decode("utf-8-sig").splitlines()
    assert english[1:] == ["'=Vertrieb,-0.5", "Montage,74.25", "Alle,3"]
