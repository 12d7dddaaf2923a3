"""The secrets the suite knows of, in every form they may take, and the scrubbing that uses them.

Scrubbing happens at the sources of text (log records, exception messages, command summaries) and once
more over the report files at the end: behave and allure-behave copy messages into several places
(console, JUnit, Allure results), and a wrapper around stdout cannot reach all of them.
"""

from __future__ import annotations

import base64
import logging
import re
import urllib.parse
from pathlib import Path

MASK = "[REDACTED]"
# Shorter values are not secrets worth hunting for, and would redact ordinary words.
MIN_SECRET_LENGTH = 8
# User names that go with a token in HTTP basic auth (git credential helpers, GitHub, Coder).
BASIC_AUTH_USERS = ("", "x-access-token", "oauth2", "token", "git", "coder", "x-oauth-basic")
REPORT_SUFFIXES = (".xml", ".json", ".txt", ".log", ".properties", ".html", ".csv", ".attach")


class Redactor:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str | None) -> None:
        """Register a secret with its derived forms: URL-encoded, base64, basic-auth pairs, token halves."""
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        values = {secret}
        # Coder tokens are <id>-<secret>: the secret half alone is as sensitive as the whole.
        head, _, tail = secret.partition("-")
        if head and len(tail) >= MIN_SECRET_LENGTH:
            values.add(tail)
        forms = set()
        for value in values:
            forms.add(value)
            forms.add(urllib.parse.quote(value, safe=""))
            forms.add(urllib.parse.quote_plus(value))
            for user in BASIC_AUTH_USERS:
                pair = f"{user}:{value}".encode()
                forms.add(base64.b64encode(pair).decode())
                forms.add(base64.urlsafe_b64encode(pair).decode().rstrip("="))
            forms.add(base64.b64encode(value.encode()).decode().rstrip("="))
        self._forms |= {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
        # Longest first, so a form inside another is not half-replaced.
        alternatives = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(form) for form in alternatives))

    def scrub(self, text: str) -> str:
        if not self._pattern or not text:
            return text
        return self._pattern.sub(MASK, text)

    def scrub_files(self, directory: Path) -> int:
        """Scrub every report file under a directory in place; returns how many were changed."""
        changed = 0
        if not self._pattern or not directory.is_dir():
            return 0
        for path in directory.rglob("*"):
            if not path.is_file() or (path.suffix not in REPORT_SUFFIXES and "attachment" not in path.name):
                continue
            text = path.read_text(errors="surrogateescape")
            scrubbed = self.scrub(text)
            if scrubbed != text:
                path.write_text(scrubbed, errors="surrogateescape")
                changed += 1
        return changed


# One redactor per process: log records are made far from any object that could carry one.
REDACTOR = Redactor()


def scrub(text: str) -> str:
    return REDACTOR.scrub(text)


def install_log_scrubbing() -> None:
    """Scrub every log record as it is made, for all loggers (httpx, paramiko, github, kubernetes...).
    A filter on the root logger would miss child loggers' records (they reach handlers directly)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "scrubs_secrets", False):
        return

    def scrubbing_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()  # httpx puts the URL in args: scrub the rendered text
        record.msg, record.args = REDACTOR.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = REDACTOR.scrub(logging.Formatter().formatException(record.exc_info))
        return record

    scrubbing_factory.scrubs_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbing_factory)
