"""One declaration per endpoint validates the request and describes it in the OpenAPI document.

A view declares its operation with :func:`operation`: the query and body models (pydantic)
validate the request before the view runs and hand it the parsed values, and the same models,
the response models and the view's access rule (:func:`wellness.auth.guards.allow`) make up the
OpenAPI 3.1 document at ``/api/v1/openapi.json``. The document is built from the Flask URL map,
so a route cannot be missing from it: a ``/api/v1`` route without a declaration fails the build.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, wraps
from typing import Any, TypeVar

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from wellness.api.problems import PROBLEM_JSON
from wellness.api.schemas import MAX_ID, Body, Problem, Query
from wellness.auth.guards import ACCESS_ATTR, Access, public
from wellness.auth.scopes import ENDPOINTS as ENDPOINT_SCOPES
from wellness.errors import BadParameter

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/api/v1"
OPERATION_ATTR = "_wellness_operation"
API_VERSION = "1.0.0"


@dataclass(frozen=True)
class Reply:
    """One documented answer: a JSON model, or a file of ``media_type`` (``model`` None)."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    responses: Mapping[int, Reply]
    query: type[Query] | None = None
    body: type[Body] | None = None
    #: Media types of a file upload (the body is read by the view, not by a model).
    upload: tuple[str, ...] = ()
    #: Error statuses beyond those every operation of its kind can answer: a description
    #: (the answer is a plain :class:`Problem`) or a reply with a problem model of its own.
    errors: Mapping[int, str | Reply] = field(default_factory=dict)
    #: Schemas of path arguments beyond what the URL converter says (e.g. an enum).
    path: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    description: str | None = None


