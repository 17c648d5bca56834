"""Where a webhook may be posted: ``https`` only, and never to this host or a private network.

A webhook URL is typed by a customer's administrator, and the deliverer runs inside the
operator's network: without a guard, ``http://169.254.169.254/`` (a cloud's metadata service),
``http://localhost:6379/`` or ``https://10.0.0.5/admin`` would have the deliverer post there on
their behalf (server-side request forgery).  :func:`check_url` refuses a URL that is not
``https`` (unless ``allow_http``, for local testing) or carries credentials;
:func:`check_destination` resolves the host and refuses it when any address it resolves to is
loopback, private, link-local, shared (CGNAT), multicast, reserved or unspecified, unless
``allow_private``.  The deliverer checks again before every post (an address can change), and
follows no redirect (a public host cannot bounce the post inside).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from connector.errors import ConfigError

Resolver = Callable[[str, int], list[str]]
"""``resolve(host, port)``: the addresses (as text) the host resolves to."""


class DestinationRefused(ConfigError):
    """A webhook URL the guard will not post to, and why."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for the host (TCP)."""
    try:
        infos: list[Any] = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"the host {host!r} does not resolve: {exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: str, *, allow_http: bool = False) -> str:
    """``url`` when it is an absolute ``https`` URL (``http`` too with ``allow_http``) with a
    host and no user name or password; DestinationRefused saying why otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"{url!r} is not a URL: {exc}") from exc
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        hint = "" if allow_http else " (http only with --allow-http, for local testing)"
        raise DestinationRefused(f"a webhook URL must be https{hint}, not {parts.scheme or 'schemeless'}")
    if not parts.hostname:
        raise DestinationRefused(f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(
            "a webhook URL carries no user name or password: the signature authenticates"
        )
    del port
    return url


def refused_address(address: str) -> str | None:
    """Why an address is not a public one (None when it is)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "shared (carrier-grade NAT)"
    if not ip.is_global:
        return "not global"
    return None


def check_destination(
    url: str, *, allow_private: bool = False, resolve: Resolver = system_resolver
) -> list[str]:
    """The addresses ``url``'s host resolves to; DestinationRefused when one of them is not
    public and ``allow_private`` is not given."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise DestinationRefused(f"the host {host!r} resolves to no address")
    if allow_private:
        return addresses
    for address in addresses:
        why = refused_address(address)
        if why is not None:
            raise DestinationRefused(
                f"{host!r} resolves to {address}, a {why} address: webhooks go to public hosts only "
                "(allow private addresses for this endpoint to test locally)"
            )
    return addresses
