class UserError(Exception):
    """A problem with the user's input. The CLI prints its message as one line and exits with 2.

    The message names the problem and, where there is one, the fix.
    """


class Cancelled(Exception):
    """The run was cancelled (SIGINT/SIGTERM or the caller's cancel flag)."""
