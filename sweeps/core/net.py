"""Loopback networking: which host names mean "this machine only", and a free port on it."""

from __future__ import annotations

import socket

# Exactly the names the dashboard answers without a token: a web page cannot rebind these onto another host.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS


def free_loopback_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
