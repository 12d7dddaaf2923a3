"""Scrubbing the report files in place: which files count as reports, and bytes that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

from workspace_spec.secrets import MASK, Redactor

SECRET = "rPt9sEcReTvAlUe"


def redactor() -> Redactor:
    redactor = Redactor()
    redactor.add(SECRET)
    return redactor


def test_a_missing_report_folder_changes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "reports"
    assert redactor().scrub_files(missing) == 0
    assert not missing.exists()


def test_an_attachment_without_a_report_suffix_is_scrubbed_and_a_screenshot_is_not(tmp_path: Path) -> None:
    """allure-behave names its attachments <uuid>-attachment, whatever they hold; an image is no report."""
    attachment = tmp_path / "allure" / "5b2e-attachment"
    attachment.parent.mkdir()
    attachment.write_text(f"stdout: {SECRET}\n")
    screenshot = tmp_path / "allure" / "page.png"
    screenshot.write_bytes(b"\x89PNG" + SECRET.encode())
    assert redactor().scrub_files(tmp_path) == 1
    assert attachment.read_text() == f"stdout: {MASK}\n"
    assert screenshot.read_bytes() == b"\x89PNG" + SECRET.encode()


def test_a_folder_named_like_a_report_is_walked_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "results.json"
    folder.mkdir()
    (folder / "r.json").write_text(f'{{"message": "{SECRET}"}}')
    assert redactor().scrub_files(tmp_path) == 1
    assert (folder / "r.json").read_text() == f'{{"message": "{MASK}"}}'


def test_bytes_that_are_not_utf8_survive_the_scrubbing_of_a_report(tmp_path: Path) -> None:
    """A command's output may hold any bytes: the secret goes, every other byte stays as it was."""
    log = tmp_path / "command.log"
    log.write_bytes(b"out \xff\xfe " + SECRET.encode() + b" \xc3(\n")
    assert redactor().scrub_files(tmp_path) == 1
    assert log.read_bytes() == b"out \xff\xfe " + MASK.encode() + b" \xc3(\n"
