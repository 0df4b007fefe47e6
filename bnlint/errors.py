"""The one exception type that means "this input cannot be linted" (exit status 2)."""


class InputError(Exception):
    """A file bnlint cannot read as what it claims to be; the message is the reason."""
