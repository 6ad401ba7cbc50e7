"""Queue mail inside the transaction, deliver after commit.

Services call :func:`queue_mail`; the request edge commits and then calls
:func:`deliver_queued`. Without ``MAIL_SERVER`` (development) mails stay in the outbox table,
which people can read in the UI.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from wellness.db import utcnow
from wellness.extensions import db
from wellness.notifications.models import OutboundMail


def queue_mail(
    recipient: str, subject: str, body: str, kind: str, user_id: int | None = None
) -> OutboundMail:
    mail = OutboundMail(
        recipient=recipient, subject=subject, body_text=body, kind=kind, user_id=user_id
    )
    db.session.add(mail)
    db.session.flush()
    return mail


def _send(mail: OutboundMail) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message.set_content(mail.body_text)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def deliver_queued() -> int:
    """Send every unsent mail over SMTP; returns how many went out. Commits its own bookkeeping."""
    if not current_app.config.get("MAIL_SERVER"):
        return 0
    sent = 0
    pending = db.session.scalars(
        select(OutboundMail).where(OutboundMail.sent_at.is_(None), OutboundMail.error.is_(None))
    ).all()
    for mail in pending:
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException) as exc:
            mail.error = type(exc).__name__
            current_app.logger.warning("mail %s not delivered: %s", mail.id, type(exc).__name__)
        else:
            mail.sent_at = utcnow()
            sent += 1
    db.session.commit()
    return sent
