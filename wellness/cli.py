"""The ``wellness`` command: Flask's CLI with our app factory and the operator's commands.

``wellness db upgrade|downgrade`` come from Flask-Migrate.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from wellness.auth import services as auth_services
from wellness.auth.models import Role
from wellness.courses.models import Provider
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.i18n import BERLIN
from wellness.tenants.models import Employer

ROOT = Path(__file__).resolve().parent.parent


def _in_english(command: Callable[..., None]) -> Callable[..., None]:
    """Run a command in English, as the rest of the command line speaks: domain messages
    (refusals, import problems) would otherwise come in German, the default outside a
    request."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        with force_locale("en"):
            command(*args, **kwargs)

    return run


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed the demo employers, providers and history (safe to run again)."""
    from wellness.demo import DEMO_LOGINS, DEMO_PASSWORD, seed

    created = seed()
    db.session.commit()
    click.echo("Demo data " + ("created." if created else "already present; nothing changed."))
    click.echo(f"Demo logins (password: {DEMO_PASSWORD}):")
    for email, role in DEMO_LOGINS:
        click.echo(f"  {role:<10} {email}")


@click.command("serve")
@click.option("--bind", default=None, help="Address to listen on, e.g. 127.0.0.1:8000.")
def serve_command(bind: str | None) -> None:
    """Run the app under gunicorn with infra/gunicorn.conf.py."""
    # The gunicorn of this interpreter, so it works without an activated virtualenv.
    args = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "infra" / "gunicorn.conf.py")]
    if bind:
        args += ["--bind", bind]
    args.append("wellness:create_app()")
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with gunicorn  # nosec B606


@click.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.option("--email", "emails", multiple=True, required=True, help="Account; repeatable.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Scope such as scim or analytics:read; repeatable. Default: all the account may hold.",
)
@click.option(
    "--expires-in",
    type=click.IntRange(min=1),
    default=None,
    help="Seconds; default and most: a year.",
)
@click.option("--name", default="cli", show_default=True, help="Label shown in token lists.")
@with_appcontext
@_in_english
def token_create(
    emails: tuple[str, ...], scopes: tuple[str, ...], expires_in: int | None, name: str
) -> None:
    """Print one new token per e-mail address, one per line, and nothing else."""
    tokens = []
    for email in emails:
        found = auth_services.find_user(email)
        if found is None:
            _fail(f"no user with the e-mail address {email}")
            return
        try:
            tokens.append(auth_services.create_api_token(found, name, scopes or None, expires_in))
        except DomainError as refused:
            _fail(f"{email}: {refused.message}")
            return
    db.session.commit()
    for token in tokens:
        click.echo(token)


@click.group("user")
def user_group() -> None:
    """User accounts."""


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role])
)
@click.option("--employer", "employer_slug", default=None, help="Employer short name.")
@click.option("--provider", "provider_slug", default=None, help="Provider short name.")
@click.option("--password", default=None, help="Omit to be asked (input hidden).")
@with_appcontext
@_in_english
def user_create(
    email: str,
    name: str,
    roles: tuple[str, ...],
    employer_slug: str | None,
    provider_slug: str | None,
    password: str | None,
) -> None:
    """Create an account, e.g. the first employer admin."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    employer_id = provider_id = None
    if employer_slug:
        employer_id = db.session.scalar(select(Employer.id).where(Employer.slug == employer_slug))
        if employer_id is None:
            _fail(f"no employer with the short name {employer_slug}")
    if provider_slug:
        provider_id = db.session.scalar(select(Provider.id).where(Provider.slug == provider_slug))
        if provider_id is None:
            _fail(f"no provider with the short name {provider_slug}")
    try:
        created = auth_services.create_user(
            auth_services.NewUser(
                email=email,
                name=name,
                roles=tuple(Role(r) for r in roles),
                employer_id=employer_id,
                provider_id=provider_id,
                password=password,
            )
        )
        if Role.EMPLOYEE in created.role_names and employer_id is not None:
            from wellness.tenants.models import Employee

            db.session.add(Employee(employer_id=employer_id, user_id=created.id))
    except DomainError as exc:
        _fail(exc.message)
        return
    db.session.commit()
    click.echo(f"Created {created.email} ({', '.join(sorted(roles))}).")


def _report_delivery(sent: int) -> None:
    from wellness.notifications.mail import outbox_state

    state = outbox_state()
    click.echo(f"Sent {sent} mails; {state.waiting} waiting; {state.failed} failed for good.")


@click.command("send-mail")
@with_appcontext
def send_mail_command() -> None:
    """Deliver queued mails and retry failed ones that are due (run it every few minutes)."""
    from flask import current_app

    from wellness.jobs.tasks import send_mail

    if not current_app.config.get("MAIL_SERVER"):
        click.echo("MAIL_SERVER is not set: mails stay in the in-app outbox.")
        return
    _report_delivery(send_mail())


