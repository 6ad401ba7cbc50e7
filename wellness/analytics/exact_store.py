"""Exact releases kept until the data changes, so a repeated dashboard view is not computed again.

An exact release (no noise: participation measures, and health measures of employers without
differential privacy, :func:`~wellness.analytics.measures.releases_exactly`) depends only on
the employer's committed rows, its settings and the German calendar day (periods of "this year"
end at the current month, courses end "before today"), plus the language of the group names.
So it is stored under (employer, query key with the language, day) together with the
:mod:`~wellness.analytics.data_version` read before it was computed, and served again while the
version has not moved. Any committed write that may change a figure moves the version, so the
next view computes anew; the row is then replaced.

Privacy: a stored exact release is a figure HR of this employer has already been shown (it left
through :func:`~wellness.analytics.privacy.release` with every rule applied), for exactly this
query, on this day, over the same data; returning it again reveals nothing new. The key holds
the employer, so another employer's HR never gets it.

Not stored, and not served: figures of a session whose open transaction has written data of
its own (they are not the committed data's). Health measures count consent at an instant, not a
day: :func:`~wellness.analytics.measures.run` reads the version before it takes ``now``, so a
withdrawal committed before that read is never counted as still in force. A caller passing its
own ``now`` gets the figure stored for that day at this data version.
On PostgreSQL the row is written on a short connection of its own: a lock on it held until the
request's commit could make two dashboard pages asking for the same charts in another order
wait for each other. SQLite has one writer at a time anyway, so the session's connection writes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from wellness.analytics import data_version
from wellness.analytics.models import ExactRelease
from wellness.analytics.privacy import Release, decode, encode, storage_key
from wellness.db import dialect_insert, utcnow
from wellness.extensions import db
from wellness.i18n import current_language

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    """Where one exact release is stored, and the data version it is valid for."""

    employer_id: int
    key: str
    day: date
    version: int


def version() -> int | None:
    """The data version before computing, or None when the store must not be used now."""
    if data_version.wrote(db.session()):
        return None
    return data_version.current(db.session.connection())


def slot(employer_id: int, key: str, day: date, version: int) -> Slot:
    """The slot of a query's key (group names are in the request's language)."""
    return Slot(employer_id, storage_key(f"{key}|lang={current_language()}"), day, version)


def find(slots: Collection[Slot]) -> dict[Slot, Release]:
    """The releases stored in ``slots`` at their version, read at once (a warm dashboard page
    asks for all its charts). The slots are of one employer, day and version."""
    if not slots:
        return {}
    (employer_id, day, at), *others = {(s.employer_id, s.day, s.version) for s in slots}
    if others:
        raise ValueError("slots of different employers, days or versions")
    by_key = {where.key: where for where in slots}
    rows = db.session.execute(
        select(ExactRelease.query_key, ExactRelease.result_json).where(
            ExactRelease.employer_id == employer_id,
            ExactRelease.query_key.in_(sorted(by_key)),
            ExactRelease.day == day,
            ExactRelease.data_version == at,
        )
    ).all()
    # Looking may have flushed the session's own pending writes: then they are not the store's.
    if not rows or data_version.wrote(db.session()):
        return {}
    found = {}
    for key, stored in rows:
        k, total, cells = decode(stored)
        found[by_key[key]] = Release(
            k=k,
            total=total,
            cells=cells,
            noisy=False,
            epsilon=None,
            reused=True,
            budget_left=None,
        )
    return found


def keep(where: Slot, release: Release) -> None:
    """Store ``release`` in ``where`` (replacing an older version's, dropping other days')."""
    if data_version.wrote(db.session()):
        return
    values = {
        "employer_id": where.employer_id,
        "query_key": where.key,
        "day": where.day,
        "data_version": where.version,
        "result_json": encode(release.k, release.total, release.cells),
        "created_at": utcnow(),
    }
    insert = dialect_insert()(ExactRelease).values(**values)
    upsert = insert.on_conflict_do_update(
        index_elements=["employer_id", "query_key", "day"],
        set_={
            name: insert.excluded[name] for name in ("data_version", "result_json", "created_at")
        },
        # A slower reader of an older version must not replace a newer one's row.
        where=ExactRelease.data_version <= insert.excluded.data_version,
    )
    other_days = delete(ExactRelease).where(
        ExactRelease.employer_id == where.employer_id,
        ExactRelease.query_key == where.key,
        ExactRelease.day != where.day,
    )
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(upsert)
        db.session.execute(other_days)
        return
    try:
        with db.engine.begin() as connection:
            # Never wait long for a lock the request itself may hold (until its commit).
            connection.execute(text("SET LOCAL lock_timeout = '200ms'"))
            connection.execute(upsert)
            connection.execute(other_days)
    except SQLAlchemyError:
        # Only a lost shortcut: the figure was released already, the next view computes anew.
        logger.warning("could not store an exact release", exc_info=True)
