"""X.509 certificates registered on an Entra app (its certificate credentials, ``keyCredentials``).

Entra names a certificate by its thumbprints: ``x5t`` is the base64url SHA-1
of the certificate's DER, ``x5t#S256`` the base64url SHA-256.  A client
assertion carries one or both in its header; the certificate found by them
holds the public key its signature must verify with, and must be valid at the
time of the request.

:func:`self_signed_certificate` makes one from a PEM private key, the same
bytes for the same arguments (RSA PKCS #1 v1.5 signatures are
deterministic): the default Entra app's certificate
(``mock_idp/fixtures/entra-app-certificate.pem``) was made with it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey


@dataclass(frozen=True)
class RegisteredCertificate:
    """One certificate of an app: its thumbprints, validity and public key (a JWK)."""

    x5t: str
    x5t_s256: str
    not_before: datetime
    not_after: datetime
    public_jwk: dict[str, Any]

    def is_named_by(self, header: dict[str, Any]) -> bool:
        """Whether a JWS header's ``x5t#S256`` (else its ``x5t``) names this certificate."""
        if "x5t#S256" in header:
            return header["x5t#S256"] == self.x5t_s256
        return header.get("x5t") == self.x5t

    def valid_at(self, now: datetime) -> bool:
        return self.not_before <= now < self.not_after


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=64)
def registered_certificate(pem: str) -> RegisteredCertificate:
    """The certificate in ``pem`` (the first one); ValueError when it is not a PEM certificate."""
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ValueError("not an RSA certificate: Entra's certificate credentials are RSA")
    der = cert.public_bytes(serialization.Encoding.DER)
    public_pem = cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RegisteredCertificate(
        x5t=_b64url(hashlib.sha1(der).digest()),  # x5t is SHA-1 by definition (RFC 7515)
        x5t_s256=_b64url(hashlib.sha256(der).digest()),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        public_jwk=RSAKey.import_key(public_pem).as_dict(private=False),
    )


def self_signed_certificate(
    private_key_pem: str, common_name: str, not_before: datetime, not_after: datetime, serial: int = 1
) -> str:
    """A self-signed PEM certificate for an RSA private key (what ``New-SelfSignedCertificate``
    or ``openssl req -x509`` would give an app registration)."""
    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
