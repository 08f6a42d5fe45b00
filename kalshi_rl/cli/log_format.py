"""How log lines look (``--log-format text|json``, ``LOG_FORMAT``) and what they never show.

JSON: one object per line on stderr -- ``time`` (UTC, ISO 8601 with ms), ``level``, ``logger``,
``message``, the correlation fields bound where the line was logged (``core.log_context``:
collector session, connection, market, model id@version, episode), and ``exception`` when
there is one. Log shippers read it line by line; text stays the readable default.

Secrets: every line, in either format, passes ``redact``: the configured API token and
database password, the Kalshi private key's PEM lines, and the values of the signature and
``Authorization`` headers (the WebSocket library logs the handshake's headers at DEBUG) are
replaced by ``<redacted>``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from kalshi_rl.core.log_context import FIELDS, log_fields

FORMATS = ("text", "json")
REDACTED = "<redacted>"
_HEADER_VALUES = re.compile(
    r"(?i)((?:KALSHI-ACCESS-SIGNATURE|Authorization)['\"]?\s*[:=,]\s*['\"]?(?:Bearer\s+)?)[^\s'\",}]+"
)
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s\"']+")
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never show ``value`` in a log line (values shorter than 6 characters are not worth it
    and would redact ordinary words)."""
    if value and len(value) >= 6:
        _secrets.add(value)


def register_private_key(path: Path | None) -> None:
    """Never show the key's PEM body lines (read here only to know what to hide)."""
    if path is None:
        return
    try:
        text = path.read_text(encoding="ascii", errors="ignore")
    except OSError:
        return
    for line in text.splitlines():
        if line.strip() and not line.startswith("-----"):
            register_secret(line.strip())


def redact(text: str) -> str:
    text = _PEM_BLOCK.sub(REDACTED, text)
    text = _HEADER_VALUES.sub(rf"\1{REDACTED}", text)
    text = _TOKEN_QUERY.sub(rf"\1{REDACTED}", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """For the text handler: the message with its arguments merged in, then redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = log_fields()
        for name in FIELDS:  # an explicit ``extra=`` wins over the bound context
            value = getattr(record, name, None) or fields.get(name)
            if value is not None:
                line[name] = str(value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        # Redacted field by field: a pattern run over the serialized line could eat an escape.
        return json.dumps(line, ensure_ascii=False, default=str)
