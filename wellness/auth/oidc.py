"""Single sign-on with OpenID Connect, configured per employer.

Each employer with SSO has its own issuer, client id and client secret (set by its admin). The
sign-in runs the authorization-code flow with PKCE (S256), state and nonce through Authlib's
Flask client; the ID token is checked for issuer, audience (our client id), expiry, nonce and
its signature against the provider's JWKS. The e-mail comes from the userinfo endpoint.

Which employer's provider to use is decided before the redirect: by the account of the e-mail
address the person typed, or by the employer's slug in the URL (``/sso/<slug>``, a link the
employer can publish). Either way the callback only accepts an answer to the flow started for
that employer, and only signs in a user *of that employer*: a provider can never sign in
somebody of another tenant, whatever claims it sends.

Users are not created here (the product provisions people by SCIM, import or the admin UI):
an identity that matches no user of the employer is refused.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client.integration import FlaskIntegration
from flask import current_app
from flask_babel import gettext as _
from joserfc.errors import JoseError
from sqlalchemy import select, update

from wellness.audit.services import record
from wellness.auth.models import User
from wellness.db import utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.tenants.models import Employer

#: Seconds we wait for the provider (discovery, token, JWKS, userinfo).
HTTP_TIMEOUT = 10
#: How long a started sign-in may take at the provider before its state is forgotten.
FLOW_MAX_AGE = 600
#: Scopes we ask for: the subject and the e-mail address, nothing else.
SCOPES = "openid email"
#: Discovery fields the flow needs.
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class SsoError(DomainError):
    """Sign-in through the employer's provider did not work; the message says why."""

    status_code = 401


class SsoConfigError(DomainError):
    """The SSO settings an admin entered cannot work; ``field`` names the form field."""

    def __init__(self, message: str, field: str = "issuer") -> None:
        super().__init__(message)
        self.field = field


# --- configuration -------------------------------------------------------------------------


def sso_configured(employer: Employer) -> bool:
    return bool(employer.oidc_issuer and employer.oidc_client_id and employer.oidc_client_secret)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _internal_address(host: str) -> bool:
    """True when ``host`` resolves to an address inside our network (no SSRF through SSO)."""
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return False  # unresolvable: the discovery fetch will say so
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            return True
    return False