def operation(
    summary: str,
    *,
    tag: str,
    responses: Mapping[int, Reply],
    query: type[Query] | None = None,
    body: type[Body] | None = None,
    upload: tuple[str, ...] = (),
    errors: Mapping[int, str | Reply] | None = None,
    path: Mapping[str, dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Declare a view's operation. The view gets ``query=`` and ``body=`` keyword arguments
    with the validated models; a refused request answers a problem naming the parameter."""

    def wrap(view: F) -> F:
        declared = Operation(
            summary=summary,
            tag=tag,
            responses=responses,
            query=query,
            body=body,
            upload=upload,
            errors=errors or {},
            path=path or {},
            description=_docstring(view),
        )

        @wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            return view(*args, **kwargs)

        setattr(run, OPERATION_ATTR, declared)
        return run  # type: ignore[return-value]

    return wrap


def _docstring(view: Callable[..., Any]) -> str | None:
    doc = view.__doc__
    return re.sub(r"\s+", " ", doc).replace("``", "`").strip() if doc else None


# --- request validation ----------------------------------------------------------------------


def parse_query(model: type[Query]) -> Query:
    """The query string as ``model``; an empty value counts as not given (as on our forms)."""
    given = {key: value for key, value in request.args.items() if value != ""}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        raise _refusal(model, exc, 400) from None


def parse_body(model: type[Body]) -> Body:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadParameter("body", str(model.not_an_object), model.problem_status)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _refusal(model, exc, model.problem_status) from None


def _location(loc: Iterable[int | str]) -> str:
    """``("entries", 1, "reps")`` -> ``entries[1].reps``, as the services name fields."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name or "body"


def _refusal(model: type[BaseModel], exc: ValidationError, status: int) -> BadParameter:
    """The first refused parameter, with a message that says what to send instead."""
    error = exc.errors()[0]
    name = _location(error["loc"])
    own = getattr(model, "messages", {}).get(name)
    message = str(own) if own is not None else _message(model, name, error["type"], error)
    return BadParameter(name, message, status)


def _message(model: type[BaseModel], name: str, kind: str, error: Any) -> str:
    if kind in {"whole_number", "int_parsing", "int_type", "int_from_float"}:
        return _("Parameter '%(name)s' must be a whole number.", name=name)
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        low, high = _bounds(model, name)
        return _(
            "Parameter '%(name)s' must be between %(low)d and %(high)d.",
            name=name,
            low=low,
            high=high,
        )
    if kind.startswith("date_"):
        return _("Parameter '%(name)s' must be a date like 2026-03-31.", name=name)
    if kind == "month":
        return _("Parameter '%(name)s' must be a month like 2026-03.", name=name)
    if kind in {"enum", "literal_error"}:
        allowed = ", ".join(_limits_of(model).allowed.get(name, ()))
        return _("Parameter '%(name)s' must be one of: %(allowed)s.", name=name, allowed=allowed)
    if kind == "flag":
        return _("Parameter '%(name)s' must be true or false.", name=name)
    if kind == "missing":
        return _("Parameter '%(name)s' is required.", name=name)
    return _("Parameter '%(name)s' has a value of the wrong kind.", name=name)


@dataclass(frozen=True)
class _Limits:
    bounds: dict[str, tuple[int, int]]
    allowed: dict[str, tuple[str, ...]]


@cache
def _limits_of(model: type[BaseModel]) -> _Limits:
    """Ranges and allowed values per parameter, read from the model's own schema (so the
    message says exactly what the document says)."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})
    bounds, allowed = {}, {}
    for name, prop in schema["properties"].items():
        for option in [prop, *prop.get("anyOf", [])]:
            if "$ref" in option:
                option = definitions[option["$ref"].rsplit("/", 1)[1]]
            if "minimum" in option and "maximum" in option:
                bounds[name] = (int(option["minimum"]), int(option["maximum"]))
            if "enum" in option:
                allowed[name] = tuple(str(value) for value in option["enum"])
    return _Limits(bounds, allowed)


def _bounds(model: type[BaseModel], name: str) -> tuple[int, int]:
    return _limits_of(model).bounds.get(name, (0, 0))


# --- the document ---------------------------------------------------------------------------

PATH_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

#: What every guarded operation can answer besides its own errors.
GUARD_ERRORS = {
    401: "No valid bearer token or session: sign in or send `Authorization: Bearer wl_...`.",
    403: "The account's role (or the token's scopes) does not allow this operation.",
    429: "Too many requests from this token or address; retry later.",
}


def _problem_reply(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _operations(app: Flask) -> list[tuple[str, str, str, Operation, Access | None]]:
    """(path, method, endpoint, operation, access) for every /api/v1 route of the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/") and rule.rule != PREFIX:
            continue
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, OPERATION_ATTR, None)
        if declared is None:
            raise LookupError(f"{rule.rule} ({rule.endpoint}) has no @operation declaration")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(
                (rule.rule, method, rule.endpoint, declared, getattr(view, ACCESS_ATTR, None))
            )
    return sorted(found)


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for match in PATH_ARGUMENT.finditer(rule):
        integer = match["converter"] == "int"
        parameters.append(
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}
                if integer
                else {"type": "string"},
            }
        )
    return PATH_ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _models(operations: Iterable[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for op in operations:
        for model in (op.query, op.body):
            if model is not None:
                models[(model, "validation")] = None
        for reply in [*op.responses.values(), *op.errors.values()]:
            if isinstance(reply, Reply) and reply.model is not None:
                models[(reply.model, "serialization")] = None
    return list(models)


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``/api/v1`` route."""
    operations = _operations(app)
    models = _models(op for _, _, _, op, _ in operations)
    refs, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = definitions.get("$defs", {})

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    def resolved(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        name = ref(model, mode)["$ref"].rsplit("/", 1)[1]
        return schemas[name]  # type: ignore[no-any-return]

    paths: dict[str, dict[str, Any]] = {}
    query_schemas: set[str] = set()
    for rule, method, endpoint, op, access in operations:
        path, parameters = _path(rule)
        for parameter in parameters:
            parameter["schema"] |= op.path.get(parameter["name"], {})
        if op.query is not None:
            schema = resolved(op.query, "validation")
            query_schemas.add(ref(op.query, "validation")["$ref"].rsplit("/", 1)[1])
            for name, prop in schema.get("properties", {}).items():
                prop = _not_null(prop)
                description = prop.pop("description", None)
                prop.pop("title", None)
                # An empty value counts as not given (``?to=``), as on our forms.
                parameter = {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "allowEmptyValue": True,
                    "schema": prop,
                }
                if description:
                    parameter["description"] = description
                parameters.append(parameter)
        entry: dict[str, Any] = {
            "operationId": endpoint.removeprefix("api."),
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": {},
        }
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body, "validation")}},
            }
        if op.upload:
            entry["requestBody"] = {
                "required": True,
                "content": {kind: _upload_schema(kind) for kind in op.upload},
            }
        for status, reply in op.responses.items():
            entry["responses"][str(status)] = _reply(reply, ref)
        errors: dict[int, str | Reply] = {}
        if op.query is not None or op.body is not None:
            status = op.body.problem_status if op.body is not None else 400
            errors[400] = "A parameter or field is refused; `invalid-params` names it."
            if status != 400:
                errors[status] = "A field is refused; `invalid-params` names it."
        if parameters and any(p["in"] == "path" for p in parameters):
            errors[404] = "Not found, or not yours (another tenant's rows do not exist for you)."
        if access is not None and not access.public:
            errors |= GUARD_ERRORS
            roles = sorted(role.value for role in access.roles)
            entry["x-roles"] = roles
            scopes = sorted(ENDPOINT_SCOPES.get(endpoint, ()))
            # Alternatives: a token with any one of the scopes, or the session cookie.
            entry["security"] = [{"bearerToken": [scope]} for scope in scopes] + [
                {"sessionCookie": []}
            ]
            needs = f"Roles: {', '.join(roles)}. Token scopes (any one): {', '.join(scopes)}."
            entry["description"] = f"{entry.get('description') or ''}\n\n{needs}".strip()
        else:
            entry["security"] = []
        errors |= dict(op.errors)
        for status, error in sorted(errors.items()):
            answer = _reply(error, ref) if isinstance(error, Reply) else _problem_reply(error)
            entry["responses"][str(status)] = answer
        paths.setdefault(PATH_ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule), {})[
            method.lower()
        ] = entry
    for name in query_schemas:
        schemas.pop(name, None)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "wellness API",
            "version": API_VERSION,
            "description": DESCRIPTION,
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "wl_...",
                    "description": "An API token (`Authorization: Bearer wl_...`). A token reaches "
                    "only operations that list one of its scopes (and its user's roles).",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                    "description": "The web session of our own pages; requests other than GET "
                    "must also send the CSRF token in an `X-CSRFToken` header.",
                },
            },
        },
    }


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is text or absent, never JSON null: ``X | None`` documents as ``X``."""
    schema = dict(schema)
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema |= options[0]
    elif options:
        schema["anyOf"] = options
    return schema


def _upload_schema(kind: str) -> dict[str, Any]:
    if kind == "multipart/form-data":
        return {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}},
                "required": ["file"],
            }
        }
    return {"schema": {"type": "string"}}


