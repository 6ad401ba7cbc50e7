"""Error answers: styled pages for people, problem details for API clients, no internals."""

from __future__ import annotations

from flask_login.utils import _create_identifier


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<main" in page
    assert 'href="/static/css/app.css"' in page or "/static/css/" in page


def test_unknown_api_path_is_problem_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["title"]


def test_database_outage_still_answers_with_a_page_and_no_trace(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        # A signed-in browser: loading its user needs the database.
        session.update({"_user_id": "1:0", "_fresh": True, "_id": identifier})
    response = client.get("/me")
    assert response.status_code == 503  # wellness/unavailable.py: retry, not an error
    assert response.headers["Retry-After"].isdigit()
    page = response.get_data(as_text=True)
    assert "Temporarily unavailable" in page
    assert "Traceback" not in page
    assert "psycopg" not in page
