"""The participation certificate (Teilnahmebescheinigung) as PDF, in German or English.

What a certificate states is gathered once in :func:`facts`; the PDF and the public
verification page both show exactly that, so verifying never reveals more than the paper.
The PDF uses fpdf2's core fonts (no font files to ship), which only know Latin-1: every text
goes through :func:`latin1` first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency
from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from wellness.attendance.models import Certificate
from wellness.courses.calendar import course_title
from wellness.i18n import DEFAULT_TIMEZONE, SUPPORTED, locale_for
from wellness.notifications.course_mails import link

#: Characters the core fonts lack, as what a reader of the paper expects instead.
_REPLACEMENTS = str.maketrans(
    {
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2022": "-",
        "\u2026": "...",
        "\u20ac": "EUR",
    }
)

#: File name stems; file names are not translated text but must match the paper's language.
_FILENAME_STEMS = {"de": "Teilnahmebescheinigung", "en": "Certificate-of-participation"}


def latin1(text: str) -> str:
    """What the core fonts can print: typographic signs simplified, accents the fonts lack
    dropped (``ő`` -> ``o``), anything else ``?``, so a name never breaks the PDF."""
    out = []
    for char in text.translate(_REPLACEMENTS):
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)


@dataclass(frozen=True)
class CertificateFacts:
    """Everything a certificate states, unformatted."""

    #: ``None`` when the account was erased; the certificate then names nobody.
    participant: str | None
    course_title: str
    zpp_course_id: str | None
    provider: str
    instructor: str | None
    starts_on: date
    ends_on: date
    sessions_attended: int
    sessions_total: int
    fee_cents: int
    fee_paid: bool
    employer_share_cents: int
    own_share_cents: int
    issued_on: date
    verification_code: str
    revoked_at: datetime | None


def _zone(certificate: Certificate) -> ZoneInfo:
    employer = certificate.enrollment.employee.employer
    try:
        return ZoneInfo(employer.timezone or DEFAULT_TIMEZONE)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def facts(certificate: Certificate, locale: str) -> CertificateFacts:
    enrollment = certificate.enrollment
    offering = enrollment.offering
    course = offering.course
    account = enrollment.employee.user
    return CertificateFacts(
        participant=account.name if account is not None else None,
        course_title=course_title(course, locale),
        zpp_course_id=course.zpp_course_id,
        provider=course.provider.name,
        instructor=offering.instructor_name,
        starts_on=offering.starts_on,
        ends_on=offering.ends_on,
        sessions_attended=certificate.sessions_attended,
        sessions_total=certificate.sessions_total,
        fee_cents=certificate.fee_cents,
        fee_paid=certificate.fee_paid,
        employer_share_cents=enrollment.employer_share_cents,
        own_share_cents=enrollment.employee_share_cents,
        issued_on=certificate.issued_at.astimezone(_zone(certificate)).date(),
        verification_code=certificate.verification_code,
        revoked_at=certificate.revoked_at,
    )


def participant_locale(certificate: Certificate) -> str:
    """The participant's language, as their mails use it: the certificate is theirs."""
    employee = certificate.enrollment.employee
    if employee.user is not None:
        return locale_for(employee.user)
    return employee.employer.locale if employee.employer.locale in SUPPORTED else "de"


def verification_url(code: str) -> str:
    """On BASE_URL, never on the request's host: the address is printed and must stay valid."""
    return link("certificates.verify", code=code) or f"/verify/{code}"


def certificate_filename(certificate: Certificate, locale: str) -> str:
    stem = _FILENAME_STEMS.get(locale, _FILENAME_STEMS["de"])
    return f"{stem}-{certificate.verification_code}.pdf"


def pdf_money(cents: int, locale: str) -> str:
    """``1.234,50 EUR`` / ``1,234.50 EUR``: the core fonts have no euro sign."""
    return latin1(
        format_currency(Decimal(cents) / 100, "EUR", format="#,##0.00\u00a0¤¤", locale=locale)
    )


