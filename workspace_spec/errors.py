"""The one distinction every report needs: the platform broke its promise, or the suite broke."""

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
