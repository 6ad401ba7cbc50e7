"""Language and locale formatting. German is the default; the person's choice is remembered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request, session
from flask_babel import format_currency, format_date, format_decimal, format_time
from flask_babel import get_locale as babel_locale
from flask_login import current_user

from wellness.extensions import babel

SUPPORTED = ("de", "en")
DEFAULT_TIMEZONE = "Europe/Berlin"
BERLIN = ZoneInfo(DEFAULT_TIMEZONE)


def local_today(now: datetime) -> date:
    """The calendar day in Germany at ``now``: course dates are German dates, and the UTC date
    is still yesterday for the first hours of a German day."""
    return now.astimezone(BERLIN).date()


def locale_for(user: Any) -> str:
    """The language to write to someone in when no request tells (mails, reminders)."""
    if user.locale in SUPPORTED:
        return str(user.locale)
    if user.employer is not None:
        return str(user.employer.locale)
    return "de"


def select_locale() -> str:
    """Account choice, then this browser's choice, then the employer's default, then German."""
    if not has_request_context():
        return "de"
    if current_user.is_authenticated and current_user.locale in SUPPORTED:
        return str(current_user.locale)
    if session.get("locale") in SUPPORTED:
        return str(session["locale"])
    if current_user.is_authenticated:
        return locale_for(current_user)
    return request.accept_languages.best_match(SUPPORTED) or "de"


def current_language() -> str:
    """The language this request is answered in: "de" or "en" (German unless English)."""
    locale = babel_locale()
    return "en" if locale is not None and locale.language == "en" else "de"


def select_timezone() -> str:
    """Times show in the employer's time zone (Europe/Berlin unless the employer says else)."""
    if has_request_context() and current_user.is_authenticated and current_user.employer:
        return str(current_user.employer.timezone)
    return DEFAULT_TIMEZONE


def money(cents: int | None) -> str:
    """Euro amounts for the current locale: ``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if cents is None:
        return ""

    return str(format_currency(cents / 100, "EUR"))


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    def fmt_date(value: date | datetime | None, fmt: str = "medium") -> str:
        """Dates as the locale writes them; datetimes in the employer's time zone, no seconds."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            return f"{format_date(value, fmt)}, {format_time(value, 'short')}"
        return str(format_date(value, fmt))

    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = lambda v: format_decimal(v) if v is not None else ""
    app.jinja_env.globals["current_locale"] = current_language
