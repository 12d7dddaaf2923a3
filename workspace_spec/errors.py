"""The distinctions every report needs: the platform broke its promise (PlatformFailure), the suite
refused to run as configured before it created anything (SuiteRefused), or the suite itself broke
(anything else). reporting/categories.json sorts Allure's results by them; Allure sees only an exception's
own class name, so its refusal category names every SuiteRefused class (a test keeps the list whole)."""

from workspace_spec.secrets import scrub


class PlatformFailure(AssertionError):
    """The platform did not do what the spec promises. Reported as a failed check (not as a crash of
    the suite), with a message that names the broken part. Messages quote what the platform said, so
    they are scrubbed of secrets as they are made."""

    def __init__(self, message: str = "") -> None:
        super().__init__(scrub(message))


class TemplateChoice(AssertionError):
    """The template chose not to provide what a check judges (an app without a health check): the check
    fails, its promise unproven, but the message names the template's choice and what would make the check
    possible, not a fault of the platform."""

    def __init__(self, message: str = "") -> None:
        super().__init__(scrub(message))


class SuiteRefused(Exception):
    """The run cannot go on as configured (settings, target, preflight, a selection that checks nothing):
    one line says why, and nothing of the platform was judged."""


class ConfigurationError(SuiteRefused):
    """A feature needs a setting that is missing; nothing has been created for it."""


class NothingChecked(SuiteRefused):
    """The run checked nothing (no scenario selected, or every one skipped); behave alone would pass it."""
