"""Language and locale formatting. German is the default; the person's choice is remembered."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, has_request_context, request, session
from flask_babel import format_currency, format_date, format_datetime, format_decimal
from flask_babel import get_locale as babel_locale
from flask_login import current_user

from wellness.extensions import babel

SUPPORTED = ("de", "en")


def select_locale() -> str:
    """Account choice, then this browser's choice, then the employer's default, then German."""
    if not has_request_context():
        return "de"
    if current_user.is_authenticated:
        if current_user.locale in SUPPORTED:
            return str(current_user.locale)
    if session.get("locale") in SUPPORTED:
        return str(session["locale"])
    if current_user.is_authenticated and current_user.employer is not None:
        return current_user.employer.locale
    return request.accept_languages.best_match(SUPPORTED) or "de"


def money(cents: int | None) -> str:
    """Euro amounts for the current locale: ``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if cents is None:
        return ""

    return str(format_currency(cents / 100, "EUR"))


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    def fmt_date(value: date | datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return str(format_datetime(value, fmt))
        return str(format_date(value, fmt))

    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = lambda v: format_decimal(v) if v is not None else ""
    app.jinja_env.globals["current_locale"] = lambda: str(babel_locale() or "de")
