"""Queue mail inside the transaction, deliver after commit.

Services call :func:`queue_mail`; after a request that queued mail, :func:`deliver_after_request`
sends what the view committed, and ``wellness send-mail`` (run it from cron) retries failures.
Without ``MAIL_SERVER`` (development) mails stay in the outbox table, which people can read in
the UI. A mail that cannot be sent is retried with back-off and never fails the request that
queued it: the enrollment is committed before delivery starts.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import Response, current_app, g, has_request_context
from sqlalchemy import ColumnElement, func, or_, select, update

from wellness.db import dialect_insert, utcnow
from wellness.extensions import db
from wellness.notifications.models import OutboundMail

#: Attempts before a mail is given up on and stays visible as failed.
MAX_ATTEMPTS = 6
#: Wait after the 1st, 2nd, ... failed attempt.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
#: While one process sends a mail, others leave it alone this long (a crash releases it then).
CLAIM_LEASE = timedelta(minutes=10)
#: Upper bound per run, so a huge backlog cannot keep one request busy for long.
BATCH_LIMIT = 200

#: ``(filename, content type, text)``, e.g. ``("kurs.ics", "text/calendar; method=PUBLISH", ...)``.
Attachment = tuple[str, str, str]


def _existing(dedupe_key: str) -> OutboundMail:
    return db.session.scalars(
        select(OutboundMail).where(OutboundMail.dedupe_key == dedupe_key)
    ).one()


def queue_mail(
    recipient: str,
    subject: str,
    body: str,
    kind: str,
    user_id: int | None = None,
    *,
    dedupe_key: str | None = None,
    attachment: Attachment | None = None,
) -> OutboundMail:
    """Record a mail for delivery after commit.

    With a ``dedupe_key`` that was queued before (by this or a concurrent transaction), nothing
    is queued and the earlier mail is returned: a retried request or a second reminder run does
    not mail twice.
    """
    if has_request_context():
        g.mail_queued = True
    values = {
        "recipient": recipient,
        "subject": subject,
        "body_text": body,
        "kind": kind,
        "user_id": user_id,
        "dedupe_key": dedupe_key,
    }
    if attachment is not None:
        filename, content_type, text = attachment
        values |= {
            "attachment_filename": filename,
            "attachment_content_type": content_type,
            "attachment_body": text,
        }
    if dedupe_key is None:
        mail = OutboundMail(**values)
        db.session.add(mail)
        db.session.flush()
        return mail
    # One statement, no savepoint: an earlier or concurrent mail with the same key wins (the
    # database waits for a concurrent insert to commit or roll back), and this transaction,
    # the enrollment the mail belongs to, goes on either way.
    queued = db.session.scalars(
        dialect_insert()(OutboundMail)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[OutboundMail.dedupe_key])
        .returning(OutboundMail)
    ).first()
    return queued or _existing(dedupe_key)


def _message(mail: OutboundMail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(config["MAIL_SENDER"])[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(f"mail-{mail.id}", domain=domain)
    message.set_content(mail.body_text)
    if mail.attachment_filename and mail.attachment_body is not None:
        content_type, *raw_params = (mail.attachment_content_type or "text/plain").split(";")
        maintype, _slash, subtype = content_type.strip().lower().partition("/")
        params = {
            key.strip().lower(): value.strip().strip('"')
            for key, _eq, value in (p.partition("=") for p in raw_params)
            if key.strip() and key.strip().lower() != "charset"
        }
        if maintype == "text":
            message.add_attachment(
                mail.attachment_body,
                subtype=subtype or "plain",
                filename=mail.attachment_filename,
                params=params,
            )
        else:
            message.add_attachment(
                mail.attachment_body.encode(),
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=mail.attachment_filename,
                params=params,
            )
    return message


def _send(mail: OutboundMail) -> None:
    config = current_app.config
    message = _message(mail)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Unsent, not given up, and not waiting for a retry (or another sender)."""
    return (
        OutboundMail.sent_at.is_(None),
        OutboundMail.attempts < MAX_ATTEMPTS,
        or_(OutboundMail.next_attempt_at.is_(None), OutboundMail.next_attempt_at <= now),
    )


def _claim(mail_id: int, now: datetime) -> bool:
    """Mark the mail as being sent by this process; ``False`` if another process was faster."""
    result = db.session.execute(
        update(OutboundMail)
        .where(OutboundMail.id == mail_id, *_due(now))
        .values(next_attempt_at=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _record_failure(mail: OutboundMail, exc: BaseException, now: datetime) -> None:
    mail.attempts += 1
    mail.error = type(exc).__name__
    if mail.attempts >= MAX_ATTEMPTS:
        mail.next_attempt_at = None
    else:
        mail.next_attempt_at = now + BACKOFF[min(mail.attempts, len(BACKOFF)) - 1]
    current_app.logger.warning(
        "mail %s (%s) not delivered, attempt %s of %s: %s",
        mail.id,
        mail.kind,
        mail.attempts,
        MAX_ATTEMPTS,
        type(exc).__name__,
    )


def deliver_queued(now: datetime | None = None) -> int:
    """Send every due mail over SMTP; returns how many went out. Never raises.

    Commits its own bookkeeping, so call it after the caller's transaction is committed.
    """
    if not current_app.config.get("MAIL_SERVER"):
        return 0
    now = now or utcnow()
    sent = 0
    try:
        due_ids = db.session.scalars(
            select(OutboundMail.id)
            .where(*_due(now))
            .order_by(OutboundMail.created_at, OutboundMail.id)
            .limit(BATCH_LIMIT)
        ).all()
        for mail_id in due_ids:
            if not _claim(mail_id, now):
                continue
            mail = db.session.get(OutboundMail, mail_id)
            if mail is None:
                continue
            try:
                _send(mail)
            except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
                _record_failure(mail, exc, now)
            else:
                mail.sent_at = utcnow()
                mail.next_attempt_at = None
                mail.error = None
                sent += 1
            db.session.commit()
    except Exception:  # noqa: BLE001 - e.g. the database is gone; the mails stay queued
        db.session.rollback()
        current_app.logger.exception("mail delivery stopped")
    return sent


def deliver_after_request(response: Response) -> Response:
    """``after_request`` hook: deliver once the view has committed what it queued."""
    if g.pop("mail_queued", False):
        from wellness.jobs import enqueue

        db.session.rollback()  # whatever the view did not commit must not be sent
        enqueue("send_mail")  # inline: delivered now; with Redis: by a worker
    return response


@dataclass(frozen=True)
class OutboxState:
    """What is still in the outbox, for the operator's ``wellness send-mail``."""

    waiting: int
    failed: int


def outbox_state() -> OutboxState:
    """Unsent mails still to be tried, and mails given up on after MAX_ATTEMPTS."""
    unsent = select(func.count()).select_from(OutboundMail).where(OutboundMail.sent_at.is_(None))
    waiting = db.session.scalar(unsent.where(OutboundMail.attempts < MAX_ATTEMPTS)) or 0
    failed = db.session.scalar(unsent.where(OutboundMail.attempts >= MAX_ATTEMPTS)) or 0
    return OutboxState(waiting=waiting, failed=failed)