def _reply(reply: Reply, ref: Callable[[type[BaseModel], JsonSchemaMode], dict[str, Any]]) -> Any:
    if reply.model is not None:
        schema = ref(reply.model, "serialization")
    elif reply.media_type == "application/json":
        schema = {"type": "object"}
    else:
        schema = {"type": "string", "contentMediaType": reply.media_type}
    answer: dict[str, Any] = {
        "description": reply.description,
        "content": {reply.media_type: {"schema": schema}},
    }
    if reply.headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in reply.headers.items()
        }
    return answer


TAGS = {
    "catalog": "Certified courses open to the employee's employer, and enrollment.",
    "me": "The signed-in employee's own data: checklists, check-ins, training, consents, export.",
    "provider": "A course provider's offerings, rosters and attendance upload.",
    "analytics": "Aggregates for HR, released by the privacy layer only.",
    "meta": "This document and its reference page.",
}

DESCRIPTION = """The JSON API of wellness, generated from the code that validates the requests.

**Versioning**: every path starts with `/api/v1`; changes within v1 only add (fields,
parameters, operations). A breaking change gets `/api/v2` next to v1.

**Authentication**: an API token as `Authorization: Bearer wl_...`, or the session cookie of
our own pages plus the CSRF token in `X-CSRFToken`. Each operation names the roles that may
call it (`x-roles`) and the token scopes that reach it (any one of them is enough).

**Errors** are RFC 9457 problem details (`application/problem+json`) with `type`, `title`,
`status` and `detail`; a refused parameter or field is named in `invalid-params`
(`[{"name": "from", "reason": "..."}]`).

**Pagination**: lists that can grow take `page` (from 1) and `per_page` (from 1 to 100,
by default 20) and answer `{"items": [...], "page", "per_page", "total", "pages"}`; a page
past the end answers the last page. Short lists answer `{"items": [...]}`.
"""


# --- the views ----------------------------------------------------------------------------------


def register(bp: Any) -> None:
    """The document and its reference page, both public: they describe, they hold no data."""

    @bp.get("/openapi.json")
    @public
    @operation(
        "This OpenAPI document",
        tag="meta",
        responses={200: Reply("The OpenAPI 3.1 document.", media_type="application/json")},
    )
    def openapi_document() -> ResponseReturnValue:
        return jsonify(document(current_app._get_current_object()))  # type: ignore[attr-defined]

    @bp.get("/docs")
    @public
    @operation(
        "Interactive reference (Swagger UI)",
        tag="meta",
        responses={200: Reply("The reference page.", media_type="text/html")},
    )
    def reference_page() -> ResponseReturnValue:
        return render_template("api/docs.html")


def document(app: Flask) -> dict[str, Any]:
    """Built once per app: the URL map does not change after start (the document is English,
    like the identifiers it describes)."""
    if "wellness_openapi" not in app.extensions:
        app.extensions["wellness_openapi"] = build_document(app)
    return app.extensions["wellness_openapi"]  # type: ignore[no-any-return]
