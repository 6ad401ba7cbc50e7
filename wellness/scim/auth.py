"""Who may provision over SCIM: an unrevoked, unexpired token with the ``scim`` scope whose
user is an admin of an employer. Everything the request touches is that employer's.

The employer comes from the token, never from the request, so one employer's identity
provider cannot address another employer's people or departments.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from scim2_models import ForbiddenException, UnauthorizedException

from wellness.auth.scopes import Scope, grants
from wellness.auth.services import user_for_token


@dataclass(frozen=True)
class ScimCaller:
    employer_id: int
    user_id: int
    token_id: int


def authenticate() -> ScimCaller:
    """The caller of the current request, or a SCIM 401/403 exception."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedException(
            detail="Send an integration token: 'Authorization: Bearer <token>'."
        )
    found = user_for_token(token.strip())
    if found is None:
        raise UnauthorizedException(
            detail="The token is not valid: it is unknown, revoked or expired, "
            "or its account is disabled."
        )
    user, api_token = found
    if Scope.SCIM not in api_token.scope_set:
        raise ForbiddenException(
            detail="The token lacks the 'scim' scope. Create one with "
            "'wellness token create --email <admin> --scope scim'."
        )
    if user.employer_id is None or not grants(api_token.scope_set, Scope.SCIM, user):
        raise ForbiddenException(
            detail="The token's account is not an admin of an employer, so it may not "
            "provision employees."
        )
    caller = ScimCaller(employer_id=user.employer_id, user_id=user.id, token_id=api_token.id)
    g.scim_caller = caller
    return caller


def caller() -> ScimCaller:
    """The authenticated caller; only valid after :func:`authenticate` ran for the request."""
    found: ScimCaller = g.scim_caller
    return found