def check_url(url: str, allow_loopback_http: bool, label: str) -> str:
    """An issuer or endpoint we may call: https, or http on loopback outside production."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or parts.scheme not in ("https", "http"):
        raise SsoConfigError(
            _("%(label)s must be a full URL such as https://login.example.com.", label=label)
        )
    if parts.query or parts.fragment:
        raise SsoConfigError(
            _("%(label)s must not contain a query (?) or fragment (#).", label=label)
        )
    if parts.scheme == "http" and not (allow_loopback_http and _is_loopback(host)):
        raise SsoConfigError(_("%(label)s must use https://.", label=label))
    if not allow_loopback_http and (_is_loopback(host) or _internal_address(host)):
        raise SsoConfigError(
            _(
                "%(label)s points into the platform's own network; use a public address.",
                label=label,
            )
        )
    return url


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def fetch_discovery(issuer: str, allow_loopback_http: bool) -> dict[str, Any]:
    """The provider's metadata, checked for what our flow needs; raises SsoConfigError."""
    url = discovery_url(issuer)
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise SsoConfigError(
            _(
                "The provider's discovery document %(url)s could not be fetched (%(reason)s). "
                "Check the issuer URL.",
                url=url,
                reason=type(exc).__name__,
            )
        ) from exc
    if response.status_code != 200:
        raise SsoConfigError(
            _(
                "The provider's discovery document %(url)s answered with HTTP %(status)d. "
                "Check the issuer URL.",
                url=url,
                status=response.status_code,
            )
        )
    try:
        metadata = response.json()
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        raise SsoConfigError(
            _("The provider's discovery document %(url)s is not a JSON object.", url=url)
        )
    missing = [name for name in REQUIRED_METADATA if not isinstance(metadata.get(name), str)]
    if missing:
        raise SsoConfigError(
            _(
                "The provider's discovery document lacks %(fields)s.",
                fields=", ".join(missing),
            )
        )
    if metadata["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise SsoConfigError(
            _(
                "The provider calls itself %(found)s, not %(issuer)s. Enter exactly its issuer.",
                found=metadata["issuer"],
                issuer=issuer,
            )
        )
    methods = metadata.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        raise SsoConfigError(
            _("The provider does not support PKCE with S256, which sign-in requires.")
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        if name in metadata:
            check_url(metadata[name], allow_loopback_http, name)
    return metadata


@dataclass(frozen=True)
class SsoSettings:
    issuer: str
    client_id: str
    #: None keeps the stored secret (the form never shows it back).
    client_secret: str | None
    password_login_enabled: bool


def configure_sso(
    employer: Employer,
    settings: SsoSettings,
    actor_id: int,
    *,
    allow_loopback_http: bool,
) -> list[str]:
    """Check and store the employer's SSO settings; returns the changed field names.

    The discovery document is fetched now, so a typo shows up here and not at the first
    employee's sign-in. Password login may only be turned off with SSO in place, or nobody of
    the employer (its admins included) could sign in any more. A subject is only unique at
    its issuer, so a new issuer unlinks every user: each is linked again by e-mail.
    """
    issuer = settings.issuer.strip()
    client_id = settings.client_id.strip()
    secret = (settings.client_secret or "").strip() or employer.oidc_client_secret
    if not issuer and not client_id and not settings.client_secret:
        if not settings.password_login_enabled:
            raise SsoConfigError(
                _("Password login can only be turned off once single sign-on is set up."),
                field="password_login_enabled",
            )
        new: dict[str, str | bool | None] = dict.fromkeys(
            ("oidc_issuer", "oidc_client_id", "oidc_client_secret")
        )
    else:
        if not issuer:
            raise SsoConfigError(_("Enter the issuer URL of your identity provider."))
        if not client_id:
            raise SsoConfigError(_("Enter the client ID."), field="client_id")
        if not secret:
            raise SsoConfigError(_("Enter the client secret."), field="client_secret")
        check_url(issuer, allow_loopback_http, _("The issuer"))
        issuer = str(fetch_discovery(issuer, allow_loopback_http)["issuer"])  # its spelling
        new = {"oidc_issuer": issuer, "oidc_client_id": client_id, "oidc_client_secret": secret}
    new["password_login_enabled"] = settings.password_login_enabled
    changed = [name for name, value in new.items() if getattr(employer, name) != value]
    for name in changed:
        setattr(employer, name, new[name])
    if "oidc_issuer" in changed:
        db.session.execute(
            update(User).where(User.employer_id == employer.id).values(oidc_subject=None)
        )
    if changed:
        record(
            "admin.settings_changed",
            actor_id=actor_id,
            employer_id=employer.id,
            target_type="employer",
            target_id=employer.id,
            details={"fields": changed},  # names only: the secret never enters the log
        )
    db.session.flush()
    return changed


# --- choosing the employer ------------------------------------------------------------------


def employer_for_email(email: str) -> Employer | None:
    """The SSO employer of the account with this address (None also for unknown addresses)."""
    from wellness.auth.services import find_user

    found = find_user(email)
    if found is None or found.employer is None or not sso_configured(found.employer):
        return None
    return found.employer


def employer_for_slug(slug: str) -> Employer | None:
    employer = db.session.scalar(select(Employer).where(Employer.slug == slug[:60]))
    if employer is None or not sso_configured(employer):
        return None
    return employer


# --- the flow -------------------------------------------------------------------------------


class _Integration(FlaskIntegration):
    """Authlib keeps the flow's state, nonce and PKCE verifier in the (signed) session; ours
    forgets them after FLOW_MAX_AGE and refuses a state older than that."""

    expires_in = FLOW_MAX_AGE

    def get_state_data(self, session: Any, state: str | None) -> Any:
        stored = session.get(f"_state_{self.name}_{state}")
        if not stored or stored.get("exp", 0) < time.time():
            return None
        return super().get_state_data(session, state)


def client_for(employer: Employer) -> FlaskOAuth2App:
    """An Authlib client for this employer's provider.

    Built per request rather than registered once, so an admin's change applies at once in every
    worker. The name includes the employer id: a flow started for one employer has no state at
    another employer's callback.
    """
    name = f"sso_{employer.id}"
    return FlaskOAuth2App(
        _Integration(name),
        name=name,
        client_id=employer.oidc_client_id,
        client_secret=employer.oidc_client_secret,
        server_metadata_url=discovery_url(employer.oidc_issuer or ""),
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT,
        },
    )


def start_url(employer: Employer, redirect_uri: str, login_hint: str | None) -> str:
    """The provider's authorization URL; state, nonce and verifier go into the session."""
    client = client_for(employer)
    extra = {"login_hint": login_hint} if login_hint else {}
    try:
        found = client.create_authorization_url(redirect_uri, **extra)
    except (requests.RequestException, ValueError, RuntimeError) as exc:
        raise SsoError(_provider_unreachable()) from exc
    url = str(found.pop("url"))  # the rest (state, nonce, verifier) waits in the session
    client.save_authorize_data(redirect_uri=redirect_uri, **found)
    return url


def _provider_unreachable() -> str:
    return _(
        "Your company's sign-in service cannot be reached right now. Try again later or "
        "ask your administrator."
    )


@dataclass(frozen=True)
class Identity:
    """What the provider vouched for, after every check passed."""

    subject: str
    email: str | None
    email_verified: bool
    claims: Mapping[str, Any]


