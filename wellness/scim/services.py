"""SCIM provisioning: employees as ``Users``, departments as ``Groups``, for one employer.

Every function takes the employer id of the authenticated token and reads and writes only
that employer's rows; another employer's id is simply "not found". Services flush and never
commit; the view commits once.

A SCIM resource is written in one way only, :func:`apply_user` / :func:`apply_group`, from a
complete SCIM object: POST builds one from the request, PUT takes the request's, and PATCH
applies the operations (with scim2-models) to the current representation first. So the three
verbs share every rule (uniqueness, manager, department, deactivation).

Leaving, in two strengths:

* ``active: false`` (:func:`deactivate`): the employee row and all its history stay and keep
  counting in aggregates; the account is disabled and its sessions and tokens stop working;
  waitlist places and seats that can still be cancelled are cancelled through the normal
  cancellation (seat released, waitlist promoted, mail queued). ``active: true`` undoes the
  access part (cancelled enrollments stay cancelled).
* ``DELETE`` (:func:`deprovision`): the same, then the account is deleted (its address is free
  for a rehire), and the SCIM identity (userName, externalId, employee number, names, manager
  links) is cleared and the row marked deprovisioned, so SCIM no longer shows it. Enrollments,
  attendance, certificates and health data stay with the row for accounting and aggregates,
  as after an erasure; retention and erasure rules apply to them as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import (
    InvalidFilterException,
    InvalidValueException,
    ListResponse,
    Meta,
    NotFoundException,
    ScimFilter,
    UniquenessException,
)
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
)
from sqlalchemy import Select, and_, false, func, not_, or_, select, true, update
from sqlalchemy.orm import selectinload

from wellness.audit.services import record
from wellness.auth.models import Role, User
from wellness.auth.services import NewUser, create_user, find_user, normalize_email
from wellness.db import utcnow
from wellness.extensions import db
from wellness.scim.schemas import (
    MAX_RESULTS,
    Email,
    EnterpriseUser,
    Group,
    GroupMember,
    Manager,
    Name,
    ScimUser,
)
from wellness.tenants.leavers import deactivate, reactivate
from wellness.tenants.models import Department, Employee, Employer
from wellness.tenants.services import create_department

#: Lengths of the columns SCIM values go into (longer values are refused, not cut).
LIMITS = {
    "userName": 254,
    "displayName": 200,
    "name.givenName": 100,
    "name.familyName": 100,
    "externalId": 200,
    "employeeNumber": 60,
    "department": 120,
    "emails.value": 254,
}


@dataclass(frozen=True)
class Page:
    """``startIndex`` (1-based) and ``count`` as RFC 7644 §3.4.2.4 reads them."""

    start_index: int = 1
    count: int = MAX_RESULTS

    @classmethod
    def parse(cls, start_index: Any, count: Any) -> Page:
        def number(raw: Any, name: str, default: int) -> int:
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except (TypeError, ValueError):
                raise InvalidValueException(detail=f"{name} must be an integer.") from None

        start = max(1, number(start_index, "startIndex", 1))
        wanted = min(max(0, number(count, "count", MAX_RESULTS)), MAX_RESULTS)
        return cls(start, wanted)


# ---------------------------------------------------------------------------------------------
# Locations


def user_location(base_url: str, employee_id: int) -> str:
    return f"{base_url}/Users/{employee_id}"


def group_location(base_url: str, department_id: int) -> str:
    return f"{base_url}/Groups/{department_id}"


def _reference(url: str) -> Any:
    """A location as the ``$ref`` of a manager or member (scim2-models types it per resource)."""
    return url


def _id_from(value: str | None, ref: str | None, what: str) -> int:
    """The employee id a manager or member names: ``value``, else the end of ``$ref``."""
    raw = value if value else (ref.rstrip("/").rsplit("/", 1)[-1] if ref else None)
    if raw is None or not raw.isdigit():
        raise InvalidValueException(detail=f"{what} must name a User by its id, got {raw!r}.")
    return int(raw)


def _check_length(field: str, value: str | None) -> str | None:
    if value is not None and len(value) > LIMITS[field]:
        raise InvalidValueException(
            detail=f"{field} is longer than {LIMITS[field]} characters: {value[:40]!r}..."
        )
    return value


# ---------------------------------------------------------------------------------------------
# Users: reading


def _visible_employees(employer_id: int) -> Select[Any]:
    """The employer's people as SCIM sees them: not deprovisioned, not a pseudonymous record
    left behind by an erasure."""
    return (
        select(Employee)
        .outerjoin(User, User.id == Employee.user_id)
        .where(
            Employee.employer_id == employer_id,
            Employee.deprovisioned_at.is_(None),
            Employee.pseudonymized_at.is_(None),
        )
    )


def get_employee(employer_id: int, ident: str) -> Employee:
    if not ident.isdigit():
        raise NotFoundException(detail=f"User {ident} not found.")
    found = db.session.scalar(_visible_employees(employer_id).where(Employee.id == int(ident)))
    if found is None:
        raise NotFoundException(detail=f"User {ident} not found.")
    return found


def _user_name_of(employee: Employee) -> str:
    if employee.user_name:
        return employee.user_name
    if employee.user is not None:
        return employee.user.email
    return f"employee-{employee.id}"


def _display_name_of(employee: Employee) -> str | None:
    """SCIM's own value for people it provisioned; the account's name for the others."""
    if employee.display_name or employee.user_name:
        return employee.display_name
    return employee.user.name if employee.user is not None else None


def to_scim_user(employee: Employee, base_url: str) -> ScimUser:
    account = employee.user
    manager = db.session.get(Employee, employee.manager_id) if employee.manager_id else None
    enterprise = EnterpriseUser(
        employee_number=employee.employee_number,
        department=employee.department.name if employee.department else None,
        manager=Manager(
            value=str(manager.id),
            ref=_reference(user_location(base_url, manager.id)),
            display_name=_display_name_of(manager),
        )
        if manager is not None
        else None,
    )
    has_enterprise = any(
        value is not None
        for value in (enterprise.employee_number, enterprise.department, enterprise.manager)
    )
    name = (
        Name(given_name=employee.given_name, family_name=employee.family_name)
        if employee.given_name or employee.family_name
        else None
    )
    user = ScimUser(
        id=str(employee.id),
        external_id=employee.external_id,
        user_name=_user_name_of(employee),
        name=name,
        display_name=_display_name_of(employee),
        active=employee.active,
        emails=[Email(value=account.email, type="work", primary=True)] if account else None,
        meta=Meta(
            resource_type="User",
            created=employee.created_at,
            last_modified=employee.created_at,
            location=user_location(base_url, employee.id),
        ),
    )
    if has_enterprise:
        user[EnterpriseUser] = enterprise
    return user


# ---------------------------------------------------------------------------------------------
# Filters: the common ones become SQL, anything else is evaluated by scim2-models


class _Untranslatable(Exception):
    """The filter uses something we do not map to SQL; it is evaluated in Python instead."""


def _string_condition(column: Any, op: CompareOperator, value: Any, case_exact: bool) -> Any:
    if not isinstance(value, str):
        raise _Untranslatable
    target = column if case_exact else func.lower(column)
    text = value if case_exact else value.lower()
    if op == CompareOperator.eq:
        return target == text
    if op == CompareOperator.ne:
        return or_(column.is_(None), target != text)
    raise _Untranslatable


def _user_column(path: AttrPath) -> tuple[Any, bool]:
    """The SQL expression for a User attribute and whether it compares case-exactly."""
    name = path.attr.lower()
    sub = (path.sub_attr or "").lower()
    uri = (path.uri or "").lower()
    if uri and "enterprise" in uri:
        if name == "employeenumber" and not sub:
            return Employee.employee_number, False
        raise _Untranslatable
    if name == "username" and not sub:
        return func.coalesce(Employee.user_name, User.email), False
    if name == "externalid" and not sub:
        return Employee.external_id, True
    if name == "emails" and sub in ("", "value"):
        return User.email, False
    if name == "displayname" and not sub:
        return func.coalesce(Employee.display_name, User.name), False
    raise _Untranslatable


def _group_column(path: AttrPath) -> tuple[Any, bool]:
    name = path.attr.lower()
    if path.sub_attr or path.uri:
        raise _Untranslatable
    if name == "displayname":
        return Department.name, False
    if name == "externalid":
        return Department.external_id, True
    raise _Untranslatable


def _to_sql(node: FilterNode, column_for: Any, id_column: Any) -> Any:
    if isinstance(node, LogicalExpr):
        parts = [_to_sql(term, column_for, id_column) for term in node.terms]
        return and_(*parts) if node.op == LogicalOperator.and_ else or_(*parts)
    if isinstance(node, Not):
        return not_(_to_sql(node.expr, column_for, id_column))
    if isinstance(node, Present):
        if node.attr_path.attr.lower() == "id" and not node.attr_path.sub_attr:
            return true()
        column, _exact = column_for(node.attr_path)
        return column.is_not(None)
    if isinstance(node, Comparison):
        if node.attr_path.attr.lower() == "id" and not node.attr_path.sub_attr:
            if node.op != CompareOperator.eq or not isinstance(node.value, str):
                raise _Untranslatable
            return id_column == int(node.value) if node.value.isdigit() else false()
        if column_for is _user_column and node.attr_path.attr.lower() == "active":
            if node.op != CompareOperator.eq or not isinstance(node.value, bool):
                raise _Untranslatable
            return Employee.active.is_(node.value)
        column, exact = column_for(node.attr_path)
        return _string_condition(column, node.op, node.value, exact)
    raise _Untranslatable


def _parse_filter(model: Any, text: str) -> ScimFilter[Any]:
    try:
        return ScimFilter[model](text)  # type: ignore[no-any-return]
    except InvalidFilterException:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is the client's filter
        raise InvalidFilterException(detail=f"The filter {text!r} is not valid: {exc}") from exc


@dataclass(frozen=True)
class Listing:
    total: int
    resources: list[Any]


def _paginate_sql(query: Select[Any], page: Page, order: Any) -> tuple[int, list[Any]]:
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        db.session.scalars(query.order_by(order).offset(page.start_index - 1).limit(page.count))
    )
    return int(total), rows


def list_users(employer_id: int, base_url: str, filter_text: str | None, page: Page) -> Listing:
    query = _visible_employees(employer_id).options(
        selectinload(Employee.user), selectinload(Employee.department)
    )
    scim_filter = _parse_filter(ScimUser, filter_text) if filter_text else None
    if scim_filter is not None:
        try:
            query = query.where(_to_sql(scim_filter.ast, _user_column, Employee.id))
        except _Untranslatable:
            # Evaluated on the SCIM objects: correct for every filter, linear in staff size.
            everyone = [
                to_scim_user(e, base_url) for e in db.session.scalars(query.order_by(Employee.id))
            ]
            matching = [u for u in everyone if scim_filter.match(u)]
            chosen = matching[page.start_index - 1 : page.start_index - 1 + page.count]
            return Listing(len(matching), chosen)
    total, rows = _paginate_sql(query, page, Employee.id)
    return Listing(total, [to_scim_user(e, base_url) for e in rows])


def list_response(listing: Listing, page: Page, model: Any) -> ListResponse[Any]:
    return ListResponse[model](  # type: ignore[no-any-return]
        total_results=listing.total,
        start_index=page.start_index,
        items_per_page=len(listing.resources),
        resources=listing.resources,
    )


# ---------------------------------------------------------------------------------------------
# Users: writing


def _refuse_duplicate(
    employer_id: int, employee_id: int | None, column: Any, value: str, what: str, lower: bool
) -> None:
    target = func.lower(column) if lower else column
    query = _visible_employees(employer_id).where(target == (value.lower() if lower else value))
    if employee_id is not None:
        query = query.where(Employee.id != employee_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise UniquenessException(detail=f"Another User of this employer has the {what} {value!r}.")


def _primary_email(emails: list[Email] | None) -> str | None:
    chosen = next((e for e in emails or [] if e.primary), None) or next(iter(emails or []), None)
    if chosen is None or not chosen.value:
        return None
    email = normalize_email(str(_check_length("emails.value", chosen.value)))
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise InvalidValueException(detail=f"{chosen.value!r} is not an e-mail address.")
    return email


def _account_name(employee: Employee) -> str:
    names = " ".join(n for n in (employee.given_name, employee.family_name) if n)
    return (employee.display_name or names or _user_name_of(employee))[:200]


def _sync_account(employee: Employee, email: str | None) -> None:
    """Give the employee an account with ``email`` (or change its address).

    Without an address the account, if any, is kept: an account cannot exist without one, and
    a PUT that leaves out ``emails`` should not delete a login.
    """
    account = employee.user
    if email is None:
        if account is not None:
            account.name = _account_name(employee)
        return
    other = find_user(email)
    if other is not None and (account is None or other.id != account.id):
        raise UniquenessException(detail=f"The e-mail address {email} belongs to another account.")
    if account is None:
        account = create_user(
            NewUser(
                email=email,
                name=_account_name(employee),
                roles=(Role.EMPLOYEE,),
                employer_id=employee.employer_id,
            )
        )
        account.is_enabled = employee.active
        employee.user = account
    else:
        account.email = email
        account.name = _account_name(employee)


def _department_named(employer: Employer, name: str | None, actor_id: int) -> int | None:
    if not name:
        return None
    _check_length("department", name)
    found = db.session.scalar(
        select(Department.id).where(
            Department.employer_id == employer.id, func.lower(Department.name) == name.lower()
        )
    )
    if found is not None:
        return int(found)
    return create_department(employer, name, None, actor_id=actor_id).id


def _manager_id(employer_id: int, employee: Employee, manager: Manager | None) -> int | None:
    if manager is None or (not manager.value and not manager.ref):
        return None
    ident = _id_from(manager.value, manager.ref, "The manager")
    if ident == employee.id:
        raise InvalidValueException(detail="A User cannot be their own manager.")
    found = db.session.scalar(_visible_employees(employer_id).where(Employee.id == ident))
    if found is None:
        raise InvalidValueException(detail=f"The manager {ident} is not a User of this employer.")
    return ident


def apply_user(employer: Employer, employee: Employee, user: ScimUser, actor_id: int) -> None:
    """Write a complete SCIM User onto the employee (and account): POST, PUT and PATCH."""
    employer_id = employer.id
    user_name = (user.user_name or "").strip()
    if not user_name:
        raise InvalidValueException(detail="userName is required.")
    _check_length("userName", user_name)
    _refuse_duplicate(
        employer_id,
        employee.id,
        func.coalesce(Employee.user_name, User.email),
        user_name,
        "userName",
        lower=True,
    )
    if user.external_id:
        _check_length("externalId", user.external_id)
        _refuse_duplicate(
            employer_id, employee.id, Employee.external_id, user.external_id, "externalId", False
        )
    extension = (
        user[EnterpriseUser]
        if EnterpriseUser in type(user).get_extension_models().values()
        else None
    )
    number = extension.employee_number if extension else None
    if number:
        _check_length("employeeNumber", number)
        _refuse_duplicate(
            employer_id, employee.id, Employee.employee_number, number, "employeeNumber", False
        )
    employee.user_name = user_name
    employee.external_id = user.external_id or None
    employee.display_name = _check_length("displayName", user.display_name) or None
    employee.given_name = _check_length(
        "name.givenName", user.name.given_name if user.name else None
    )
    employee.family_name = _check_length(
        "name.familyName", user.name.family_name if user.name else None
    )
    employee.employee_number = number or None
    employee.department_id = _department_named(
        employer, extension.department if extension else None, actor_id
    )
    if employee.id is None:
        db.session.add(employee)
        db.session.flush()
    employee.manager_id = _manager_id(
        employer_id, employee, extension.manager if extension else None
    )
    _sync_account(employee, _primary_email(user.emails))
    if user.active is not None and user.active != employee.active:
        if user.active:
            reactivate(employee, actor_id)
        else:
            deactivate(employee, actor_id=actor_id)
    db.session.flush()


def create_employee(employer: Employer, user: ScimUser, actor_id: int) -> Employee:
    employee = Employee(employer_id=employer.id, active=True)
    active = user.active
    user.active = None  # a new person starts active; deactivating comes after the account
    apply_user(employer, employee, user, actor_id)
    if active is False:
        deactivate(employee, actor_id=actor_id)
    record(
        "scim.user_created",
        actor_id=actor_id,
        employer_id=employer.id,
        target_type="employee",
        target_id=employee.id,
    )
    return employee


def deprovision(employee: Employee, actor_id: int, now: datetime | None = None) -> None:
    """SCIM DELETE: deactivate, delete the account, forget the SCIM identity (docstring)."""
    now = now or utcnow()
    if employee.active:
        deactivate(employee, now, actor_id)
    account = employee.user
    if account is not None:
        employee.user = None
        db.session.delete(account)
    db.session.execute(
        update(Employee).where(Employee.manager_id == employee.id).values(manager_id=None)
    )
    for column in (
        "user_name",
        "external_id",
        "employee_number",
        "display_name",
        "given_name",
        "family_name",
        "manager_id",
    ):
        setattr(employee, column, None)
    employee.deprovisioned_at = now
    db.session.flush()
    record(
        "scim.user_deleted",
        actor_id=actor_id,
        employer_id=employee.employer_id,
        target_type="employee",
        target_id=employee.id,
    )


# ---------------------------------------------------------------------------------------------
# Groups (departments)


def get_department(employer_id: int, ident: str) -> Department:
    found = (
        db.session.scalar(
            select(Department).where(
                Department.employer_id == employer_id, Department.id == int(ident)
            )
        )
        if ident.isdigit()
        else None
    )
    if found is None:
        raise NotFoundException(detail=f"Group {ident} not found.")
    return found


def to_scim_group(department: Department, base_url: str) -> Group:
    members = db.session.scalars(
        _visible_employees(department.employer_id)
        .where(Employee.department_id == department.id)
        .options(selectinload(Employee.user))
        .order_by(Employee.id)
    ).all()
    return Group(
        id=str(department.id),
        external_id=department.external_id,
        display_name=department.name,
        members=[
            GroupMember(
                value=str(m.id),
                ref=_reference(user_location(base_url, m.id)),
                display=_display_name_of(m),
            )
            for m in members
        ]
        or None,
        meta=Meta(
            resource_type="Group",
            location=group_location(base_url, department.id),
        ),
    )


def list_groups(employer_id: int, base_url: str, filter_text: str | None, page: Page) -> Listing:
    query = select(Department).where(Department.employer_id == employer_id)
    scim_filter = _parse_filter(Group, filter_text) if filter_text else None
    if scim_filter is not None:
        try:
            query = query.where(_to_sql(scim_filter.ast, _group_column, Department.id))
        except _Untranslatable:
            everyone = [
                to_scim_group(d, base_url)
                for d in db.session.scalars(query.order_by(Department.id))
            ]
            matching = [g for g in everyone if scim_filter.match(g)]
            chosen = matching[page.start_index - 1 : page.start_index - 1 + page.count]
            return Listing(len(matching), chosen)
    total, rows = _paginate_sql(query, page, Department.id)
    return Listing(total, [to_scim_group(d, base_url) for d in rows])


def _member_ids(employer_id: int, members: Iterable[GroupMember]) -> set[int]:
    wanted = {_id_from(m.value, m.ref, "A member") for m in members}
    if not wanted:
        return set()
    found = set(
        db.session.scalars(
            _visible_employees(employer_id)
            .with_only_columns(Employee.id)
            .where(Employee.id.in_(wanted))
        )
    )
    missing = sorted(wanted - found)
    if missing:
        raise InvalidValueException(
            detail=f"These members are not Users of this employer: {', '.join(map(str, missing))}."
        )
    return found


def apply_group(department: Department, group: Group) -> None:
    """Write a complete SCIM Group onto the department; members are moved into it, and
    former members leave it (an employee belongs to one department)."""
    name = (group.display_name or "").strip()
    if not name:
        raise InvalidValueException(detail="displayName is required.")
    _check_length("department", name)
    clash = db.session.scalar(
        select(Department.id).where(
            Department.employer_id == department.employer_id,
            func.lower(Department.name) == name.lower(),
            Department.id != department.id if department.id is not None else true(),
        )
    )
    if clash is not None:
        raise UniquenessException(detail=f"Another Group of this employer is named {name!r}.")
    if group.external_id:
        _check_length("externalId", group.external_id)
    department.name = name
    department.external_id = group.external_id or None
    db.session.flush()
    members = _member_ids(department.employer_id, group.members or [])
    db.session.execute(
        update(Employee)
        .where(Employee.department_id == department.id, Employee.id.not_in(members))
        .values(department_id=None)
    )
    if members:
        db.session.execute(
            update(Employee).where(Employee.id.in_(members)).values(department_id=department.id)
        )
    db.session.flush()
    db.session.expire_all()


def create_group(employer: Employer, group: Group, actor_id: int) -> Department:
    name = (group.display_name or "").strip()
    if not name:
        raise InvalidValueException(detail="displayName is required.")
    clash = db.session.scalar(
        select(Department.id).where(
            Department.employer_id == employer.id, func.lower(Department.name) == name.lower()
        )
    )
    if clash is not None:
        raise UniquenessException(detail=f"Another Group of this employer is named {name!r}.")
    _check_length("department", name)
    department = create_department(employer, name, None, actor_id=actor_id)
    apply_group(department, group)
    return department


def delete_group(department: Department, actor_id: int) -> None:
    """Employees keep their history and lose the department; sub-departments move up."""
    db.session.execute(
        update(Employee).where(Employee.department_id == department.id).values(department_id=None)
    )
    db.session.execute(
        update(Department)
        .where(Department.parent_id == department.id)
        .values(parent_id=department.parent_id)
    )
    record(
        "scim.group_deleted",
        actor_id=actor_id,
        employer_id=department.employer_id,
        target_type="department",
        target_id=department.id,
    )
    db.session.delete(department)
    db.session.flush()


def employer_of(employer_id: int) -> Employer:
    employer = db.session.get(Employer, employer_id)
    if employer is None:  # the token's employer was deleted while the request ran
        raise NotFoundException(detail="The token's employer does not exist.")
    return employer
