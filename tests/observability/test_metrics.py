"""``/metrics``: the request histogram, errors and import durations in Prometheus format,
reachable from inside the cluster or with the token, refused from outside."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.attendance import corpus
from wellness.auth.services import create_api_token

TOKEN = "m" * 40
OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def _samples(body: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _count(body: str, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(
        value
        for (sample, sample_labels), value in _samples(body).items()
        if sample == name and wanted <= sample_labels
    )


@pytest.fixture
def metrics_app(app, make_app):  # type: ignore[no-untyped-def]
    return make_app(METRICS_TOKEN=TOKEN)


def test_metrics_show_the_request_histogram_by_route_template(metrics_app):
    client = metrics_app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/api/v1/offerings/424242")
    client.get("/healthz")
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    route = "/api/v1/offerings/<int:offering_id>"
    count = "wellness_http_request_duration_seconds_count"
    assert _count(body, count, route=route, method="GET", status_class="4xx") == (
        _count(before, count, route=route, method="GET", status_class="4xx") + 1
    )
    assert _count(body, count, route="/healthz", status_class="2xx") >= 1
    assert "424242" not in body


def test_metrics_count_server_errors(app, make_app):
    from wellness.auth.guards import public

    broken_app = make_app()

    @public
    def broken() -> str:
        raise RuntimeError("broken on purpose")

    broken_app.add_url_rule("/test/broken", "test_broken", broken)
    client = broken_app.test_client()
    errors = "wellness_http_request_errors_total"
    before = _count(client.get("/metrics").get_data(as_text=True), errors, route="/test/broken")
    assert client.get("/test/broken").status_code == 500
    after = _count(client.get("/metrics").get_data(as_text=True), errors, route="/test/broken")
    assert after == before + 1


def test_metrics_are_refused_from_outside_without_the_token(metrics_app):
    client = metrics_app.test_client()
    assert client.get("/metrics", environ_overrides=OUTSIDE).status_code == 403
    wrong = {"Authorization": "Bearer " + "x" * 40}
    assert client.get("/metrics", headers=wrong, environ_overrides=OUTSIDE).status_code == 403
    # Through the load balancer the peer is private, but the request came from outside.
    relayed = client.get(
        "/metrics",
        headers={"X-Forwarded-For": "198.51.100.4"},
        environ_overrides={"REMOTE_ADDR": "10.0.0.5"},
    )
    assert relayed.status_code == 403
    assert b"wellness_http" not in relayed.data


def test_metrics_are_served_from_outside_with_the_token(metrics_app):
    client = metrics_app.test_client()
    response = client.get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, environ_overrides=OUTSIDE
    )
    assert response.status_code == 200
    assert b"wellness_http_request_duration_seconds" in response.data


def test_metrics_are_served_to_a_private_network_scraper(metrics_app):
    client = metrics_app.test_client()
    inside = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "10.12.0.9"})
    assert inside.status_code == 200


def test_metrics_without_a_configured_token_never_accept_one(app, make_app):
    client = make_app(METRICS_TOKEN=None).test_client()
    response = client.get(
        "/metrics", headers={"Authorization": "Bearer "}, environ_overrides=OUTSIDE
    )
    assert response.status_code == 403


def test_attendance_import_durations_are_observed(app, db, make_employer, make_provider, make_user):
    setting = corpus.build(db, make_employer, make_provider, make_user)
    token = create_api_token(setting.provider_user, "import")
    db.session.commit()
    client = app.test_client()
    name = "wellness_attendance_import_duration_seconds_count"
    before = _count(client.get("/metrics").get_data(as_text=True), name, mode="dry_run")
    response = client.post(
        f"/api/v1/provider/offerings/{setting.offering.id}/attendance?dry_run=true",
        data={"file": (io.BytesIO(b"Teilnehmercode;Datum;Anwesenheit\nNOPE;x;y\n"), "a.csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in {200, 422}
    after = _count(client.get("/metrics").get_data(as_text=True), name, mode="dry_run")
    assert after == before + 1


def test_multiprocess_mode_adds_up_the_workers(tmp_path, database_url):
    """With PROMETHEUS_MULTIPROC_DIR, a scrape sees requests served by other processes."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "WELLNESS_ENV": "testing",
    }
    worker = (
        "from wellness import create_app\n"
        "app = create_app({'TESTING': True, 'SERVER_NAME': 'localhost'})\n"
        "import sys\n"
        "client = app.test_client()\n"
        "for _ in range(int(sys.argv[1])): client.get('/healthz')\n"
        "if sys.argv[2] == 'scrape': print(client.get('/metrics').get_data(as_text=True))\n"
    )
    for count in (3, 2):
        subprocess.run(  # noqa: S603 - our interpreter, our code
            [sys.executable, "-c", worker, str(count), "-"], env=env, check=True, timeout=120
        )
    scrape = subprocess.run(  # noqa: S603
        [sys.executable, "-c", worker, "0", "scrape"],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    name = "wellness_http_request_duration_seconds_count"
    assert _count(scrape.stdout, name, route="/healthz") == 5


def test_queue_depth_is_reported_per_queue_from_redis(app, make_app):
    from rq import Queue

    from wellness.jobs import queue_name, redis_connection

    prefix = f"obs-test-{uuid.uuid4().hex[:8]}"
    redis_app = make_app(REDIS_URL="redis://127.0.0.1:6379/0", JOB_QUEUE_PREFIX=prefix)
    connection = redis_connection(redis_app)
    mail = Queue(queue_name("mail", redis_app), connection=connection)
    try:
        mail.enqueue("builtins.print", "never run")
        mail.enqueue("builtins.print", "never run")
        body = redis_app.test_client().get("/metrics").get_data(as_text=True)
    finally:
        mail.delete(delete_jobs=True)
    assert _count(body, "wellness_job_queue_depth", queue="mail") == 2
    assert ("wellness_job_queue_depth", frozenset({("queue", "imports")})) in _samples(body)


def test_metrics_still_answer_when_redis_is_down(app, make_app):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{closed}/0")
    response = down.test_client().get("/metrics")
    assert response.status_code == 200
    assert b"wellness_job_queue_depth{" not in response.data
    assert b"wellness_http_request_duration_seconds" in response.data