def pdf_date(value: date, locale: str) -> str:
    return latin1(format_date(value, "medium", locale=locale))


class _Paper(FPDF):
    """A4 portrait with a footer line that carries the verification code on every page."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, self.footer_text, align="C")


def render_certificate(certificate: Certificate, locale: str | None = None) -> bytes:
    """The certificate as PDF bytes, in ``locale`` or else the participant's language."""
    locale = locale if locale in SUPPORTED else participant_locale(certificate)
    stated = facts(certificate, locale)
    with force_locale(locale):
        return _render(stated, locale)


def _rows(stated: CertificateFacts, locale: str) -> list[tuple[str, str]]:
    dates = pdf_date(stated.starts_on, locale)
    if stated.ends_on != stated.starts_on:
        dates = _("%(start)s to %(end)s", start=dates, end=pdf_date(stated.ends_on, locale))
    return [
        (_("Participant"), stated.participant or "-"),
        (_("Course"), stated.course_title),
        (_("ZPP course ID"), stated.zpp_course_id or "-"),
        (_("Provider"), stated.provider),
        (_("Instructor"), stated.instructor or "-"),
        (_("Course dates"), dates),
        (
            _("Sessions attended"),
            _(
                "%(attended)d of %(total)d",
                attended=stated.sessions_attended,
                total=stated.sessions_total,
            ),
        ),
        (_("Course fee"), pdf_money(stated.fee_cents, locale)),
        # Only a recorded payment is confirmed; "no" would read as unpaid to a health insurer.
        *([(_("Fee paid"), _("yes"))] if stated.fee_paid else []),
        (_("Employer subsidy"), pdf_money(stated.employer_share_cents, locale)),
        (_("Paid by the participant"), pdf_money(stated.own_share_cents, locale)),
        (_("Issued on"), pdf_date(stated.issued_on, locale)),
    ]


def _render(stated: CertificateFacts, locale: str) -> bytes:
    url = verification_url(stated.verification_code)
    title = _("Certificate of participation")
    pdf = _Paper(format="A4")
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(True, margin=25)
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(stated.provider))
    pdf.set_creator("wellness")
    pdf.set_lang(locale)
    pdf.footer_text = latin1(
        _("Verification code %(code)s", code=stated.verification_code) + " · " + url
    )
    pdf.add_page()

    pdf.set_font("helvetica", style="B", size=22)
    pdf.multi_cell(0, 11, latin1(title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=11)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(
        0,
        6,
        latin1(_("Prevention course under section 20 SGB V")),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(6)
    pdf.multi_cell(
        0,
        6,
        latin1(
            _(
                "%(name)s took part in the course below and attended %(attended)d of "
                "%(total)d sessions.",
                name=stated.participant or _("The participant"),
                attended=stated.sessions_attended,
                total=stated.sessions_total,
            )
        ),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(4)

    label_width = 60
    for label, value in _rows(stated, locale):
        pdf.set_font("helvetica", size=10)
        pdf.set_text_color(90, 90, 90)
        top = pdf.get_y()
        pdf.multi_cell(label_width, 7, latin1(label), align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font("helvetica", style="B", size=11)
        pdf.set_text_color(0, 0, 0)
        pdf.multi_cell(0, 7, latin1(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(pdf.get_y(), top + 7))

    pdf.ln(8)
    pdf.set_draw_color(180, 180, 180)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)
    pdf.set_font("helvetica", style="B", size=11)
    pdf.cell(0, 7, latin1(_("Verification")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(
        0,
        6,
        latin1(
            _(
                "Anyone can check that this certificate is genuine with its code at the address "
                "below. The check shows the same details as this certificate, nothing more."
            )
        ),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    pdf.set_font("helvetica", size=10)
    pdf.cell(label_width, 7, latin1(_("Verification code")))
    pdf.set_font("courier", style="B", size=13)
    pdf.cell(0, 7, stated.verification_code, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    pdf.cell(label_width, 7, latin1(_("Check at")))
    pdf.set_text_color(20, 70, 160)
    pdf.cell(0, 7, latin1(url), link=url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
