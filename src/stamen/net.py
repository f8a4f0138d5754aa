"""Whether a host is on the public internet: the one check behind webhook targets and URL fetches
(SSRF protection), applied to every redirect hop by the fetchers."""

from __future__ import annotations

import ipaddress
import socket

BLOCKED_HOSTNAMES = ("localhost", "metadata.google.internal", "metadata", "instance-data")
BLOCKED_SUFFIXES = (".local", ".internal", ".localhost")


def is_private_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def check_public_host(host: str) -> str | None:
    """Why `host` is not a public internet host, or None when it is (resolving names via DNS)."""
    host = host.strip("[]").lower()
    if host in BLOCKED_HOSTNAMES or host.endswith(BLOCKED_SUFFIXES):
        return f"host {host} is not public"
    try:
        return f"host {host} is a private address" if is_private_address(host) else None
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return f"host {host} does not resolve"
    if any(is_private_address(info[4][0].split("%")[0]) for info in infos):
        return f"host {host} resolves to a private address"
    return None
