"""The X.509 certificate of an Entra app's certificate credential (``auth.certificate_*``).

Entra ID finds the key that signed a client assertion by the certificate
registered on the app registration, named in the assertion's header: ``x5t``
is the base64url SHA-1 thumbprint of the certificate's DER, ``x5t#S256`` its
SHA-256 thumbprint (Microsoft identity platform, "certificate credentials").
The assertion is signed with the certificate's RSA key (``PS256``).

Loaded only when a certificate is configured: the cryptography it parses with
is not needed by a directory without one.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

RENEW_WITHIN = timedelta(days=30)
"""A certificate that expires sooner than this is warned about (it still works until then)."""


@dataclass(frozen=True)
class ClientCertificate:
    """A parsed client certificate: its thumbprints, validity and public key."""

    pem: str
    x5t: str
    x5t_s256: str
    subject: str
    not_before: datetime
    not_after: datetime
    public_key: Any  # a cryptography public key

    @property
    def thumbprint_headers(self) -> dict[str, str]:
        """The JWS header parameters naming this certificate (RFC 7515 §4.1.7 and §4.1.8)."""
        return {"x5t": self.x5t, "x5t#S256": self.x5t_s256}

    def days_left(self, now: datetime) -> int:
        """Whole days from ``now`` until the certificate expires."""
        return (self.not_after - now).days


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_certificate(text: str) -> ClientCertificate:
    """The first certificate in PEM ``text``; ValueError when there is none.

    Other PEM blocks (a chain, or the private key of a combined file) are
    ignored, and :attr:`ClientCertificate.pem` holds the certificate alone.
    """
    try:
        found = x509.load_pem_x509_certificates(text.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError):
        raise ValueError("is not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    cert = found[0]
    der = cert.public_bytes(serialization.Encoding.DER)
    return ClientCertificate(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        x5t=_b64url(hashlib.sha1(der).digest()),  # x5t is SHA-1 by definition (RFC 7515)
        x5t_s256=_b64url(hashlib.sha256(der).digest()),
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        public_key=cert.public_key(),
    )


def certificate_problem(cert: ClientCertificate, private_key: Any, now: datetime | None = None) -> str | None:
    """Why ``cert`` cannot sign for ``private_key`` (a cryptography private key) at ``now``, or None.

    Entra takes RSA certificates; the certificate must hold the private key's
    public half, and be valid now (Entra refuses an assertion made with an
    expired certificate: AADSTS700027, "The key used is expired").
    """
    now = now or datetime.now(timezone.utc)
    if not isinstance(cert.public_key, rsa.RSAPublicKey):
        return "is not an RSA certificate; Entra signs client assertions with RSA keys (PS256)"
    if not isinstance(private_key, rsa.RSAPrivateKey):
        return "is an RSA certificate but the private key is not an RSA key"
    if _spki(cert.public_key) != _spki(private_key.public_key()):
        return (
            f"does not match the private key (certificate {cert.subject!r}, x5t {cert.x5t}): "
            "they are not one key pair"
        )
    if now < cert.not_before:
        return f"is not valid before {cert.not_before:%Y-%m-%d %H:%M} UTC"
    if now >= cert.not_after:
        return f"expired on {cert.not_after:%Y-%m-%d %H:%M} UTC"
    return None


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
