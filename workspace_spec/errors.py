"""The one distinction every report needs: the platform broke its promise, or the suite broke."""


class PlatformFailure(AssertionError):
    """The platform did not do what the spec promises. Reported as a failed check (not as a crash of
    the suite), with a message that names the broken part."""
