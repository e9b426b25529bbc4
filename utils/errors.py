"""Errors a user can fix (a bad file, folder, checkpoint or flag): reported in one line, no traceback."""
import sys


class UserError(ValueError):
    """A problem with the user's input; its message names the file or flag and what is wrong."""


def report_user_errors():
    """Make an uncaught UserError print `error: message` and exit with status 2 instead of a traceback."""
    previous = sys.excepthook

    def hook(kind, error, traceback):
        if issubclass(kind, UserError):
            print(f'error: {error}', file=sys.stderr)
            sys.exit(2)
        previous(kind, error, traceback)

    sys.excepthook = hook
