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
# Secrets the suite was never given still have recognisable shapes: the platform may echo the linked
# GitHub token of Coder's external auth, a pod's environment or a clone URL with credentials.
SHAPES = re.compile(
    "|".join(
        [
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens (personal, OAuth, user, server, refresh)
            r"\bgithub_pat_[A-Za-z0-9_]{30,}",  # fine-grained personal access tokens
            r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI-style API keys
            r"\b[A-Za-z0-9]{10}-[A-Za-z0-9]{22}\b",  # Coder API keys: <10-char id>-<22-char secret>
            r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # user:password in a URL
            # HTTP auth headers. A value ends before a quote or a backslash: in a JSON report file the header
            # sits inside a string, and what follows it must survive.
            r"(?<=authorization: )(?:bearer|token|basic) [^\s\"'\\]+",
            r"(?<=coder-session-token: )[^\s\"'\\]+",
            # Coder's one-time app key on a subdomain app's redirect (coderd's auth-redirect), and a session
            # token in a query: URLs reach logs (httpx at INFO) and reports.
            r"(?<=coder_application_connect_api_key_35e783=)[^&\s\"'\\]+",
            r"(?<=coder_session_token=)[^&\s\"'\\]+",
        ]
    ),
    re.IGNORECASE,
)


class Redactor:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._longest_first: tuple[str, ...] = ()

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
        # Longest first, so a form inside another is not half-replaced. Plain replacements: a pattern of
        # every form took 50 ms to compile on each add, and the run adds its secrets before its first create.
        self._longest_first = tuple(sorted(self._forms, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """Every known secret in its forms, then whatever has a secret's shape."""
        if not text:
            return text
        for form in self._longest_first:
            if form in text:
                text = text.replace(form, MASK)
        return SHAPES.sub(MASK, text)

    def scrub_files(self, directory: Path) -> int:
        """Scrub every report file under a directory in place; returns how many were changed."""
        changed = 0
        if not directory.is_dir():
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
