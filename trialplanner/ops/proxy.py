"""The client's address, taken from a forwarding header only when a configured proxy sent it.

Behind a load balancer every request comes from the balancer's address, and the client's is in
X-Forwarded-For, which anyone can also send. Login throttling (django-axes), the audit trail and
rate limits read REMOTE_ADDR, so this middleware (near the top of MIDDLEWARE) rewrites it: when the
peer is in TRUSTED_PROXIES, the right-most address in X-Forwarded-For that is not itself a trusted
proxy becomes REMOTE_ADDR; from anyone else the header is ignored. No TRUSTED_PROXIES, no change.
"""

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def trusted_networks(values) -> list:
    """TRUSTED_PROXIES entries (addresses or CIDR networks) as networks; a bad entry stops start-up."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {value!r} is not an IP address or network.") from None
    return networks


def _address(text):
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: the same address.
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


def forwarded_client(peer: str, forwarded_for: str, networks) -> str:
    """The client's address for a request from `peer` carrying `forwarded_for`."""
    peer_ip = _address(peer or "")
    if peer_ip is None or not any(peer_ip in net for net in networks):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        ip = _address(hop)
        if ip is None:
            return peer  # a malformed chain: trust nothing in it
        if not any(ip in net for net in networks):
            return str(ip)
    return peer


class TrustedProxyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.networks = trusted_networks(getattr(settings, "TRUSTED_PROXIES", []))

    def __call__(self, request):
        if self.networks:
            request.META["REMOTE_ADDR"] = forwarded_client(
                request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""), self.networks
            )
        return self.get_response(request)


def client_ip(request):
    """AXES_CLIENT_IP_CALLABLE: the address TrustedProxyMiddleware settled on."""
    return request.META.get("REMOTE_ADDR") or None
