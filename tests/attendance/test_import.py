"""Attendance import over a corpus of provider files: every format, every error, exact reports.

Refused files must leave the database exactly as it was.
"""

from __future__ import annotations

import codecs
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.attendance import corpus
from tests.attendance.corpus import SESSION_DAYS
from wellness.attendance.models import AttendanceChange, AttendanceUpload
from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.courses.models import CourseSession
from wellness.i18n import BERLIN

SEPT = [f"{day:%d.%m.%Y}" for day in SESSION_DAYS]
ISO = [day.isoformat() for day in SESSION_DAYS]
A, B, C = "ANNA2345", "BERN3456", "CLAR4567"


@pytest.fixture
def setting(db, make_employer, make_provider, make_user) -> corpus.Setting:
    return corpus.build(db, make_employer, make_provider, make_user)


@pytest.fixture
def upload(app, db, setting):  # type: ignore[no-untyped-def]
    """``upload(data, dry_run=False, token_user=None, filename=...)`` -> (status, report)."""
    tokens: dict[int, str] = {}

    def send(
        data: bytes,
        *,
        dry_run: bool = False,
        user: Any = None,
        filename: str = "anwesenheit.csv",
        offering: Any = None,
    ) -> tuple[int, dict[str, Any]]:
        who = user or setting.provider_user
        if who.id not in tokens:
            tokens[who.id] = create_api_token(who, "import")
            db.session.commit()
        target = (offering or setting.offering).id
        url = f"/api/v1/provider/offerings/{target}/attendance"
        if dry_run:
            url += "?dry_run=true"
        response = app.test_client().post(
            url,
            data={"file": (io.BytesIO(data), filename)},
            headers={"Authorization": f"Bearer {tokens[who.id]}"},
        )
        return response.status_code, response.get_json()

    return send


def _ok(rows: int, created: int = 0, changed: int = 0, unchanged: int = 0) -> dict[str, Any]:
    return {
        "rows": rows,
        "created": created,
        "changed": changed,
        "unchanged": unchanged,
        "errors": [],
        "errors_total": 0,
        "dry_run": False,
        "stored": True,
    }


def _without_upload_id(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "upload_id"}


# --- formats -------------------------------------------------------------------------------


