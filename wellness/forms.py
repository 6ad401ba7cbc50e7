"""Helpers shared by every HTML form view."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from flask import request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField
from wtforms.widgets import TextInput


def to_cents(amount: Decimal | None) -> int:
    """Euros from a form as whole cents (amount fields have two decimal places)."""
    return int((amount or Decimal(0)) * 100)


def form_status() -> int:
    """A form shown again after a POST carries errors: answer 400, not 200."""
    return 400 if request.method == "POST" else 200


class LocalizedDecimalField(DecimalField):
    """A decimal typed as the person's locale writes it: ``600,50`` in German, ``600.50`` in
    English (and a plain ``600.50`` is accepted in German too).

    A text input with a decimal keyboard, not ``type=number``: browsers refuse ``600,50`` there.
    """

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return str(format_decimal(self.data, format="#,##0.00", locale=get_locale()))

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip()
        try:
            value = parse_decimal(text, locale=get_locale(), strict=True)
        except NumberFormatError:
            try:
                value = Decimal(text)
            except InvalidOperation:
                value = Decimal("NaN")
        if not value.is_finite():
            self.data = None
            raise ValueError(_l("Enter an amount such as 600,00."))
        self.data = value
