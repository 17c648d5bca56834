"""Test key material: a throwaway CA and server certificate for ``--tls``, and seeded RSA keys.

The Azure SDK refuses any authority that is not https (idp-wire-protocols.md
§4), so the mock can serve TLS.  :func:`make_certificates` writes a self-signed
CA and a server certificate for ``127.0.0.1``, ``::1`` and ``localhost``
(plus any extra names) signed by it; clients trust the CA file, e.g.
``requests.get(url, verify=ca_file)``.

:func:`seeded_rsa_key` makes the same RSA key for the same seed, so a seeded
mock's default Okta service app keeps its key pair across restarts.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import math
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files :func:`make_certificates` wrote."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mock-idp test CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_certificates(directory: str | os.PathLike[str], hostnames: Iterable[str] = ()) -> TlsFiles:
    """Write ``ca.pem``, ``server.pem`` and ``server-key.pem`` into ``directory``.

    Keys are P-256; the CA is valid for a day before and 30 days after now.
    The server key file is readable by its owner only.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("mock-idp root CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")]
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(out / "ca.pem", out / "server.pem", out / "server-key.pem")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(files.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    return files


_SMALL_PRIMES = [p for p in range(3, 20000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))]
_WINDOW = 4096


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 8) -> bool:
    """Miller-Rabin with base 2 and ``rounds`` bases from ``rng``
    (FIPS 186-4 table C.2 asks 5 rounds for a 1024-bit RSA prime)."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for base in [2, *(rng.randrange(3, n - 2) for _ in range(rounds))]:
        x = pow(base, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int, e: int) -> int:
    """The first probable prime in a sieved run of odd numbers from a random start."""
    while True:
        start = rng.getrandbits(bits) | (3 << (bits - 2)) | 1  # top two bits set: n has full size
        composite = bytearray(_WINDOW)  # slot k stands for start + 2k
        for p in _SMALL_PRIMES:
            first = (-(start % p) * ((p + 1) // 2)) % p  # start + 2k = 0 (mod p)
            composite[first::p] = b"\x01" * len(range(first, _WINDOW, p))
        for k in range(_WINDOW):
            candidate = start + 2 * k
            if composite[k] or candidate.bit_length() != bits or math.gcd(e, candidate - 1) != 1:
                continue
            if _is_probable_prime(candidate, rng):
                return candidate


@functools.lru_cache(maxsize=8)
def seeded_rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA private key derived from ``seed``: equal seeds give equal keys.

    For a mock's test credentials only: anyone who knows the seed has the key.
    """
    rng = random.Random(f"mock-idp-rsa:{seed}")
    e = 65537
    p = _prime(rng, bits // 2, e)
    q = _prime(rng, bits // 2, e)
    while q == p:
        q = _prime(rng, bits // 2, e)
    d = pow(e, -1, (p - 1) * (q - 1) // math.gcd(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()
