"""What a step shows its readers besides its verdict: a text on the step's captured output (behave prints
it with a failing step, JUnit keeps it) and the same text, or a picture, in the Allure report."""

from __future__ import annotations

import allure

from workspace_spec.secrets import scrub


def keep(text: str, name: str) -> None:
    """Scrubbed here, as it is shown: the console is not scrubbed after the fact, as the reports are."""
    text = scrub(text)
    print(text)
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def picture(png: bytes, name: str) -> None:
    allure.attach(png, name=name, attachment_type=allure.attachment_type.PNG)
