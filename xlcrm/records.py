"""Record types shared by the loader, the rules and the writers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One problem found in a workbook, located like Excel does: `客户!E7`.

    Attributes:
      sheet: the sheet's name as it appears in the workbook.
      cell: an A1 reference (`E7`), or "" when the finding is about the sheet.
      message: a short Chinese sentence a member of staff can act on.
      severity: "fatal" (a missing sheet or column: nothing can be computed), "error"
        (a bad cell: `validate` fails, a refresh goes on without that value) or
        "warning" (reported only).
    """

    sheet: str
    cell: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        return f"{where}: {self.message}"


class WorkbookError(Exception):
    """The file is not a workbook we can read (missing, not a zip, encrypted...)."""


def column_letter(index: int) -> str:
    """0-based column index to Excel letters: 0 -> A, 27 -> AB."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