def test_long_german_excel_file_semicolons_windows_1252(db, setting, upload) -> None:
    lines = ["Teilnehmercode;Name;Datum;Anwesenheit"]
    for code, name, marks in (
        (A, "Anna Adler", ["anwesend", "anwesend", "entschuldigt", "anwesend"]),
        (B, "Bernd Müller", ["anwesend", "abwesend", "anwesend", "anwesend"]),
        (C, "Clara Çelik", ["Anwesend ", " ANWESEND", "anwesend", "abwesend"]),
    ):
        lines += [f"{code};{name};{day};{mark}" for day, mark in zip(SEPT, marks, strict=True)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("cp1252")

    status, report = upload(data)

    assert status == 200, report
    assert _without_upload_id(report) == _ok(rows=12, created=12)
    stored = corpus.marks(db, setting)
    assert stored[(A, SESSION_DAYS[2])] == "excused"
    assert stored[(B, SESSION_DAYS[1])] == "absent"
    assert stored[(C, SESSION_DAYS[0])] == "present"
    assert len(stored) == 12


def test_the_same_file_twice_changes_nothing_the_second_time(db, setting, upload) -> None:
    data = "\n".join(
        ["participant code,date,status"] + [f"{A},{day},present" for day in ISO]
    ).encode()
    assert upload(data)[0] == 200
    before = corpus.snapshot(db)

    status, report = upload(data)

    assert status == 200
    assert _without_upload_id(report) == _ok(rows=4, unchanged=4)
    after = corpus.snapshot(db)
    assert after["marks"] == before["marks"]
    assert after["changes"] == before["changes"], "no audit rows for unchanged marks"


def test_wide_roster_layout_with_bom_commas_and_crosses(db, setting, upload) -> None:
    # Excel's "CSV UTF-8": BOM, English headers in odd case, x for present, empty for absent;
    # the last session column is empty for everyone: not recorded yet, left alone.
    text = (
        "  PARTICIPANT CODE , Name ," + ",".join(ISO) + "\n"
        f"{A},Anna Adler,x,x,,\n"
        f"{B},Bernd Müller,X,,x,\n"
        f"{C.lower()},Clara Çelik,,x,x,\n"
    )
    status, report = upload(codecs.BOM_UTF8 + text.encode())

    assert status == 200, report
    assert _without_upload_id(report) == _ok(rows=3, created=9)
    stored = corpus.marks(db, setting)
    assert stored[(A, SESSION_DAYS[2])] == "absent"
    assert stored[(C, SESSION_DAYS[0])] == "absent"
    assert stored[(B, SESSION_DAYS[2])] == "present"
    assert (A, SESSION_DAYS[3]) not in stored


def test_tab_separated_utf16_with_emails_and_ones_and_zeros(db, setting, upload) -> None:
    lines = ["E-Mail\tDate\tStatus"]
    lines += [f"anna@alpha.test\t{day}\t1" for day in ISO]
    lines += [f"BERND@alpha.test\t{day}\t0" for day in ISO[:2]]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-16")

    status, report = upload(data, filename="export.txt")

    assert status == 200, report
    assert _without_upload_id(report) == _ok(rows=6, created=6)
    stored = corpus.marks(db, setting)
    assert stored[(A, SESSION_DAYS[3])] == "present"
    assert stored[(B, SESSION_DAYS[1])] == "absent"


def test_xlsx_wide_with_date_cells_in_the_header(db, setting, upload) -> None:
    header: list[Any] = ["Teilnehmercode", "Name"] + [
        datetime(d.year, d.month, d.day) for d in SESSION_DAYS
    ]
    data = corpus.xlsx(
        [
            header,
            [A, "Anna Adler", "anwesend", "anwesend", "anwesend", "anwesend"],
            [B, "Bernd Müller", 1, 0, 1, None],
            [None, None, None, None, None, None],
        ]
    )
    status, report = upload(data, filename="teilnehmerliste.xlsx")

    assert status == 200, report
    assert _without_upload_id(report) == _ok(rows=2, created=8)
    assert corpus.marks(db, setting)[(B, SESSION_DAYS[3])] == "absent"


def test_a_later_upload_corrects_an_earlier_one_and_the_change_is_audited(
    db, setting, upload
) -> None:
    first = "Teilnehmercode;Datum;Status\n" + "".join(f"{A};{d};anwesend\n" for d in SEPT)
    assert upload(first.encode())[0] == 200
    corrected = first.replace(f"{A};{SEPT[1]};anwesend", f"{A};{SEPT[1]};entschuldigt")

    status, report = upload(corrected.encode())

    assert status == 200
    assert _without_upload_id(report) == _ok(rows=4, changed=1, unchanged=3)
    change = db.session.scalars(
        select(AttendanceChange).order_by(AttendanceChange.id.desc())
    ).first()
    assert (change.old_status, change.new_status) == ("present", "excused")
    assert change.changed_by_id == setting.provider_user.id
    assert change.upload_id == report["upload_id"]
    uploads = db.session.scalars(select(AttendanceUpload).order_by(AttendanceUpload.id)).all()
    assert [(u.created_count, u.changed_count) for u in uploads] == [(4, 0), (0, 1)]


def test_dry_run_reports_and_stores_nothing(db, setting, upload) -> None:
    before = corpus.snapshot(db)
    data = "code,date,status\n" + "".join(f"{A},{d},present\n" for d in ISO)

    status, report = upload(data.encode(), dry_run=True)

    assert status == 200
    assert report["created"] == 4
    assert report["dry_run"] is True
    assert report["stored"] is False
    assert corpus.snapshot(db) == before


def test_excused_may_be_recorded_before_a_session_but_present_may_not(db, setting, upload) -> None:
    later = datetime.combine(date.today() + timedelta(days=10), datetime.min.time(), BERLIN)
    later = later.replace(hour=18)
    db.session.add(
        CourseSession(
            offering_id=setting.offering.id, starts_at=later, ends_at=later + timedelta(hours=1)
        )
    )
    db.session.commit()
    day = f"{later:%d.%m.%Y}"
    before = corpus.snapshot(db)

    status, report = upload(f"Teilnehmercode;Datum;Status\n{A};{day};anwesend\n".encode())

    assert status == 422
    assert report["errors"] == [
        {
            "row": 2,
            "column": "Status",
            "message": f"The session on {later:%b} {later.day}, {later.year} at 6:00\u202fPM has "
            'not taken place yet; only "excused" can be recorded in advance.',
        }
    ]
    assert corpus.snapshot(db) == before
    status, report = upload(f"Teilnehmercode;Datum;Status\n{A};{day};entschuldigt\n".encode())
    assert status == 200
    assert report["created"] == 1


# --- refused rows --------------------------------------------------------------------------


def test_every_row_error_is_reported_precisely_and_nothing_is_stored(db, setting, upload) -> None:
    rows = [
        "Participant code;Date;Status",
        f"{A};07.09.2026;present",  # 2 fine
        "ZZZZ9999;07.09.2026;present",  # 3 unknown participant
        "FNNF7892;07.09.2026;present",  # 4 participant of another offering of this provider
        "GRTA8923;07.09.2026;present",  # 5 another provider's participant: just unknown
        f"{A};08.09.2026;present",  # 6 not a session
        f"{A};07.09.2026;absent",  # 7 conflicts with row 2
        f"{B};14.09.2026;vielleicht",  # 8 unknown mark
        "DORA5678;07.09.2026;present",  # 9 waitlisted
        "EMIL6789;07.09.2026;present",  # 10 cancelled
        ";07.09.2026;present",  # 11 no participant
        f"{B};;present",  # 12 no date
        f"{B};31.02.2026;present",  # 13 not a date
        f"{A};07.09.2026;present",  # 14 repeats row 2 exactly: fine
        f"{C};14.09.2026;present;extra",  # 15 more cells than the header
    ]
    before = corpus.snapshot(db)

    status, report = upload("\n".join(rows).encode())

    assert status == 422
    assert report["errors"] == [
        {
            "row": 3,
            "column": "Participant code",
            "message": "No participant of this offering has the code or e-mail ZZZZ9999.",
        },
        {
            "row": 4,
            "column": "Participant code",
            "message": "FNNF7892 is a participant of another offering (Nackenschule, starting "
            "Oct 5, 2026), not of this one.",
        },
        {
            "row": 5,
            "column": "Participant code",
            "message": "No participant of this offering has the code or e-mail GRTA8923.",
        },
        {
            "row": 6,
            "column": "Date",
            "message": "Sep 8, 2026 is not a session of this offering. Its sessions are: "
            "9/7/26, 9/14/26, 9/21/26, 9/28/26.",
        },
        {
            "row": 7,
            "column": "Status",
            "message": "Row 2 already marks Anna Adler (ANNA2345) on 9/7/26 as present; this "
            "row says absent.",
        },
        {
            "row": 8,
            "column": "Status",
            "message": '"vielleicht" is not a mark we know. Use present, absent or excused '
            "(anwesend, abwesend, entschuldigt), x or 1 for present, 0 for absent.",
        },
        {
            "row": 9,
            "column": "Participant code",
            "message": "Dora Dorn (DORA5678) is on the waiting list, not a participant.",
        },
        {
            "row": 10,
            "column": "Participant code",
            "message": "Emil Engel (EMIL6789) cancelled their enrollment.",
        },
        {
            "row": 11,
            "column": "Participant code",
            "message": "The participant code (or e-mail) is missing.",
        },
        {"row": 12, "column": "Date", "message": "The date is missing."},
        {
            "row": 13,
            "column": "Date",
            "message": '"31.02.2026" is not a date; write dd.mm.yyyy or yyyy-mm-dd.',
        },
        {
            "row": 15,
            "column": None,
            "message": "This row has 4 cells but the header only 3 columns.",
        },
    ]
    assert report["errors_total"] == 12
    assert report["rows"] == 14
    assert corpus.snapshot(db) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (
            b"Anna;Montag;ja\n",
            "The first row must be a header naming the columns: a participant code (or e-mail) "
            'column, and either "date" and "status" columns (one row per participant and '
            "session) or one column per session date (one row per participant, as in the "
            "roster).",
        ),
        (
            b"Teilnehmercode;Datum;Datum;Status\n",
            'The header has the column "Datum" twice (columns 2 and 3).',
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "This is a PNG file, not a spreadsheet. Please upload the attendance as CSV or XLSX "
            "(Excel: File > Save as).",
        ),
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
            "This is a PDF file, not a spreadsheet. Please upload the attendance as CSV or XLSX "
            "(Excel: File > Save as).",
        ),
        (
            bytes(range(256)) * 8,
            "This file is not a text file (CSV) or an Excel workbook (XLSX) and cannot be read.",
        ),
        (
            b"PK\x03\x04 not really a zip",
            "The Excel file is damaged and cannot be opened.",
        ),
        (
            b"Teilnehmercode;Name;2026-09-07;32.13.2026\n",
            'Column 4 ("32.13.2026") is neither a known column nor a date; write session dates '
            "as dd.mm.yyyy or yyyy-mm-dd.",
        ),
    ],
    ids=[
        "empty",
        "no-header",
        "duplicate-column",
        "png",
        "pdf",
        "binary",
        "broken-zip",
        "bad-date-column",
    ],
)
def test_files_that_cannot_be_read_are_refused_whole(db, setting, upload, data, message) -> None:
    before = corpus.snapshot(db)

    status, report = upload(data)

    assert status == 422
    assert report["errors"] == [{"row": None, "column": None, "message": message}]
    assert corpus.snapshot(db) == before


