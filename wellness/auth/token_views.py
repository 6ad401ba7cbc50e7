"""API tokens on the account page: create (shown once), list with last use, revoke.

Everyone who may hold a scope manages their own tokens here: employees their personal token,
provider staff their upload scripts', employer admins and HR their integrations'.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from wellness.audit.services import record
from wellness.auth import services
from wellness.auth.forms import TokenForm
from wellness.auth.guards import allow, user
from wellness.auth.scopes import LABELS, ROLES, allowed_scopes
from wellness.db import utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status

tokens_bp = Blueprint("tokens", __name__)

#: The roles that can hold a token with at least one scope.
TOKEN_ROLES = tuple(sorted({role for roles in ROLES.values() for role in roles}))


def _form() -> TokenForm:
    form = TokenForm()
    form.scopes.choices = [SelectChoice(s.value, str(LABELS[s])) for s in allowed_scopes(user())]
    return form


def _page(form: TokenForm, created: str | None = None) -> ResponseReturnValue:
    now = utcnow()
    tokens = [(token, token.state(now)) for token in services.tokens_of(user())]
    return render_template("auth/tokens.html", form=form, tokens=tokens, created=created), (
        201 if created else form_status()
    )


@tokens_bp.app_context_processor
def _may_hold_tokens() -> dict[str, Any]:
    """Whether the account menu links to this page."""
    return {"may_hold_tokens": lambda: bool(allowed_scopes(user()))}


@tokens_bp.get("/account/tokens")
@allow(*TOKEN_ROLES)
def index() -> ResponseReturnValue:
    return _page(_form())


@tokens_bp.post("/account/tokens")
@allow(*TOKEN_ROLES)
def create() -> ResponseReturnValue:
    form = _form()
    if not form.validate_on_submit():
        return _page(form)
    me = user()
    days = int(form.expires_in_days.data or 0)
    try:
        token = services.create_api_token(
            me, form.name.data or "", form.scopes.data or [], expires_in=days * 86400
        )
    except DomainError as refused:
        db.session.rollback()
        form.scopes.errors = [refused.message]
        return _page(form)
    record(
        "auth.token_created",
        actor_id=me.id,
        employer_id=me.employer_id,
        provider_id=me.provider_id,
        details={"name": form.name.data, "scopes": sorted(form.scopes.data or [])},
    )
    db.session.commit()
    # Shown in this response only: it is never stored, so it cannot be shown again.
    return _page(_form(), created=token)


@tokens_bp.post("/account/tokens/<int:token_id>/revoke")
@allow(*TOKEN_ROLES)
def revoke(token_id: int) -> ResponseReturnValue:
    me = user()
    token = services.revoke_token(me, token_id)
    record(
        "auth.token_revoked",
        actor_id=me.id,
        employer_id=me.employer_id,
        provider_id=me.provider_id,
        target_type="api_token",
        target_id=token.id,
    )
    db.session.commit()
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))
