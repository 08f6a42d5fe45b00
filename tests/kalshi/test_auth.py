"""Request signing: RSA-PSS/SHA-256 over ``timestamp + METHOD + path``, and key loading errors."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kalshi_rl.core.errors import AuthError, ConfigError
from kalshi_rl.kalshi.auth import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Credentials,
    load_private_key,
    load_public_key,
    sign,
    verify,
)

TS_MS = 1706385600000
WS_PATH = "/trade-api/ws/v2"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key_files(private_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    private_path, public_path = folder / "kalshi.pem", folder / "kalshi.pub.pem"
    private_path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public_path.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def _verify_independently(
    key: rsa.RSAPublicKey, signature_b64: str, message: bytes, salt_length: Any
) -> None:
    """Verify with cryptography directly, not through the module under test."""
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length)
    key.verify(base64.b64decode(signature_b64, validate=True), message, pss, hashes.SHA256())


def test_signature_verifies_with_pss_digest_length_salt(private_key: rsa.RSAPrivateKey) -> None:
    signature = sign(private_key, TS_MS, "GET", WS_PATH)
    message = b"1706385600000GET/trade-api/ws/v2"
    _verify_independently(private_key.public_key(), signature, message, padding.PSS.DIGEST_LENGTH)
    _verify_independently(private_key.public_key(), signature, message, 32)  # SHA-256 digest size


@pytest.mark.parametrize("salt_length", [0, 20, 64, 2048 // 8 - 32 - 2], ids=["zero", "sha1", "64", "max"])
def test_signature_does_not_verify_with_another_salt_length(
    private_key: rsa.RSAPrivateKey, salt_length: int
) -> None:
    signature = sign(private_key, TS_MS, "GET", WS_PATH)
    with pytest.raises(InvalidSignature):
        _verify_independently(
            private_key.public_key(), signature, b"1706385600000GET/trade-api/ws/v2", salt_length
        )


def test_signing_is_randomised_but_every_signature_verifies(private_key: rsa.RSAPrivateKey) -> None:
    first = sign(private_key, TS_MS, "GET", WS_PATH)
    second = sign(private_key, TS_MS, "GET", WS_PATH)
    assert first != second  # PSS uses a random salt
    for signature in (first, second):
        _verify_independently(
            private_key.public_key(),
            signature,
            b"1706385600000GET/trade-api/ws/v2",
            padding.PSS.DIGEST_LENGTH,
        )


def test_signed_message_strips_the_query_and_uppercases_the_method(private_key: rsa.RSAPrivateKey) -> None:
    signature = sign(private_key, TS_MS, "get", "/trade-api/v2/portfolio/orders?limit=5&cursor=abc")
    _verify_independently(
        private_key.public_key(),
        signature,
        b"1706385600000GET/trade-api/v2/portfolio/orders",
        padding.PSS.DIGEST_LENGTH,
    )


def test_headers_carry_key_id_timestamp_and_a_valid_signature(private_key: rsa.RSAPrivateKey) -> None:
    creds = Credentials("key-123", private_key)
    headers = creds.headers("GET", "wss://api.elections.kalshi.com/trade-api/ws/v2?x=1", now_ms=TS_MS)
    assert set(headers) == {KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER}
    assert headers[KEY_HEADER] == "key-123"
    assert headers[TIMESTAMP_HEADER] == "1706385600000"
    _verify_independently(
        private_key.public_key(), headers[SIGNATURE_HEADER], b"1706385600000GET/trade-api/ws/v2", 32
    )
    verify(private_key.public_key(), headers, "GET", WS_PATH)


def test_headers_default_timestamp_is_now_in_milliseconds(private_key: rsa.RSAPrivateKey) -> None:
    import time

    before = int(time.time() * 1000)
    headers = Credentials("k", private_key).headers("POST", "/trade-api/v2/portfolio/events/orders")
    after = int(time.time() * 1000)
    assert before <= int(headers[TIMESTAMP_HEADER]) <= after
    verify(private_key.public_key(), headers, "POST", "/trade-api/v2/portfolio/events/orders")


def test_verify_ignores_the_query_string(private_key: rsa.RSAPrivateKey) -> None:
    headers = Credentials("k", private_key).headers("GET", "/trade-api/v2/markets", now_ms=TS_MS)
    verify(private_key.public_key(), headers, "get", "/trade-api/v2/markets?status=open")


@pytest.mark.parametrize(
    ("field", "method", "path"),
    [
        ("timestamp", "GET", WS_PATH),
        ("none", "POST", WS_PATH),
        ("none", "GET", "/trade-api/ws/v3"),
        ("signature", "GET", WS_PATH),
    ],
    ids=["tampered-timestamp", "other-method", "other-path", "tampered-signature"],
)
def test_tampered_request_fails_verification(
    private_key: rsa.RSAPrivateKey, field: str, method: str, path: str
) -> None:
    headers = Credentials("k", private_key).headers("GET", WS_PATH, now_ms=TS_MS)
    if field == "timestamp":
        headers[TIMESTAMP_HEADER] = str(TS_MS + 1)
    elif field == "signature":
        raw = bytearray(base64.b64decode(headers[SIGNATURE_HEADER]))
        raw[10] ^= 0x01
        headers[SIGNATURE_HEADER] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(AuthError, match="does not verify"):
        verify(private_key.public_key(), headers, method, path)


def test_signature_from_another_key_fails_verification(private_key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    headers = Credentials("k", other).headers("GET", WS_PATH, now_ms=TS_MS)
    with pytest.raises(AuthError):
        verify(private_key.public_key(), headers, "GET", WS_PATH)


@pytest.mark.parametrize(
    "headers",
    [{}, {TIMESTAMP_HEADER: "1"}, {TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "not base64!"}],
    ids=["none", "no-signature", "bad-base64"],
)
def test_missing_or_malformed_headers_fail_verification(
    private_key: rsa.RSAPrivateKey, headers: dict[str, str]
) -> None:
    with pytest.raises(AuthError, match="missing or malformed"):
        verify(private_key.public_key(), headers, "GET", WS_PATH)


# -- key files ---------------------------------------------------------------------------


def test_load_private_key_reads_pkcs1_and_pkcs8_pem(
    private_key: rsa.RSAPrivateKey, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    loaded = load_private_key(key_files[0])
    assert loaded.private_numbers() == private_key.private_numbers()
    pkcs8 = tmp_path / "pkcs8.pem"
    pkcs8.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    assert load_private_key(str(pkcs8)).private_numbers() == private_key.private_numbers()


def test_loaded_key_pair_signs_and_verifies(key_files: tuple[Path, Path]) -> None:
    creds = Credentials.from_files("key-123", key_files[0])
    headers = creds.headers("GET", WS_PATH, now_ms=TS_MS)
    verify(load_public_key(key_files[1]), headers, "GET", WS_PATH)


def test_missing_private_key_file_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found.*KALSHI_PRIVATE_KEY_PATH"):
        load_private_key(tmp_path / "nope.pem")


def test_directory_instead_of_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_private_key(tmp_path)


def test_unreadable_private_key_file_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_path = tmp_path / "locked.pem"
    key_path.write_text("x")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # Tests may run as root, where chmod 000 does not stop a read; inject the failure instead.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError, match=r"cannot read private key file .*Permission denied"):
        load_private_key(key_path)


@pytest.mark.parametrize(
    "content",
    [
        b"garbage",
        b"",
        b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
        bytes(range(256)),
    ],
    ids=["text", "empty", "bad-pem-body", "binary"],
)
def test_garbage_private_key_file_says_what_was_expected(tmp_path: Path, content: bytes) -> None:
    key_path = tmp_path / "bad.pem"
    key_path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"not an unencrypted PEM private key.*BEGIN PRIVATE KEY"):
        load_private_key(key_path)


def test_encrypted_private_key_is_refused(private_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    key_path = tmp_path / "encrypted.pem"
    key_path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_private_key(key_path)


def test_non_rsa_private_key_is_refused_naming_its_type(tmp_path: Path) -> None:
    key_path = tmp_path / "ec.pem"
    key_path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ConfigError, match=r"(EC|EllipticCurve)PrivateKey, expected an RSA key"):
        load_private_key(key_path)


def test_public_key_file_errors_are_config_errors(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match="cannot read public key file"):
        load_public_key(tmp_path / "missing.pub")
    with pytest.raises(ConfigError, match="not a PEM public key"):
        load_public_key(key_files[0])  # a private key is not a public key


def test_empty_key_id_is_refused(key_files: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match="KALSHI_API_KEY is empty"):
        Credentials.from_files("", key_files[0])


def test_credentials_repr_hides_the_private_key(key_files: tuple[Path, Path]) -> None:
    creds = Credentials.from_files("key-123", key_files[0])
    pem_body = key_files[0].read_text().splitlines()[1]
    numbers = creds.private_key.private_numbers()
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "key-123" in text
        assert "<hidden>" in text
        assert "RSAPrivateKey" not in text
        assert "object at" not in text
        assert pem_body not in text
        assert str(numbers.d) not in text
        assert str(numbers.p) not in text