def _parse_now(value: str | None) -> datetime | None:
    """``--now`` as ISO 8601; without an offset it is Berlin local time."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2026-03-01T18:00+01:00", param_hint="--now"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BERLIN)
    return parsed


@click.command("send-reminders")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO 8601).")
@with_appcontext
def send_reminders_command(now_text: str | None) -> None:
    """Queue reminders for tomorrow's sessions (safe to run again), then send mail."""
    from flask import current_app

    from wellness.jobs.tasks import send_mail, send_reminders

    run = send_reminders(_parse_now(now_text))
    click.echo(
        f"Sessions tomorrow: {run.sessions}; reminders queued: {run.queued}; "
        f"already queued before: {run.already_queued}."
    )
    if current_app.config.get("MAIL_SERVER"):
        _report_delivery(send_mail())
    else:
        click.echo("MAIL_SERVER is not set: mails stay in the in-app outbox.")


@click.command("purge-expired")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO 8601).")
@with_appcontext
def purge_expired_command(now_text: str | None) -> None:
    """Delete health data older than each employer's retention period (safe to run daily)."""
    from wellness.jobs.tasks import purge_expired

    results = purge_expired(_parse_now(now_text))
    for result in results:
        counts = result.counts
        if not counts.total:
            continue
        click.echo(
            f"{result.employer_slug}: kept from {result.cutoff.isoformat()} "
            f"({result.retention_months} months); deleted {counts.pain_checkins} pain check-ins "
            f"({counts.pain_scores} scores), {counts.checklist_responses} checklists "
            f"({counts.checklist_answers} answers), {counts.exercise_logs} training logs "
            f"({counts.exercise_entries} exercises); "
            f"{counts.measures_anonymized} measures no longer linked to a person."
        )
    total = sum(result.counts.total for result in results)
    click.echo(f"Employers checked: {len(results)}; rows deleted or unlinked: {total}.")


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_rollups_command() -> None:
    """Recompute the analytics rollups from the raw rows (after a bulk load or a restore)."""
    from wellness.jobs.tasks import rebuild_rollups

    started = time.perf_counter()
    rows = rebuild_rollups()
    click.echo(f"pain_months: {rows} rows in {time.perf_counter() - started:.1f} s.")


@click.command("import-employees")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--employer", "employer_slug", required=True, help="Employer short name.")
@click.option("--dry-run", is_flag=True, help="Check the file and show the changes; store nothing.")
@with_appcontext
@_in_english
def import_employees_command(file: Path, employer_slug: str, dry_run: bool) -> None:
    """Create or update employees from a CSV or XLSX file (keyed on the employee number)."""
    from wellness.tenants.employee_import import import_employees

    employer = db.session.scalar(select(Employer).where(Employer.slug == employer_slug))
    if employer is None:
        _fail(f"no employer with the short name {employer_slug}")
        return
    with file.open("rb") as stream:
        report = import_employees(
            employer, stream, filename=file.name, actor_id=None, dry_run=dry_run
        )
    if not report.ok:
        db.session.rollback()
        for error in report.errors:
            where = ", ".join(
                part
                for part in (f"Row {error.row}" if error.row else "", error.column or "")
                if part
            )
            click.echo(f"{where}: {error.message}" if where else error.message, err=True)
        if report.errors_total > len(report.errors):
            click.echo(f"... {report.errors_total} problems in all.", err=True)
        click.echo(f"{report.errors_total} problems; nothing was stored.", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for path in report.new_departments:
        click.echo(f"New department: {path}")
    click.echo(
        f"{'Would import' if dry_run else 'Imported'} {report.rows} rows: "
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged."
    )


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs from the Redis queues (mail, default, imports); needs REDIS_URL."""
    from flask import current_app

    from wellness.jobs import JobsNotConfigured
    from wellness.jobs.worker import make_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        worker = make_worker(app)
    except JobsNotConfigured as exc:
        _fail(str(exc))
        return
    worker.work(burst=burst)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue the periodic jobs: mail every minute, rollups 2:00, purge 3:00, reminders 8:00
    (Berlin time); needs REDIS_URL. Run one (a second one is harmless)."""
    from flask import current_app

    from wellness.jobs import JobsNotConfigured
    from wellness.jobs.scheduler import run

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        run(app, echo=click.echo)
    except JobsNotConfigured as exc:
        _fail(str(exc))


def register_cli(app: Flask) -> None:
    for command in (
        demo_command,
        serve_command,
        token_group,
        user_group,
        send_mail_command,
        send_reminders_command,
        purge_expired_command,
        rebuild_rollups_command,
        import_employees_command,
        worker_command,
        scheduler_command,
    ):
        app.cli.add_command(command)


def main() -> None:
    from wellness import create_app

    FlaskGroup(
        create_app=create_app, name="wellness", help="wellness: the operator's command line."
    )()