def test_workbooks_with_many_sheets_or_that_expand_too_far_are_refused(db, setting, upload) -> None:
    before = corpus.snapshot(db)
    many = corpus.xlsx([["Teilnehmercode", "Datum", "Status"]], extra_sheets=12)

    assert upload(many, filename="a.xlsx")[1]["errors"] == [
        {
            "row": None,
            "column": None,
            "message": "The workbook has 13 sheets; put the attendance on the first sheet of a "
            "workbook with at most 10 sheets.",
        }
    ]
    status, report = upload(corpus.zip_bomb(), filename="bomb.xlsx")
    assert status == 422
    assert report["errors"][0]["message"].startswith("The Excel file expands to far more data")
    assert corpus.snapshot(db) == before


def test_size_and_row_limits(app, db, setting, monkeypatch) -> None:
    token = create_api_token(setting.provider_user, "limits")
    db.session.commit()
    before = corpus.snapshot(db)

    def send(body: bytes) -> tuple[int, dict[str, Any]]:
        response = app.test_client().post(
            f"/api/v1/provider/offerings/{setting.offering.id}/attendance",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        )
        return response.status_code, response.get_json()

    monkeypatch.setitem(app.config, "ATTENDANCE_MAX_BYTES", 1024 * 1024)
    status, report = send(b"code,date,status\n" + b"ANNA2345,2026-09-07,present\n" * 40_000)
    assert status == 422
    assert report["errors"] == [
        {
            "row": None,
            "column": None,
            "message": "The file is 1.1 MB; at most 1 MB can be uploaded.",
        }
    ]
    monkeypatch.setitem(app.config, "ATTENDANCE_MAX_ROWS", 3)
    status, report = send(b"code,date,status\n" + b"ANNA2345,2026-09-07,present\n" * 4)
    assert status == 422
    assert report["errors"] == [
        {
            "row": None,
            "column": None,
            "message": "The file has more than 3 rows; split it into smaller files.",
        }
    ]
    assert corpus.snapshot(db) == before


