"""Security headers on every response: Content-Security-Policy, HSTS (production only) and the
small ones (nosniff, referrer, framing).

The policy is strict by default: only our own origin, no inline script, no ``eval``, no
plugins, no foreign ``<base>``, forms posting only to us, framing only by us. A template that
really needs an inline ``<script>`` or ``<style>`` writes ``nonce="{{ csp_nonce() }}"``; the
nonce is made per request and named in the header only for responses that used it.

Relaxations, each for a reason found in a real Chromium (tests/security/test_browser_csp.py):

- No ``style="..."`` attributes on our pages: ``style-src 'self'`` refuses them (there is no
  ``style-src-attr``), so templates use classes from app.css; ``tests/security/test_headers.py``
  keeps it that way.
- ``img-src data:``: Swagger UI (/api/v1/docs) draws its icons and Plotly draws the PNG export
  from ``data:`` URLs; an image cannot run code.
- Under the Dash prefix (/hr/) the page is Dash's own index, not our template. Dash boots with
  one inline script (``var renderer = new DashRenderer(...)``); instead of ``'unsafe-inline'``
  the policy names its hash (:meth:`dash.Dash.csp_hashes`), so only that exact script runs.
  No ``'unsafe-eval'`` is needed (Dash 4, Plotly.js 3: checked in Chromium).
- ``style-src 'unsafe-inline'`` under /hr/ and on PLOTLY_PAGES only: Plotly.js creates
  ``<style>`` elements at run time (``plotly.js-style-global`` and one per chart's modebar)
  and fills them through CSSOM. It sets no nonce, so under ``style-src 'self'`` the element
  is refused, its sheet is null and the modebar and hover labels lose their styles. Styles
  cannot run script; scripts stay hash/nonce-only on these pages too.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, current_app, g, request

#: Paths served by the HR dashboard (Dash); see dashboards.layout.PREFIX.
DASH_PREFIX = "/hr/"

#: The policy for every page we render ourselves.
BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "frame-ancestors": ("'self'",),
    "form-action": ("'self'",),
}

#: Our own pages that embed Plotly.js (see the module docstring for why they differ).
PLOTLY_PAGES = frozenset({"/me/pain/trend"})

#: One year, with subdomains: the production host is served over HTTPS only.
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """The nonce of this request (made on first use), for ``nonce="..."`` in templates."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        g.csp_nonce = nonce
    return nonce


def _dash_script_hashes(app: Flask) -> tuple[str, ...]:
    """Hashes of the inline scripts of the Dash app mounted at DASH_PREFIX, computed once.

    Dash registers its layout route as a bound method, which leads to the Dash instance
    without a global.
    """
    cache: dict[str, Any] = app.extensions.setdefault("security_headers", {})
    if "dash_hashes" not in cache:
        view = app.view_functions.get(DASH_PREFIX + "_dash-layout")
        dash_app = getattr(view, "__self__", None)
        cache["dash_hashes"] = tuple(dash_app.csp_hashes()) if dash_app is not None else ()
    hashes: tuple[str, ...] = cache["dash_hashes"]
    return hashes


def content_security_policy(path: str, nonce: str | None) -> str:
    """The policy for one response: the base policy, the Dash relaxations under /hr/, and
    the request's nonce when the page used one."""
    policy = {name: list(sources) for name, sources in BASE_POLICY.items()}
    dash = path.startswith(DASH_PREFIX)
    if dash:
        policy["script-src"] += _dash_script_hashes(current_app)
    if nonce is not None and not dash:
        policy["script-src"].append(f"'nonce-{nonce}'")
    if dash or path in PLOTLY_PAGES:
        # A nonce would switch 'unsafe-inline' off, so these pages get none for styles.
        policy["style-src"].append("'unsafe-inline'")
    elif nonce is not None:
        policy["style-src"].append(f"'nonce-{nonce}'")
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy", content_security_policy(request.path, g.get("csp_nonce"))
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )
    if current_app.config.get("ENV_NAME") == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_security_headers(app: Flask) -> None:
    """Register the headers and the ``csp_nonce()`` template global."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_security_headers)
