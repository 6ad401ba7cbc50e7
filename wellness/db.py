"""The declarative base shared by every model.

Constraint names follow one convention so Alembic's batch mode on SQLite can find and alter them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, MetaData, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # One registry carries both settings; Flask-SQLAlchemy subclasses this base.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def apply_changes(row: object, values: Mapping[str, object]) -> list[str]:
    """Set the attributes that differ; returns their names (for the audit log, never values)."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


def copy_rows(model: type[Base], columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Insert many rows in the current transaction: ``COPY`` on PostgreSQL, else executemany.

    For bulk writes (attendance imports): COPY is several times faster than INSERT. It sees no
    Python-side column defaults, so pass every non-null column. Values go as they are; datetimes
    must be timezone-aware UTC (what :class:`UTCDateTime` stores).
    """
    from wellness.analytics import data_version
    from wellness.extensions import db  # the extension imports models defined with this module

    table: Table = model.__table__  # type: ignore[assignment]
    if table.name not in data_version.NEVER_RELEASED:
        data_version.mark(db.session())  # COPY is past the ORM's hooks
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        batch = [dict(zip(columns, row, strict=True)) for row in rows]
        if batch:
            connection.execute(table.insert(), batch)
        return
    names = ", ".join(f'"{name}"' for name in columns)
    raw: Any = connection.connection.driver_connection  # psycopg's own connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def dialect_insert() -> Callable[..., Any]:
    """``insert`` with ``on_conflict_do_nothing``: both databases have it, each in its own
    dialect module (for "insert unless a concurrent request already did")."""
    from sqlalchemy.dialects import postgresql, sqlite

    from wellness.extensions import db

    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


class MonthOf(FunctionElement[date]):
    """The first day of a date column's calendar month, in SQL on both databases (grouping
    dated rows by month, e.g. for rollups)."""

    type = Date()
    inherit_cache = True
    name = "month_of"


@compiles(MonthOf)
def _month_of(element: MonthOf, compiler: SQLCompiler, **kw: Any) -> str:
    # Through a timestamp without time zone: a date would be cast to timestamptz, truncated in
    # the session's zone and cast back, which costs the rollup rebuild an eighth of its grouping.
    column = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('month', CAST({column} AS TIMESTAMP)) AS DATE)"


@compiles(MonthOf, "sqlite")
def _month_of_sqlite(element: MonthOf, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores dates as ISO text; date() with a modifier returns the same format.
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"
