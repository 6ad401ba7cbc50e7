"""The pain rollup (:class:`~wellness.health.models.PainMonth`): current on every write.

HR's pain figures read one row per person, month and region instead of every score: with
weekly check-ins that is four to five times fewer rows, and no join of check-ins to scores.
Every change recomputes the affected (person, month) rows from the scores themselves, in the
same transaction, so the rollup cannot drift from them and a rebuild yields the same rows; scores
that are only added (a new check-in) are summed into their rows instead, which needs no read:

- writes through the ORM (the check-in form and API, the demo, tests) are picked up after each
  flush by :func:`keep_current`, whichever code made them;
- bulk deletes in SQL (erasure, the retention purge) call :func:`refresh` themselves;
- a bulk load that bypasses both (COPY, a restore) ends with :func:`rebuild`
  (``wellness rebuild-rollups``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Constraint,
    Date,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from wellness.analytics import data_version
from wellness.db import MonthOf
from wellness.extensions import db
from wellness.health.models import PainCheckin, PainMonth, PainScore
from wellness.tenants.models import Employee

#: (employee id, first day of a month)
PersonMonth = tuple[int, date]


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _scores_by_month(condition: Any) -> Select[int, date, str, int, int, Any]:
    """The rollup rows of the check-ins matching ``condition``, computed from the scores."""
    month = MonthOf(PainCheckin.checked_on)
    prevented = case((PainCheckin.prevented_activity.is_(True), 1), else_=0)
    return (
        select(
            PainCheckin.employee_id,
            month,
            PainScore.region,
            func.count(PainScore.id),
            func.sum(PainScore.nrs),
            func.sum(prevented),
        )
        .select_from(PainScore)
        .join(PainCheckin, PainCheckin.id == PainScore.checkin_id)
        .where(condition)
        .group_by(PainScore.region, month, PainCheckin.employee_id)
    )


COLUMNS = ("employee_id", "month", "region", "scores", "nrs_sum", "prevented")


def _lock(people: ColumnElement[bool]) -> Select[int]:
    """Lock the employee rows of ``people``, ``FOR NO KEY UPDATE``: rollup writers of a person
    wait for each other, but not for the ``FOR KEY SHARE`` lock every check-in's insert takes
    on its employee row (foreign key). With ``FOR UPDATE``, two simultaneous check-ins of one
    person deadlocked: each held the key-share lock of its insert and waited for the other's."""
    return select(Employee.id).where(people).with_for_update(key_share=True)


def refresh(connection: Connection, people: Any, first: date | None, until: date | None) -> None:
    """Recompute the rollup rows of ``people`` (ids, or a select of ids) for the months from
    ``first``'s to ``until``'s (open-ended where None).

    The people's employee rows are locked first (PostgreSQL, :func:`_lock`): two check-ins of
    one person in the same month, written at the same moment, would otherwise each rebuild the
    month without the other's scores.
    """
    connection.execute(_lock(Employee.id.in_(people)))
    kept: list[ColumnElement[bool]] = [PainMonth.employee_id.in_(people)]
    raw: list[ColumnElement[bool]] = [PainCheckin.employee_id.in_(people)]
    if first is not None:
        kept.append(PainMonth.month >= first.replace(day=1))
        raw.append(PainCheckin.checked_on >= first.replace(day=1))
    if until is not None:
        kept.append(PainMonth.month < _next_month(until))
        raw.append(PainCheckin.checked_on < _next_month(until))
    connection.execute(delete(PainMonth).where(*kept))
    connection.execute(insert(PainMonth).from_select(COLUMNS, _scores_by_month(and_(*raw))))


def _month_statements() -> tuple[Any, Any, Any]:
    """:func:`refresh` for given people and one month, built once: after every check-in,
    composing the statements would cost more than running them."""
    people: BindParameter[list[int]] = bindparam("people", expanding=True)
    month, end = bindparam("month", type_=Date()), bindparam("end", type_=Date())
    lock = _lock(Employee.id.in_(people))
    stale = delete(PainMonth).where(PainMonth.employee_id.in_(people), PainMonth.month == month)
    source = and_(
        PainCheckin.employee_id.in_(people),
        PainCheckin.checked_on >= month,
        PainCheckin.checked_on < end,
    )
    return lock, stale, insert(PainMonth).from_select(COLUMNS, _scores_by_month(source))


_LOCK, _STALE, _FRESH = _month_statements()


def refresh_months(connection: Connection, months: Iterable[PersonMonth]) -> None:
    """:func:`refresh` for each (person, month), people with the same month at once."""
    by_month: dict[date, set[int]] = {}
    for person, month in months:
        by_month.setdefault(month, set()).add(person)
    for month, people in sorted(by_month.items()):
        params = {"people": sorted(people), "month": month, "end": _next_month(month)}
        connection.execute(_LOCK, params)
        connection.execute(_STALE, params)
        connection.execute(_FRESH, params)


