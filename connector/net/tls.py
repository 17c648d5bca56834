"""What a failed TLS handshake means, told so that the advice fits the failure."""

from __future__ import annotations

import requests

from connector.errors import TerminalError

_NOT_TLS = ("wrong version number", "record layer failure", "unknown protocol", "packet length too long")
"""OpenSSL's words when the other end answered in plain text: it does not speak TLS at all."""


def tls_failure(
    exc: requests.exceptions.SSLError, where: str, directory_id: str | None = None
) -> TerminalError:
    """The error for a handshake with ``where`` (``host:port``, or "the token endpoint") that failed."""
    words = str(exc).lower()
    if any(marker in words for marker in _NOT_TLS):
        return TerminalError(
            f"{where} does not answer TLS: it speaks plain HTTP there; use an http:// URL for it, or the "
            "port it serves HTTPS on",
            directory_id=directory_id,
        )
    return TerminalError(
        f"TLS verification failed for {where}; set ca_bundle in [tls] (or in the directory's "
        "[directories.tls]) to the CA that signed its certificate",
        directory_id=directory_id,
    )
