"""The SCIM resources we serve, as scim2-models classes holding exactly what we store.

The standard ``User`` and ``Group`` models carry dozens of attributes (phone numbers,
addresses, photos, ...) that we do not keep. Publishing them in ``/Schemas`` would promise a
round trip we cannot honour, so these models declare the same schema URNs with only the
attributes that map to columns; unknown attributes in requests are ignored (``POLICY``), as
RFC 7644 §3.3 allows, so identity providers that send more still work.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

#: Largest page a list or search returns; also the default page size.
MAX_RESULTS = 200


class Name(ComplexAttribute):
    family_name: str | None = None
    given_name: str | None = None


class Email(ComplexAttribute):
    """The account's login address; only one is kept (the primary, else the first)."""

    #: A string, not EmailStr: company domains such as ``.local`` fail strict validation.
    value: str | None = None
    type: str | None = Field(None, examples=["work", "home", "other"])
    primary: bool | None = None


class Manager(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    #: Accepted for the id it ends with; ``value`` wins when both are given.
    ref: Reference["User"] | None = Field(  # type: ignore[type-arg]  # noqa: UP037 - a resource type name
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    __schema__ = URN(ENTERPRISE_SCHEMA)

    employee_number: str | None = None
    #: The department's name; an unknown name creates the department.
    department: str | None = None
    manager: Manager | None = None


class User(Resource[AnyExtension]):
    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Name | None = None
    display_name: str | None = None
    active: bool | None = None
    emails: list[Email] | None = None


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    #: Accepted for the id it ends with; ``value`` wins when both are given.
    ref: Reference["User"] | None = Field(  # type: ignore[type-arg]  # noqa: UP037 - a resource type name
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display: Annotated[str | None, Mutability.read_only] = None


class Group(Resource[Any]):
    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    members: list[GroupMember] | None = None


#: The User resource with the enterprise extension, as served at /Users.
ScimUser = User[EnterpriseUser]

#: Tolerate what real identity providers send: attributes we do not keep are ignored, and a
#: PATCH ``add`` on ``emails[type eq "work"].value`` creates the entry when there is none.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="An integration token of an employer admin with the scope 'scim' "
            "(wellness token create --email ADMIN --scope scim).",
            primary=True,
        )
    ],
    pagination=Pagination(cursor=False, index=True, default_page_size=MAX_RESULTS),
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[
        ResourceType.model_validate(
            {
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "Employees of the employer (with their account, if any)",
                "schema": USER_SCHEMA,
                "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            }
        ),
        ResourceType.model_validate(
            {
                "id": "Group",
                "name": "Group",
                "endpoint": "/Groups",
                "description": "Departments of the employer; members are its employees",
                "schema": GROUP_SCHEMA,
            }
        ),
    ],
    config=CONFIG,
    policy=POLICY,
)
