"""The one exception type that the CLI turns into a one-line error without a traceback."""


class InputError(Exception):
    """Bad input from the user (file, parameter): reported as one line, exit status 2.

    Anything else that escapes is a bug in dnalm and keeps its traceback.
    """
