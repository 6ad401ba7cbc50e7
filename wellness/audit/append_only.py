"""The audit log is append-only at the ORM level: no session may change or delete an
:class:`AuditEvent` once it is written, neither through a loaded object nor a bulk statement.

There is no retention purge of the audit log (wellness/health/retention.py purges health data
only), so nothing needs to delete events. One change is allowed: GDPR erasure
(wellness/health/personal_data.py) unlinks the person from events that would otherwise name
them (``actor_id`` set to NULL): the event stays, only who did it is forgotten.

Core statements on the bare table (``audit_events.delete()``, raw SQL) are not ORM operations
and are not covered: that is the database owner's maintenance path (and the test suite's
cleanup), not something application code does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from wellness.audit.models import AuditEvent

#: Columns a bulk UPDATE may set, and the only value it may set them to.
ERASABLE = frozenset({"actor_id"})


class AuditLogIsAppendOnly(RuntimeError):
    """A programming error: code tried to rewrite history."""


def _refuse_changed_objects(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly(f"audit event {obj.id} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditLogIsAppendOnly(f"audit event {obj.id} cannot be changed")


def _only_forgets_the_actor(statement: Any) -> bool:
    # An UPDATE's SET clause has no public accessor; ``_values`` maps columns to bind values.
    values = getattr(statement, "_values", None) or {}
    if not values:
        return False
    for column, value in values.items():
        if getattr(column, "key", column) not in ERASABLE:
            return False
        if getattr(value, "value", value) is not None:
            return False
    return True


def _refuse_bulk_statements(state: ORMExecuteState) -> None:
    if not state.is_orm_statement or not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, AuditEvent):
        return
    if state.is_update and _only_forgets_the_actor(state.statement):
        return
    verb = "deleted" if state.is_delete else "changed"
    raise AuditLogIsAppendOnly(f"audit events cannot be {verb} (the log is append-only)")


def install() -> None:
    """Listen on every session (idempotent: SQLAlchemy keeps one registration)."""
    if not event.contains(Session, "before_flush", _refuse_changed_objects):
        event.listen(Session, "before_flush", _refuse_changed_objects)
    if not event.contains(Session, "do_orm_execute", _refuse_bulk_statements):
        event.listen(Session, "do_orm_execute", _refuse_bulk_statements)
