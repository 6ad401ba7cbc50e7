"""The SCIM 2.0 endpoints at ``/scim/v2`` (RFC 7644), thin over :mod:`wellness.scim.services`.

Every route is ``@public`` for the session guard and authenticates itself with the bearer
token (:mod:`wellness.scim.auth`): identity providers have no session, and their errors must
be SCIM error bodies, not the app's problem details. Bearer requests cannot be forged by
another site, so the blueprint is exempt from CSRF. Each URL takes every method and answers
the ones it does not serve with a SCIM 405, and a catch-all answers unknown paths with a
SCIM 404, so no error under the prefix leaves in another format.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json, request
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Meta,
    NotFoundException,
    PatchOp,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from wellness.audit.services import record
from wellness.auth.guards import public
from wellness.errors import DomainError
from wellness.extensions import csrf, db
from wellness.scim import services
from wellness.scim.auth import authenticate, caller
from wellness.scim.schemas import CONFIG, POLICY, PROVIDER, Group, ScimUser

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MEDIA_TYPE = "application/scim+json"


def _base_url() -> str:
    return request.host_url.rstrip("/") + (bp.url_prefix or "")


def _respond(payload: dict[str, Any], status: int = 200, location: str | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype=MEDIA_TYPE)
    if location:
        response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    response = _respond(error.model_dump(), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def _not_allowed() -> Response:
    return _error(405, f"{request.method} is not supported on {request.path}.")


# --- errors: every failure below the prefix is a SCIM Error --------------------------------


@bp.errorhandler(SCIMException)
def _scim_error(exc: SCIMException) -> Response:
    db.session.rollback()
    error = exc.to_error()
    return _error(error.status or 400, error.detail or str(exc), error.scim_type)


@bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError) -> Response:
    db.session.rollback()
    errors = Error.from_validation_errors(exc)
    first = errors[0] if errors else Error(status=400, detail="The payload is not valid.")
    detail = "; ".join(e.detail or "" for e in errors) or "The payload is not valid."
    return _error(first.status or 400, detail, first.scim_type)


@bp.errorhandler(IntegrityError)
def _integrity_error(exc: IntegrityError) -> Response:
    db.session.rollback()
    return _error(409, "A value that must be unique is already taken.", "uniqueness")


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    db.session.rollback()
    return _error(exc.status_code, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    db.session.rollback()
    return _error(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    db.session.rollback()
    route = request.url_rule.rule if request.url_rule else "<unmatched>"
    current_app.logger.exception("unhandled SCIM error on %s %s", request.method, route)
    return _error(500, "The request could not be completed. Please try again later.")


@bp.before_request
def _authenticate() -> None:
    authenticate()


# --- helpers -------------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    payload = request.get_json(force=True, silent=True)
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object.")
    return payload


def _response_parameters(model: Any, source: dict[str, Any]) -> ResponseParameters[Any] | None:
    attributes = source.get("attributes")
    excluded = source.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    return ResponseParameters[model].model_validate(  # type: ignore[no-any-return]
        {"attributes": attributes, "excludedAttributes": excluded}
    )


def _dump(resource: Resource[Any], context: Context, model: Any) -> dict[str, Any]:
    return resource.model_dump(
        scim_ctx=context, response_parameters=_response_parameters(model, request.args.to_dict())
    )


def _list(model: Any, lister: Any, source: dict[str, Any]) -> Response:
    page = services.Page.parse(source.get("startIndex"), source.get("count"))
    listing = lister(caller().employer_id, _base_url(), source.get("filter") or None, page)
    response: ListResponse[Any] = services.list_response(listing, page, model)
    return _respond(
        response.model_dump(
            scim_ctx=Context.SEARCH_RESPONSE,
            response_parameters=_response_parameters(model, source),
        )
    )


def _search_source() -> dict[str, Any]:
    body = _body()
    source = {key: body.get(key) for key in ("filter", "startIndex", "count")}
    for key in ("attributes", "excludedAttributes"):
        value = body.get(key)
        source[key] = ",".join(value) if isinstance(value, list) else value
    return source


def _patch_op(model: Any) -> PatchOp[Any]:
    return PatchOp[model].model_validate(  # type: ignore[no-any-return]
        _body(), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )


# --- discovery -----------------------------------------------------------------------------


@bp.route("/ServiceProviderConfig", methods=ALL_METHODS)
@public
def service_provider_config() -> Response:
    if request.method != "GET":
        return _not_allowed()
    config = CONFIG.model_copy()
    config.meta = _meta("ServiceProviderConfig", "/ServiceProviderConfig")
    return _respond(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _meta(resource_type: str, path: str) -> Meta:
    return Meta(resource_type=resource_type, location=_base_url() + path)


def _schemas() -> list[Schema]:
    schemas = []
    for schema in PROVIDER.schemas:
        published = schema.model_copy()
        published.meta = _meta("Schema", f"/Schemas/{schema.id}")
        schemas.append(published)
    return schemas


def _resource_types() -> list[ResourceType]:
    types = []
    for resource_type in PROVIDER.resource_types:
        published = resource_type.model_copy()
        published.meta = _meta("ResourceType", f"/ResourceTypes/{resource_type.id}")
        types.append(published)
    return types


def _discovery_list(model: Any, items: list[Any]) -> Response:
    response = ListResponse[model](
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return _respond(response.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@bp.route("/Schemas", methods=ALL_METHODS)
@public
def schemas() -> Response:
    if request.method != "GET":
        return _not_allowed()
    return _discovery_list(Schema, _schemas())


@bp.route("/Schemas/<path:schema_id>", methods=ALL_METHODS)
@public
def schema(schema_id: str) -> Response:
    if request.method != "GET":
        return _not_allowed()
    for found in _schemas():
        if str(found.id).lower() == schema_id.lower():
            return _respond(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"Schema {schema_id} not found.")


@bp.route("/ResourceTypes", methods=ALL_METHODS)
@public
def resource_types() -> Response:
    if request.method != "GET":
        return _not_allowed()
    return _discovery_list(ResourceType, _resource_types())


@bp.route("/ResourceTypes/<type_id>", methods=ALL_METHODS)
@public
def resource_type(type_id: str) -> Response:
    if request.method != "GET":
        return _not_allowed()
    for found in _resource_types():
        if str(found.id).lower() == type_id.lower():
            return _respond(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"ResourceType {type_id} not found.")


# --- Users ---------------------------------------------------------------------------------


@bp.route("/Users", methods=ALL_METHODS)
@public
def users() -> Response:
    if request.method == "GET":
        return _list(ScimUser, services.list_users, request.args.to_dict())
    if request.method != "POST":
        return _not_allowed()
    who = caller()
    user = ScimUser.model_validate(
        _body(), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    employee = services.create_employee(services.employer_of(who.employer_id), user, who.user_id)
    db.session.commit()
    location = services.user_location(_base_url(), employee.id)
    created = services.to_scim_user(employee, _base_url())
    return _respond(
        _dump(created, Context.RESOURCE_CREATION_RESPONSE, ScimUser), 201, location=location
    )


@bp.route("/Users/.search", methods=ALL_METHODS)
@public
def search_users() -> Response:
    if request.method != "POST":
        return _not_allowed()
    return _list(ScimUser, services.list_users, _search_source())


@bp.route("/Users/<ident>", methods=ALL_METHODS)
@public
def user(ident: str) -> Response:
    who = caller()
    employee = services.get_employee(who.employer_id, ident)
    base = _base_url()
    if request.method == "GET":
        return _respond(
            _dump(services.to_scim_user(employee, base), Context.RESOURCE_QUERY_RESPONSE, ScimUser)
        )
    if request.method == "DELETE":
        services.deprovision(employee, who.user_id)
        db.session.commit()
        return Response(status=204)
    employer = services.employer_of(who.employer_id)
    if request.method == "PUT":
        replacement = ScimUser.model_validate(
            _body(), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        _refuse_other_id(replacement.id, ident)
        replacement.replace(services.to_scim_user(employee, base))
        services.apply_user(employer, employee, replacement, who.user_id)
        context = Context.RESOURCE_REPLACEMENT_RESPONSE
    elif request.method == "PATCH":
        current = services.to_scim_user(employee, base)
        _patch_op(ScimUser).patch(current, scim_policy=POLICY)
        services.apply_user(employer, employee, current, who.user_id)
        context = Context.RESOURCE_PATCH_RESPONSE
    else:
        return _not_allowed()
    record(
        "scim.user_updated",
        actor_id=who.user_id,
        employer_id=who.employer_id,
        target_type="employee",
        target_id=employee.id,
    )
    db.session.commit()
    return _respond(_dump(services.to_scim_user(employee, base), context, ScimUser))


def _refuse_other_id(given: str | None, ident: str) -> None:
    if given is not None and given != ident:
        raise InvalidValueException(detail=f"The body's id {given} is not the URL's id {ident}.")


# --- Groups --------------------------------------------------------------------------------


@bp.route("/Groups", methods=ALL_METHODS)
@public
def groups() -> Response:
    if request.method == "GET":
        return _list(Group, services.list_groups, request.args.to_dict())
    if request.method != "POST":
        return _not_allowed()
    who = caller()
    group = Group.model_validate(
        _body(), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    department = services.create_group(services.employer_of(who.employer_id), group, who.user_id)
    db.session.commit()
    created = services.to_scim_group(department, _base_url())
    return _respond(
        _dump(created, Context.RESOURCE_CREATION_RESPONSE, Group),
        201,
        location=services.group_location(_base_url(), department.id),
    )


@bp.route("/Groups/.search", methods=ALL_METHODS)
@public
def search_groups() -> Response:
    if request.method != "POST":
        return _not_allowed()
    return _list(Group, services.list_groups, _search_source())


@bp.route("/Groups/<ident>", methods=ALL_METHODS)
@public
def group(ident: str) -> Response:
    who = caller()
    department = services.get_department(who.employer_id, ident)
    base = _base_url()
    if request.method == "GET":
        return _respond(
            _dump(services.to_scim_group(department, base), Context.RESOURCE_QUERY_RESPONSE, Group)
        )
    if request.method == "DELETE":
        services.delete_group(department, who.user_id)
        db.session.commit()
        return Response(status=204)
    if request.method == "PUT":
        replacement = Group.model_validate(
            _body(), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        _refuse_other_id(replacement.id, ident)
        replacement.replace(services.to_scim_group(department, base))
        services.apply_group(department, replacement)
        context = Context.RESOURCE_REPLACEMENT_RESPONSE
    elif request.method == "PATCH":
        current = services.to_scim_group(department, base)
        _patch_op(Group).patch(current, scim_policy=POLICY)
        services.apply_group(department, current)
        context = Context.RESOURCE_PATCH_RESPONSE
    else:
        return _not_allowed()
    record(
        "scim.group_updated",
        actor_id=who.user_id,
        employer_id=who.employer_id,
        target_type="department",
        target_id=department.id,
    )
    db.session.commit()
    return _respond(_dump(services.to_scim_group(department, base), context, Group))


# --- search at the root: Users, then Groups ------------------------------------------------


@bp.route("/.search", methods=ALL_METHODS)
@public
def search_all() -> Response:
    """RFC 7644 §3.4.3 at the server root: a filter naming an attribute one resource type
    lacks matches none of that type."""
    if request.method != "POST":
        return _not_allowed()
    source = _search_source()
    page = services.Page.parse(source.get("startIndex"), source.get("count"))
    employer_id, base = caller().employer_id, _base_url()
    parts = []
    for lister in (services.list_users, services.list_groups):
        everything = services.Page(1, services.MAX_RESULTS)
        try:
            parts.append(lister(employer_id, base, source.get("filter") or None, everything))
        except SCIMException as exc:
            if exc.scim_type != "invalidFilter":
                raise
    if not parts:
        raise InvalidFilterException(detail=f"The filter {source.get('filter')!r} is not valid.")
    resources = [r for part in parts for r in part.resources]
    chosen = resources[page.start_index - 1 : page.start_index - 1 + page.count]
    response = ListResponse[ScimUser | Group](
        total_results=sum(part.total for part in parts),
        start_index=page.start_index,
        items_per_page=len(chosen),
        resources=chosen,
    )
    parameters = None
    if source.get("attributes") or source.get("excludedAttributes"):
        parameters = ResponseParameters[ScimUser | Group].model_validate(
            {
                "attributes": source.get("attributes"),
                "excludedAttributes": source.get("excludedAttributes"),
            }
        )
    return _respond(
        response.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)
    )


# --- anything else -------------------------------------------------------------------------


@bp.route("/", defaults={"rest": ""}, methods=ALL_METHODS)
@bp.route("/<path:rest>", methods=ALL_METHODS)
@public
def unknown(rest: str) -> Response:
    raise NotFoundException(detail=f"{request.path} is not a SCIM endpoint of this server.")
