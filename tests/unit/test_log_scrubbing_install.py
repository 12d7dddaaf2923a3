"""Installing the scrubbing of log records: from a plain logging set-up, once, for every way a record is made.

Each test starts from logging's own record factory and puts back whatever was there: the factory is global
to the process, and an earlier install would hide what this one does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from workspace_spec.secrets import MASK, REDACTOR, install_log_scrubbing

SECRET = "Lg7sEcReT-wQ3rT5yU8iO1pA4sD6fG"


@pytest.fixture
def plain_logging() -> Iterator[list[str]]:
    """logging as Python sets it up, with a handler keeping what an "app" logger's records render to."""
    before = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    logger = logging.getLogger("workspace_spec.tests.app")
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(before)


def test_a_record_is_scrubbed_once_installed_on_plain_logging(plain_logging: list[str]) -> None:
    REDACTOR.add(SECRET)
    install_log_scrubbing()
    logging.getLogger("workspace_spec.tests.app").info("GET %s -> %d", f"/api?key={SECRET}", 200)
    assert plain_logging == [f"GET /api?key={MASK} -> 200"]


def test_a_logged_exception_is_scrubbed_in_its_traceback(plain_logging: list[str]) -> None:
    REDACTOR.add(SECRET)
    install_log_scrubbing()
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        logging.getLogger("workspace_spec.tests.app").exception("request failed")
    (line,) = plain_logging
    assert line.startswith("request failed\nTraceback") and f"RuntimeError: refused {MASK}" in line
    assert SECRET not in line


def test_a_record_made_with_keywords_is_scrubbed(plain_logging: list[str]) -> None:
    """The factory takes LogRecord's own signature, keywords included."""
    REDACTOR.add(SECRET)
    install_log_scrubbing()
    record = logging.getLogRecordFactory()(
        name="app", level=logging.INFO, pathname=__file__, lineno=1, msg="key %s", args=(SECRET,), exc_info=None
    )
    assert record.getMessage() == f"key {MASK}"


def test_installing_twice_keeps_one_scrubbing_factory(plain_logging: list[str]) -> None:
    install_log_scrubbing()
    installed = logging.getLogRecordFactory()
    assert installed is not logging.LogRecord
    install_log_scrubbing()
    assert logging.getLogRecordFactory() is installed