def rebuild() -> int:
    """Every rollup row anew from the scores; returns how many there are. Never commits.
    Past the ORM, so it marks the session itself: stored exact releases are recomputed."""
    data_version.mark(db.session())
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _rebuild_postgresql(connection)
    connection.execute(delete(PainMonth))
    fill = connection.execute(insert(PainMonth).from_select(COLUMNS, _scores_by_month(True)))
    return fill.rowcount


#: For the rebuild's transaction only: sort and hash in memory, build the indexes likewise, and
#: plan the grouping as sorts in parallel workers rather than one serial hash table (half the
#: time on two cores; its sorted output also builds the primary key twice as fast). No JIT: it
#: compiles for longer than it saves here.
_REBUILD_SETTINGS = (
    "work_mem = '256MB'",
    "maintenance_work_mem = '1GB'",
    "enable_hashagg = off",
    "jit = off",
)


def _rebuild_postgresql(connection: Connection) -> int:
    """Compute the rows into a new table in place of the old one, give it the model's keys and
    indexes, then drop the old one (50,000 people, 7.4 million rows: 100 s inserting into the
    keyed table, 35-43 s into the emptied table with its keys dropped, about 25 s like this;
    benchmarks/README.md). Only ``CREATE TABLE ... AS`` groups in parallel workers: PostgreSQL
    plans an ``INSERT ... SELECT`` serially.

    The old table is locked first, as TRUNCATE locks it, for the whole transaction: queries and
    check-ins wait, then read and write the new table (PostgreSQL looks the name up again after
    the wait, prepared statements included; tested). The employees' table is locked last:
    dropping a foreign key to it locks it against every reader until the commit, which the old
    rebuild did for its whole duration, so the app could not even sign anyone in. DDL is
    transactional, so a rebuild that fails leaves the old table as it was; the new one's comes
    from the model, so it cannot drift from the schema (tested)."""
    table = PainMonth.metadata.tables[PainMonth.__tablename__]
    for setting in _REBUILD_SETTINGS:
        connection.execute(text(f"SET LOCAL {setting}"))
    connection.execute(text(f"LOCK TABLE {table.name} IN ACCESS EXCLUSIVE MODE"))
    # Out of the way: the new table's key and indexes take these (schema-wide) names.
    replaced = f"{table.name}_replaced"
    connection.execute(text(f"ALTER TABLE {table.name} RENAME TO {replaced}"))
    names = [table.primary_key.name, *(index.name for index in table.indexes)]
    for name in sorted(map(str, names)):
        connection.execute(text(f"ALTER INDEX {name} RENAME TO {name}_replaced"))
    fill = f"CREATE TABLE {table.name} AS {_typed_rows(connection, table)}"
    rows = connection.execute(text(fill)).rowcount
    keys = sorted(table.foreign_key_constraints, key=lambda fk: str(fk.name))
    connection.execute(text(_constraints(connection, table, but=keys)))
    for index in sorted(table.indexes, key=lambda index: str(index.name)):
        connection.execute(CreateIndex(index))
    connection.execute(text(f"DROP TABLE {replaced}"))
    for key in keys:
        connection.execute(AddConstraint(key))
    return rows


def _typed_rows(connection: Connection, table: Table) -> str:
    """Every rollup row as SQL whose columns have the table's names and types (``CREATE TABLE
    ... AS`` takes them from the query)."""
    rows = _scores_by_month(True).subquery()
    typed = select(
        *(cast(rows.c[i], table.c[name].type).label(name) for i, name in enumerate(COLUMNS))
    )
    return str(typed.compile(connection, compile_kwargs={"literal_binds": True}))


def _constraints(connection: Connection, table: Table, but: Collection[Constraint]) -> str:
    """One ALTER TABLE giving the bare new table the model's NOT NULLs and constraints except
    ``but``: the checks are then verified in one pass over the rows, not one per constraint."""
    compiler = connection.dialect.ddl_compiler(connection.dialect, CreateTable(table))
    steps = [
        f"ALTER COLUMN {column.name} SET NOT NULL" for column in table.c if not column.nullable
    ]
    constraints = sorted(set(table.constraints) - set(but), key=lambda c: str(c.name))
    steps += [f"ADD {compiler.process(constraint)}" for constraint in constraints]
    return f"ALTER TABLE {table.name} " + ", ".join(steps)


#: (employee id, month, region) -> what one flush adds to its row: scores, nrs_sum, prevented
Added = dict[tuple[int, date, str], list[int]]


