"""infra/: every manifest parses, has the kinds the issue asks for, probes the right endpoints,
runs as non-root, and only runs commands the ``wellness`` CLI really has. Plus a real gunicorn
started with infra/gunicorn.conf.py: JSON lines only, metrics added up over its workers."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
WELLNESS = Path(sys.executable).parent / "wellness"


def _manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((INFRA / "k8s").glob("*.yaml")):
        with path.open() as handle:
            documents += [doc for doc in yaml.safe_load_all(handle) if doc]
    return documents


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _manifests() if doc["kind"] == kind]


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for doc in _manifests():
        if doc["kind"] in {"Deployment", "Job"}:
            specs.append((doc["metadata"]["name"], doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            specs.append(
                (doc["metadata"]["name"], doc["spec"]["jobTemplate"]["spec"]["template"]["spec"])
            )
    return specs


@pytest.fixture(scope="module")
def cli_commands(tmp_path_factory) -> set[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """Every command of ``wellness`` as a tuple (``("db", "upgrade")``), read from its help."""
    env = {
        **os.environ,
        "WELLNESS_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.sqlite'}",
    }

    def listed(*group: str) -> list[str]:
        out = subprocess.run(  # noqa: S603 - our own command
            [str(WELLNESS), *group, "--help"], env=env, capture_output=True, text=True, check=True
        ).stdout
        section = out.split("Commands:", 1)[1]
        return re.findall(r"^  (\S+)", section, re.M)

    commands: set[tuple[str, ...]] = {(name,) for name in listed()}
    commands |= {("db", name) for name in listed("db")}
    return commands


def _command(args: list[str], commands: set[tuple[str, ...]]) -> tuple[str, ...]:
    for length in (2, 1):
        if tuple(args[:length]) in commands:
            return tuple(args[:length])
    raise AssertionError(f"{args} is not a wellness command; known: {sorted(commands)}")


def test_every_manifest_parses_and_the_issue_kinds_are_there():
    kinds = {doc["kind"] for doc in _manifests()}
    assert {
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "Job",
        "CronJob",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
    } <= kinds
    for doc in _manifests():
        assert doc["apiVersion"], doc
        assert doc["metadata"]["name"], doc


def test_web_probes_point_at_healthz_and_readyz():
    web = next(d for d in _by_kind("Deployment") if d["metadata"]["name"] == "wellness-web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    ports = {port["name"] for port in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ports


def test_service_hpa_and_pdb_select_the_web_pods():
    web = next(d for d in _by_kind("Deployment") if d["metadata"]["name"] == "wellness-web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    assert web["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (service,) = _by_kind("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    (pdb,) = _by_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (hpa,) = _by_kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "wellness-web"
    assert hpa["spec"]["minReplicas"] >= 2  # with the PDB's minAvailable 1, drains keep serving
    (ingress,) = _by_kind("Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]


def test_every_pod_runs_as_non_root_with_a_read_only_root_and_limits():
    for name, spec in _pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"requests", "limits"} <= container["resources"].keys(), name
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            # Gunicorn's heartbeats and the metrics files need a writable /tmp.
            assert "/tmp" in mounts, name  # noqa: S108 - a path in a manifest, not a temp file


def test_every_container_runs_a_real_wellness_command(cli_commands):
    ran = set()
    for _name, spec in _pod_specs():
        for container in spec["containers"]:
            ran.add(_command(container["args"], cli_commands))
    assert {("serve",), ("worker",), ("db", "upgrade")} <= ran
    # CronJobs for reminders, rollups and purge (the issue), plus the mail retry sweep.
    assert {("send-reminders",), ("rebuild-rollups",), ("purge-expired",)} <= ran
    for cron in _by_kind("CronJob"):
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        assert cron["spec"]["timeZone"] == "Europe/Berlin"


def test_compose_has_two_apps_worker_scheduler_databases_and_a_migration(cli_commands):
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "migrate",
        "worker",
        "scheduler",
        "app-1",
        "app-2",
    } <= services.keys()
    commands = {
        name: _command(service.get("command", ["serve"]), cli_commands)
        for name, service in services.items()
        if service.get("image", "").startswith("wellness")
    }
    assert commands == {
        "migrate": ("db", "upgrade"),
        "app-1": ("serve",),
        "app-2": ("serve",),
        "worker": ("worker",),
        "scheduler": ("scheduler",),
    }
    for name in ("app-1", "app-2", "worker", "scheduler"):
        waits = services[name]["depends_on"]
        assert waits["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert services[name]["read_only"] is True
    assert "migrate" not in services["migrate"]["depends_on"]
    nginx = (INFRA / "nginx.conf").read_text()
    assert "server app-1:8000" in nginx
    assert "server app-2:8000" in nginx


def test_dockerfile_is_multi_stage_non_root_with_a_health_check():
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users
    assert not users[-1].startswith(("0", "root"))
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", dockerfile, re.M)
    assert 'ENTRYPOINT ["wellness"]' in dockerfile
    assert 'CMD ["serve"]' in dockerfile
    for copied in re.findall(r"^COPY (?:--\S+ )*(\S+) ", dockerfile, re.M):
        if not copied.startswith("/"):
            assert (ROOT / copied).exists(), copied


def test_gunicorn_config_reads_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("LOG_FORMAT", "json")
    settings = runpy.run_path(str(INFRA / "gunicorn.conf.py"))
    assert settings["workers"] == 3
    assert settings["worker_class"] == "gthread"
    assert settings["accesslog"] is None  # the app's own request line replaces it
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert settings["logconfig_dict"]["loggers"]["gunicorn.error"]["handlers"] == ["error_console"]
    monkeypatch.delenv("WEB_CONCURRENCY")
    assert 1 <= runpy.run_path(str(INFRA / "gunicorn.conf.py"))["workers"] <= 8


def _readyz_served(base: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()  # noqa: S310
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "wellness_http_request_duration_seconds_count"
        and sample.labels["route"] == "/readyz"
    )


def test_gunicorn_writes_json_lines_and_adds_up_metrics_over_workers(tmp_path, database_url):
    """A real gunicorn with infra/gunicorn.conf.py, two workers, multiprocess metrics."""
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    (metrics_dir).mkdir()
    (metrics_dir / "counter_99999.db").write_bytes(b"stale")  # must be wiped at start
    env = {
        **os.environ,
        "WELLNESS_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "gunicorn-test-secret-key-of-enough-length",
        "LOG_FORMAT": "json",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(  # noqa: S603 - our interpreter, our config
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(INFRA / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "wellness:create_app()",
            ],
            env=env,
            stderr=stderr,
            stdout=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("gunicorn did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        before = _readyz_served(base)
        # Counted on another route than the start-up probes (a probe that timed out while a
        # worker was booting may still be answered later).
        for _ in range(20):
            urllib.request.urlopen(f"{base}/readyz?from=test", timeout=5)  # noqa: S310
        after = _readyz_served(base)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert after - before == 20  # whichever of the two workers answered each one
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON, gunicorn's own too
    loggers = {entry["logger"] for entry in parsed}
    assert {"gunicorn.error", "wellness.request"} <= loggers
    assert not any("from=test" in line for line in lines)
