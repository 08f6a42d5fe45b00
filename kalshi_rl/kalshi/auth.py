"""Kalshi request signing: RSA-PSS with SHA-256 over ``timestamp + METHOD + path``.

The salt length equals the digest length (32 bytes) and the path excludes any query string,
e.g. ``1706385600000GET/trade-api/ws/v2`` for the WebSocket handshake. A fresh signature is
made for every connection attempt.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kalshi_rl.core.errors import AuthError, ConfigError

KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    """Load an RSA private key from a PEM file, with an error that says what to fix."""
    key_path = Path(path).expanduser()
    if not key_path.is_file():
        raise ConfigError(
            f"private key file not found: {key_path} "
            "(set KALSHI_PRIVATE_KEY_PATH to the PEM file Kalshi gave you)"
        )
    try:
        pem = key_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read private key file {key_path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{key_path} is not an unencrypted PEM private key "
            "(expected '-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----')"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{key_path} holds a {type(key).__name__}, expected an RSA key")
    return key


def load_public_key(path: str | Path) -> rsa.RSAPublicKey:
    """Load an RSA public key from a PEM file (used by the local exchange to verify)."""
    key_path = Path(path).expanduser()
    try:
        key = serialization.load_pem_public_key(key_path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read public key file {key_path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{key_path} is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"{key_path} holds a {type(key).__name__}, expected an RSA key")
    return key


def sign(private_key: rsa.RSAPrivateKey, timestamp_ms: int, method: str, path: str) -> str:
    """Return the base64 signature of ``timestamp + METHOD + path`` (query stripped)."""
    message = f"{timestamp_ms}{method.upper()}{urlsplit(path).path}".encode()
    return base64.b64encode(private_key.sign(message, _PSS, hashes.SHA256())).decode()


def verify(public_key: rsa.RSAPublicKey, headers: dict[str, str], method: str, path: str) -> None:
    """Raise ``AuthError`` unless ``headers`` carry a valid signature for the request."""
    try:
        timestamp = headers[TIMESTAMP_HEADER]
        signature = base64.b64decode(headers[SIGNATURE_HEADER], validate=True)
    except (KeyError, ValueError):
        raise AuthError("missing or malformed KALSHI-ACCESS-* headers") from None
    message = f"{timestamp}{method.upper()}{urlsplit(path).path}".encode()
    try:
        public_key.verify(signature, message, _PSS, hashes.SHA256())
    except InvalidSignature:
        raise AuthError("signature does not verify") from None


@dataclass(frozen=True)
class Credentials:
    """An API key id and its private key. The key itself is never printed."""

    key_id: str
    private_key: rsa.RSAPrivateKey

    def __repr__(self) -> str:
        return f"Credentials(key_id={self.key_id!r}, private_key=<hidden>)"

    def headers(self, method: str, url_or_path: str, now_ms: int | None = None) -> dict[str, str]:
        """Return the three signed headers for one request."""
        timestamp = int(time.time() * 1000) if now_ms is None else now_ms
        path = urlsplit(url_or_path).path
        return {
            KEY_HEADER: self.key_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.private_key, timestamp, method, path),
        }

    @classmethod
    def from_files(cls, key_id: str, private_key_path: str | Path) -> Credentials:
        if not key_id:
            raise ConfigError("KALSHI_API_KEY is empty (set it to your Kalshi API key id)")
        return cls(key_id, load_private_key(private_key_path))
