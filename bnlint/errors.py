"""The one exception type that means "this input cannot be linted" (exit status 2)."""


class InputError(Exception):
    """A file bnlint cannot read as what it claims to be; the message is the reason.
    `keras_version`: what the file says wrote it, when it says so (kept in the report)."""

    def __init__(self, message: str, keras_version: str | None = None):
        super().__init__(message)
        self.keras_version = keras_version


class BNLintError(Exception):
    """Raised by `bnlint.keras.BNLintCallback(fail_on=...)` before the first training step;
    `report` is the document of the findings that stopped the run."""

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report


class BNLintWarning(UserWarning):
    """A bnlint finding about a live model, issued while it trains."""
