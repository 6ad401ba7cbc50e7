"""Every user-facing string has a German translation, and the catalogs stay usable.

Messages are extracted from the code and templates with the same mapping as ``babel.cfg``
(what ``pybabel extract`` sees), so a new ``_()`` without a German entry fails here, listing
the missing msgids. To fix: re-extract, ``pybabel update``, translate, ``pybabel compile``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "wellness" / "translations"
#: Same keywords as the documented extraction command (``-k _l -k lazy_gettext``).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

MsgId = str | tuple[str, ...]


def _extracted() -> dict[MsgId, set[str]]:
    """msgid -> files it occurs in, for everything babel.cfg maps."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[MsgId, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        # Plural calls yield a tuple (singular, plural[, ...]); the catalog key is the singular.
        found.setdefault(message, set()).add(filename)
    return found


def _catalog(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(s and s.strip() for s in strings)


def _key(msgid: MsgId) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


@pytest.fixture(scope="module")
def extracted() -> dict[MsgId, set[str]]:
    found = _extracted()
    assert len(found) > 50, "extraction found suspiciously few messages; is babel.cfg right?"
    return found


def test_every_message_has_a_german_translation(extracted: dict[MsgId, set[str]]) -> None:
    german = _catalog("de")
    problems = []
    for msgid, files in sorted(extracted.items(), key=lambda item: _key(item[0])):
        entry = german.get(_key(msgid))
        where = ", ".join(sorted(files))
        if entry is None:
            problems.append(f"missing: {_key(msgid)!r} ({where})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {_key(msgid)!r} ({where})")
        elif not _translated(entry):
            problems.append(f"empty: {_key(msgid)!r} ({where})")
        elif isinstance(msgid, tuple) != isinstance(entry.id, tuple):
            problems.append(f"plural form changed: {_key(msgid)!r} ({where})")
    assert not problems, (
        f"{len(problems)} German translation(s) to fix in wellness/translations/de "
        "(re-extract with pybabel and update the catalog):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("locale", ["de", "en"])
def test_catalog_has_no_fuzzy_entries_or_broken_placeholders(locale: str) -> None:
    catalog = _catalog(locale)
    assert not catalog.fuzzy, f"the {locale} catalog header is marked fuzzy"
    problems = [f"fuzzy: {m.id!r}" for m in catalog if m.id and m.fuzzy]
    # Catalog.check() compares python-format placeholders of msgid and msgstr.
    problems += [f"{m.id!r}: {'; '.join(map(str, errors))}" for m, errors in catalog.check()]
    assert not problems, "\n".join(problems)


def test_english_catalog_has_no_blank_plurals() -> None:
    """A compiled plural entry with empty forms would show nothing instead of the English."""
    blank = [m.id for m in _catalog("en") if isinstance(m.id, tuple) and not _translated(m)]
    assert not blank, f"fill these English plural entries (identity is fine): {blank}"


@pytest.mark.parametrize(("language", "expected"), [("de", "Anmelden"), ("en", "Sign in")])
def test_pages_render_in_the_chosen_language(
    client: FlaskClient, language: str, expected: str
) -> None:
    if not (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").exists():
        pytest.skip("catalogs not compiled; run `make install` or `pybabel compile`")
    html = client.get("/login", headers={"Accept-Language": language}).get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    assert expected in html


def test_every_recorded_audit_action_has_a_label():
    """A new ``record("...")`` call needs a readable name in the audit log."""
    import re
    from pathlib import Path

    from wellness.audit.labels import ACTION_LABELS

    root = Path(__file__).resolve().parent.parent / "wellness"
    recorded = {
        match
        for path in root.rglob("*.py")
        for match in re.findall(r'record\(\s*"([a-z_.]+)"', path.read_text())
    }
    assert recorded
    assert recorded <= set(ACTION_LABELS)