# --- who may upload ------------------------------------------------------------------------


def test_another_provider_cannot_touch_the_offering(db, setting, upload, make_user) -> None:
    before = corpus.snapshot(db)
    data = f"code,date,status\n{A},2026-09-07,present\n".encode()

    status, report = upload(data, user=setting.other_provider_user)

    assert status == 404
    assert report["status"] == 404
    employer = setting.offering.employer_links[0].employer
    status, _report = upload(data, user=make_user(Role.ADMIN, employer=employer))
    assert status == 403
    assert corpus.snapshot(db) == before


def test_csv_body_without_multipart(app, db, setting) -> None:
    token = create_api_token(setting.provider_user, "raw")
    db.session.commit()
    response = app.test_client().post(
        f"/api/v1/provider/offerings/{setting.offering.id}/attendance?dry_run=true",
        data=f"code,date,status\n{A},2026-09-07,present\n".encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert response.status_code == 200
    assert response.get_json()["created"] == 1


# --- the page: upload, preview, confirm ----------------------------------------------------


def test_upload_page_previews_every_change_then_stores_on_confirmation(
    app, db, setting, login
) -> None:
    client = login(app.test_client(), setting.provider_user)
    url = f"/provider/offerings/{setting.offering.id}/attendance"
    page = client.get(url)
    assert page.status_code == 200
    before = corpus.snapshot(db)
    data = "Teilnehmercode;Datum;Status\n" + "".join(f"{A};{d};anwesend\n" for d in SEPT)

    preview = client.post(
        url, data={"step": "preview", "file": (io.BytesIO(data.encode()), "liste.csv")}
    )

    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Anna Adler" in html
    assert "ANNA2345" in html
    after_preview = corpus.snapshot(db)
    assert after_preview["marks"] == before["marks"], "the preview stores no marks"
    assert after_preview["drafts"] == 1
    token = html.split('name="token" value="')[1].split('"')[0]

    done = client.post(url, data={"step": "confirm", "token": token})

    assert done.status_code == 302
    assert len(corpus.marks(db, setting)) == 4
    assert corpus.snapshot(db)["drafts"] == 0
    again = client.post(url, data={"step": "confirm", "token": token})
    assert again.status_code == 302, "an used preview cannot be confirmed twice"
    assert corpus.snapshot(db)["uploads"] == 1


def test_upload_page_lists_errors_with_rows_and_stores_nothing(app, db, setting, login) -> None:
    client = login(app.test_client(), setting.provider_user)
    before = corpus.snapshot(db)
    data = b"Teilnehmercode;Datum;Status\nANNA2345;07.09.2026;<script>alert(1)</script>\n"

    response = client.post(
        f"/provider/offerings/{setting.offering.id}/attendance",
        data={"step": "preview", "file": (io.BytesIO(data), "liste.csv")},
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert corpus.snapshot(db) == before


def test_another_providers_confirmation_token_finds_nothing(app, db, setting, login) -> None:
    owner = login(app.test_client(), setting.provider_user)
    url = f"/provider/offerings/{setting.offering.id}/attendance"
    data = f"code,date,status\n{A},2026-09-07,present\n".encode()
    html = owner.post(url, data={"step": "preview", "file": (io.BytesIO(data), "a.csv")}).get_data(
        as_text=True
    )
    token = html.split('name="token" value="')[1].split('"')[0]
    intruder = login(app.test_client(), setting.other_provider_user)

    assert intruder.post(url, data={"step": "confirm", "token": token}).status_code == 404
    assert corpus.marks(db, setting) == {}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_a_downloaded_roster_uploads_back_unchanged(app, db, setting, upload, kind, locale):
    """The roster's header and mark words are what the importer reads (two modules, one
    vocabulary): recorded once, downloaded, uploaded again, nothing changes."""
    marks = {A: ["present", "present", "absent", "excused"], B: ["excused"] * 4, C: ["absent"] * 4}
    first = "code,date,status\n" + "".join(
        f"{code},{day},{mark}\n"
        for code, row in marks.items()
        for day, mark in zip(ISO, row, strict=True)
    )
    assert upload(first.encode())[0] == 200
    setting.provider_user.locale = locale
    db.session.commit()
    token = create_api_token(setting.provider_user, "roster")
    db.session.commit()
    roster = app.test_client().get(
        f"/api/v1/provider/offerings/{setting.offering.id}/roster.{kind}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert roster.status_code == 200

    status, report = upload(roster.data, filename=f"roster.{kind}")

    assert status == 200, report
    assert report["created"] == report["changed"] == 0
    assert report["unchanged"] == 12
