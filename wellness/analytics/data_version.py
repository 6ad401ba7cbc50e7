"""The analytics data version: a counter that moves after every committed write that could
change an exact release (read by :mod:`wellness.analytics.exact_store`).

A session is marked when it writes rows of a table that may feed a release: in ``after_flush``
(ORM objects), in ``do_orm_execute`` (bulk and Core statements run through the session) and by
:func:`wellness.db.copy_rows` (COPY, past the ORM), which calls :func:`mark`. After the
outermost commit of a marked session the counter moves, on its own short connection: on
PostgreSQL ``nextval`` of the SEQUENCE ``analytics_data_version`` (lock-free, never rolled
back), on SQLite the database header's ``user_version`` in a ``BEGIN IMMEDIATE`` transaction
(atomic; a header field rather than a table, so the migrations and the models stay table for
table the same, and emptying every table between tests does not move it back). The mark is
forgotten when the outermost transaction ends, so a write rolled back moves nothing. A move that
fails (the database restarting right after the commit) does not fail the saved write: the
process owes the move, and serves no stored exact figure until it has made it.

Moving AFTER the commit is what makes the store safe: a reader that reads version v and then
computes may see data newer than v (harmless: the next reader sees v+1 and computes again), but
never data older than v. On PostgreSQL that needs each statement to see what was committed
before it started (READ COMMITTED, the default, which the app keeps); :func:`current` returns
None (no store) on a connection at another isolation level.

Tables in :data:`NEVER_RELEASED` never feed a release (logs, stored releases, mail, tokens,
drafts, job state): writing them moves nothing, which matters since every HR view writes an
audit event. Every other table counts, also ones added later (erring on the side of moving).
Writes outside a session (raw connections, other programs) are not seen.
"""

from __future__ import annotations

import logging
from threading import Lock
from typing import Any
from weakref import WeakSet

from sqlalchemy import TextClause, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

logger = logging.getLogger(__name__)

#: Tables whose rows no measure reads (see wellness/analytics/measures.py and grid.py).
NEVER_RELEASED = frozenset(
    {
        "audit_events",
        "privacy_releases",
        "exact_releases",
        "outbound_mails",
        "api_tokens",
        "users",
        "user_roles",
        "attendance_drafts",
        "attendance_uploads",
        "attendance_imports",
        "employee_import_drafts",
    }
)
SEQUENCE = "analytics_data_version"
#: Engines a commit of this process could not move the version of (see :func:`_settled`).
_owed: WeakSet[Engine] = WeakSet()
_owing = Lock()
#: ``session.info`` key of the mark.
_WROTE = "analytics_data_written"
#: Leading words of textual SQL that writes.
_WRITING_SQL = ("insert", "update", "delete", "truncate", "copy", "merge")

_READ_PG = text(
    "SELECT coalesce(last_value, 0) FROM pg_sequences "
    "WHERE schemaname = current_schema() AND sequencename = :name"
).bindparams(name=SEQUENCE)
_BUMP_PG = f"SELECT nextval(to_regclass('{SEQUENCE}'))"


def mark(session: Session) -> None:
    """Note that ``session`` wrote data a release may depend on (moves the version on commit)."""
    session.info[_WROTE] = True


def wrote(session: Session) -> bool:
    """Whether the session's open transaction wrote such data (its figures are not yet the
    committed ones, so they are neither served from nor put into the store)."""
    return bool(session.info.get(_WROTE))


def _counts(table_name: str | None) -> bool:
    return table_name not in NEVER_RELEASED


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if wrote(session):
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__tablename__", None)
        if _counts(table):
            mark(session)
            return


def _statement_table(state: ORMExecuteState) -> str | None:
    if state.bind_mapper is not None:
        return getattr(state.bind_mapper.local_table, "name", None)
    return getattr(getattr(state.statement, "table", None), "name", None)


def _on_execute(state: ORMExecuteState) -> None:
    if wrote(state.session):
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        words = statement.text.lstrip().split(None, 1)
        if words and words[0].lower() in _WRITING_SQL:
            mark(state.session)
        return
    if (state.is_insert or state.is_update or state.is_delete) and _counts(_statement_table(state)):
        mark(state.session)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction() or not wrote(session):
        return  # a savepoint released: the outer transaction may still roll back
    session.info.pop(_WROTE, None)
    engine: Engine = session.get_bind().engine  # type: ignore[union-attr]
    if not _moved(engine):
        with _owing:
            _owed.add(engine)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def bump(engine: Engine) -> None:
    """Move the version, on a connection of its own (after the writer's commit). The driver's
    connection in autocommit: one round trip on PostgreSQL (a third of what BEGIN, SELECT,
    COMMIT through SQLAlchemy cost; it is paid on every committed write)."""
    raw: Any = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if engine.dialect.name == "postgresql":
            driver.autocommit = True
            try:
                driver.execute(_BUMP_PG)
            finally:
                driver.autocommit = False
            return
        raw.execute("BEGIN IMMEDIATE")
        (version,) = raw.execute("PRAGMA user_version").fetchone()
        raw.execute(f"PRAGMA user_version = {int(version) + 1}")
        raw.commit()
    except engine.dialect.loaded_dbapi.Error:
        raw.invalidate()  # the database went away: never hand this connection out again
        raise
    finally:
        raw.close()


def _moved(engine: Engine) -> bool:
    """:func:`bump`, telling whether it worked. The writer's commit has happened: a failure
    (the database restarting right after it) must not turn a saved write into an error."""
    try:
        bump(engine)
    except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error):
        logger.warning(
            "analytics data version not moved after a commit: this process serves no stored "
            "exact figure until it is",
            exc_info=True,
        )
        return False
    return True


def _settled(engine: Engine) -> bool:
    """Whether the version is past every commit of this process: a move a commit could not
    make is made now, once for all of them (one move is past every earlier commit)."""
    with _owing:
        if engine not in _owed:
            return True
        _owed.discard(engine)
    if _moved(engine):
        return True
    with _owing:
        _owed.add(engine)
    return False


def current(connection: Connection) -> int | None:
    """The version now, read on the session's connection; None when it cannot be trusted
    (another isolation level, or a commit of this process that could not move it yet)."""
    if not _settled(connection.engine):
        return None
    if connection.dialect.name == "postgresql":
        level = connection.get_execution_options().get(
            "isolation_level", connection.default_isolation_level
        )
        if level != "READ COMMITTED":
            return None
        value = connection.execute(_READ_PG).scalar()
        return None if value is None else int(value)
    return int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def install() -> None:
    """Listen on every session (idempotent, like the other session hooks)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _on_execute),
        ("after_commit", _after_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
