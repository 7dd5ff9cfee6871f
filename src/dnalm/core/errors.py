"""The one exception type that the CLI turns into a one-line error without a traceback."""


def first_line(exc: BaseException) -> str:
    """An exception's first line, or its type where it has no message: what a one-line error can quote of a
    library's multi-line message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class InputError(Exception):
    """Bad input from the user (file, parameter): reported as one line, exit status 2.

    Anything else that escapes is a bug in dnalm and keeps its traceback.
    """
