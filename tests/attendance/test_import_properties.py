"""Property-based: whatever bytes or CSV a provider sends, the answer is a report (200 or 422),
never a server error, and a refused file leaves no trace in the database."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attendance import corpus
from tests.attendance.corpus import SESSION_DAYS
from wellness.auth.services import create_api_token

HEADERS = ["Teilnehmercode", "participant code", "E-Mail", "Datum", "date", "Status", "Name"]
CODES = [
    "ANNA2345",
    "BERN3456",
    "CLAR4567",
    "DORA5678",
    "FNNF7892",
    "ZZZZ9999",
    "",
    "anna@alpha.test",
]
DATES = (
    [f"{d:%d.%m.%Y}" for d in SESSION_DAYS]
    + [d.isoformat() for d in SESSION_DAYS]
    + [
        "31.02.2026",
        "2026-09-08",
        "",
        "morgen",
    ]
)
MARKS = ["anwesend", "abwesend", "entschuldigt", "x", "1", "0", "", "present", "vielleicht"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16"]

cells = st.one_of(
    st.sampled_from(CODES + DATES + MARKS),
    st.text(max_size=12),
)
csv_files = st.builds(
    lambda header, rows, delimiter, encoding: (
        delimiter.join(header) + "\n" + "\n".join(delimiter.join(row) for row in rows)
    ).encode(encoding, errors="replace"),
    st.lists(st.sampled_from(HEADERS + DATES[:4]) | st.text(max_size=10), min_size=0, max_size=6),
    st.lists(st.lists(cells, max_size=7), max_size=12),
    st.sampled_from([";", ",", "\t", "|"]),
    st.sampled_from(ENCODINGS),
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def send(app, db, make_employer, make_provider, make_user):  # type: ignore[no-untyped-def]
    setting = corpus.build(db, make_employer, make_provider, make_user)
    token = create_api_token(setting.provider_user, "fuzz")
    db.session.commit()
    url = f"/api/v1/provider/offerings/{setting.offering.id}/attendance"

    def post(data: bytes, filename: str) -> tuple[int, dict[str, Any]]:
        response = app.test_client().post(
            url,
            data={"file": (io.BytesIO(data), filename)},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code, response.get_json()

    return post


def _check(db: Any, send: Any, data: bytes, filename: str) -> None:
    before = corpus.snapshot(db)
    status, report = send(data, filename)
    assert status in (200, 422), (status, report)
    if status == 422:
        assert report["errors"], report
        assert corpus.snapshot(db) == before
    else:
        assert report["stored"] is True


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_cause_a_server_error_or_a_partial_write(db, send, data) -> None:
    _check(db, send, data, "upload.csv")


@FUZZ
@given(data=csv_files)
def test_random_csv_files_never_cause_a_server_error_or_a_partial_write(db, send, data) -> None:
    _check(db, send, data, "liste.csv")


@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes_behind_a_zip_signature_are_refused_cleanly(db, send, data) -> None:
    _check(db, send, b"PK\x03\x04" + data, "liste.xlsx")
