"""Errors of the io layer."""


class WorkbookError(Exception):
    """The file is not a workbook we can read (missing, not a zip, encrypted...)."""


class RefreshError(Exception):
    """A write that cannot go ahead; the message says why, in one line."""