def finish(employer: Employer) -> Identity:
    """Exchange the code of the current callback request and validate the ID token.

    Authlib checks the state against the session (MismatchingStateError), sends the PKCE
    verifier, and validates the ID token: signature (JWKS), ``iss`` from discovery, ``aud`` our
    client id, ``exp``/``iat`` and the nonce.
    """
    client = client_for(employer)
    leeway = int(current_app.config.get("OIDC_CLOCK_LEEWAY", 60))
    try:
        token = client.authorize_access_token(
            leeway=leeway,
            # Authlib alone lets a foreign ``aud`` pass when ``azp`` names us: require both.
            claims_options={
                "iss": {"essential": True, "value": employer.oidc_issuer},
                "aud": {"essential": True, "value": employer.oidc_client_id},
            },
        )
    except OAuthError as exc:
        current_app.logger.info("SSO for employer %s refused: %s", employer.id, exc.error)
        if exc.error == "mismatching_state":
            raise SsoError(
                _("This sign-in was not started here or took too long. Please start again.")
            ) from exc
        raise SsoError(
            _("Your company's sign-in service refused the sign-in. Please start again.")
        ) from exc
    except JoseError as exc:
        # Wrong audience, expired, bad signature, wrong issuer or nonce: never trust it.
        current_app.logger.warning("SSO for employer %s: ID token refused: %s", employer.id, exc)
        raise SsoError(
            _("The sign-in answer of your company's sign-in service is not valid for us.")
        ) from exc
    except requests.RequestException as exc:
        raise SsoError(_provider_unreachable()) from exc
    id_claims = token.get("userinfo")
    if not id_claims or not id_claims.get("sub"):
        raise SsoError(
            _("The sign-in answer of your company's sign-in service is not valid for us.")
        )
    claims: dict[str, Any] = dict(id_claims)
    if "email" not in claims:
        try:
            info = client.userinfo(token=token)
        except (requests.RequestException, OAuthError) as exc:
            raise SsoError(_provider_unreachable()) from exc
        if info.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: must match the ID token
            raise SsoError(
                _("The sign-in answer of your company's sign-in service is not valid for us.")
            )
        claims.update(info)
    email = claims.get("email")
    return Identity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=claims.get("email_verified", True) is not False,
        claims=claims,
    )


# --- matching the person --------------------------------------------------------------------


#: Claims that carry the identity provider's own id of a person, which its SCIM client sends
#: as ``externalId``: Entra ID's object id, else the subject (Okta, Google).
EXTERNAL_ID_CLAIMS = ("oid", "sub")


def match_by_external_id(employer: Employer, identity: Identity) -> User | None:
    """The employer's user whose employee record SCIM provisioned with the provider's id of
    this person (``Employee.external_id``), for people whose address differs at the provider."""
    from wellness.tenants.models import Employee

    ids = [str(identity.claims[c]) for c in EXTERNAL_ID_CLAIMS if identity.claims.get(c)]
    if not ids:
        return None
    return db.session.scalar(
        select(User)
        .join(Employee, Employee.user_id == User.id)
        .where(
            Employee.employer_id == employer.id,
            Employee.external_id.in_(ids),
            Employee.deprovisioned_at.is_(None),
        )
        .limit(1)
    )


def _refused() -> SsoError:
    return SsoError(
        _(
            "Your company account signed in, but there is no wellness account for it at this "
            "employer. Ask your administrator to add you."
        )
    )


def match_user(employer: Employer, identity: Identity) -> User:
    """The employer's user for this identity: by subject, else by e-mail, else by externalId.

    Only users of ``employer`` are considered. The first e-mail match links the subject, so a
    later change of address at the provider still finds the person; an account already linked
    to another subject is not taken over by whoever now has its address.
    """
    found = db.session.scalar(
        select(User).where(User.employer_id == employer.id, User.oidc_subject == identity.subject)
    )
    if found is None and identity.email and identity.email_verified:
        from wellness.auth.services import normalize_email

        by_email = db.session.scalar(
            select(User).where(
                User.employer_id == employer.id, User.email == normalize_email(identity.email)
            )
        )
        if by_email is not None and by_email.oidc_subject not in (None, identity.subject):
            raise SsoError(
                _(
                    "This wellness account is linked to another company account. "
                    "Ask your administrator."
                )
            )
        found = by_email
    if found is None:
        found = match_by_external_id(employer, identity)
    if found is None or found.employer_id != employer.id or not found.is_enabled:
        raise _refused()
    if found.oidc_subject is None:
        found.oidc_subject = identity.subject
    return found


def record_sso_login(found: User) -> None:
    """What a successful password sign-in records, marked as SSO; the view calls login_user."""
    found.last_login_at = utcnow()
    record(
        "auth.login",
        actor_id=found.id,
        employer_id=found.employer_id,
        details={"method": "sso"},
    )
    db.session.flush()
