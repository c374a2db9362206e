"""The one exception the `dsr` command turns into a single clear line and exit status 2."""


class CliError(Exception):
    """A user-facing error: bad argument, unreadable file, missing model."""