def _checkin_of(score: PainScore, unloaded: set[int]) -> PainCheckin | None:
    """The score's check-in when the session holds it (the form appends scores to it); else
    None, and its id goes to ``unloaded``, whose months are looked up and recomputed."""
    checkin = inspect(score).dict.get("checkin")
    if isinstance(checkin, PainCheckin):
        return checkin
    if score.checkin_id is not None:
        unloaded.add(score.checkin_id)
    return None


def _changes(session: Session) -> tuple[set[PersonMonth], Added]:
    """What the flush did to pain data: the (person, month) rows to recompute, and the scores
    it only added, which are summed into their rows instead (a new check-in, the usual write,
    then reads none of the month's other scores)."""
    recompute: set[PersonMonth] = set()
    added: Added = {}
    checkin_ids: set[int] = set()
    changed = [
        instance
        for instance in session.dirty
        if isinstance(instance, PainCheckin | PainScore)
        and session.is_modified(instance, include_collections=False)
    ]
    for instance in (*changed, *session.deleted):
        if isinstance(instance, PainCheckin):
            # A check-in moved to another day (or person) leaves its old month too.
            attrs = inspect(instance).attrs
            people = {instance.employee_id, *(attrs.employee_id.history.deleted or ())}
            days = {instance.checked_on, *(attrs.checked_on.history.deleted or ())}
            recompute.update((person, day.replace(day=1)) for person in people for day in days)
        elif isinstance(instance, PainScore):
            checkin = _checkin_of(instance, checkin_ids)
            if checkin is not None:
                recompute.add((checkin.employee_id, checkin.checked_on.replace(day=1)))
    for instance in session.new:
        if not isinstance(instance, PainScore):
            continue
        checkin = _checkin_of(instance, checkin_ids)
        if checkin is None:
            continue
        key = (checkin.employee_id, checkin.checked_on.replace(day=1), instance.region)
        sums = added.setdefault(key, [0, 0, 0])
        sums[0] += 1
        sums[1] += instance.nrs
        sums[2] += int(bool(checkin.prevented_activity))
    if checkin_ids:
        rows = session.connection().execute(
            select(PainCheckin.employee_id, MonthOf(PainCheckin.checked_on)).where(
                PainCheckin.id.in_(checkin_ids)
            )
        )
        recompute.update((person, month) for person, month in rows)
    # A month recomputed reads the added scores with the others.
    return recompute, {key: sums for key, sums in added.items() if key[:2] not in recompute}


def _summed_into_rows(upsert: Any) -> Any:
    """``upsert`` adding its rows' counts to the rows already there."""
    return upsert.on_conflict_do_update(
        index_elements=["employee_id", "month", "region"],
        set_={
            name: getattr(PainMonth, name) + upsert.excluded[name]
            for name in ("scores", "nrs_sum", "prevented")
        },
    )


def _add_postgresql() -> Any:
    """All of a flush's added rows in one statement, from one array per column.

    The people are locked first, as :func:`refresh` locks them, in the same statement (the
    count is evaluated before any row is inserted): a correction recomputing the same month
    meanwhile either reads these scores or has them summed into its rows afterwards. Without
    the lock, such a correction could insert a row this statement had just inserted."""
    types: dict[str, TypeEngine[Any]] = {"month": Date(), "region": String()}
    columns = [bindparam(name, type_=ARRAY(types.get(name, Integer()))) for name in COLUMNS]
    rows = func.unnest(*columns).table_valued(*COLUMNS).render_derived()
    people = bindparam("people", type_=ARRAY(Integer()))
    locked = select(func.count()).select_from(_lock(Employee.id == func.any(people)).subquery())
    upsert = postgresql.insert(PainMonth).from_select(
        COLUMNS, select(*rows.c).where(locked.scalar_subquery() > 0)
    )
    return _summed_into_rows(upsert)


#: Summing on SQLite: one row per execution (in-process, so cheap), no lock (one writer).
_ADD = {"postgresql": _add_postgresql(), "sqlite": _summed_into_rows(sqlite.insert(PainMonth))}


def add_scores(connection: Connection, added: Added) -> None:
    """Sum ``added`` into the rollup."""
    rows = [dict(zip(COLUMNS, (*key, *sums), strict=True)) for key, sums in sorted(added.items())]
    if connection.dialect.name != "postgresql":
        connection.execute(_ADD["sqlite"], rows)
        return
    arrays = {name: [row[name] for row in rows] for name in COLUMNS}
    people = sorted({person for person, _month, _region in added})
    connection.execute(_ADD["postgresql"], {**arrays, "people": people})


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    recompute, added = _changes(session)
    if recompute:
        refresh_months(session.connection(), recompute)
    if added:
        add_scores(session.connection(), added)


def keep_current() -> None:
    """Refresh the rollup after every ORM flush that touched pain data (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
