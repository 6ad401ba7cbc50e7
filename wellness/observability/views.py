"""``/metrics``: Prometheus text format for the cluster's scraper or a holder of the token."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wellness.auth.guards import public
from wellness.observability.metrics import registry

#: Loopback and the private ranges cluster networks use (RFC 1918, IPv6 unique local).
#: Spelled out: ``ipaddress.is_private`` also counts documentation and reserved ranges.
INSIDE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
    )
)


def _from_inside() -> bool:
    """A direct connection from loopback or a private network, not relayed by a proxy.

    Behind a load balancer the peer address is the balancer's (private), so a request that
    carries forwarding headers came from outside and needs the token.
    """
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in INSIDE_NETWORKS)


def _has_token() -> bool:
    expected = current_app.config.get("METRICS_TOKEN")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), str(expected).encode())


@public
def metrics_view() -> Response:
    """Prometheus text format; for the cluster's scraper or a holder of ``METRICS_TOKEN``."""
    if not (_has_token() or _from_inside()):
        abort(403)
    response = Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
