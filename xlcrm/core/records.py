"""Record types shared by the loader, the rules and the writers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


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
      code: a stable identifier of the kind of problem (`date-invalid`,
        `rule-invalid`, `client-unknown` …): tools and tests match it, people read
        the message.
      field: the column's key (`birthday`), or "" when not about one column.
    """

    sheet: str
    cell: str
    message: str
    severity: str = "error"
    code: str = "invalid"
    field: str = ""

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        return f"{where}: {self.message}"


@dataclass
class Book:
    """A loaded workbook: one frame per known sheet, plus where each column lives.

    Built by the loader (`xlcrm.io.loader.load`), which gives every sheet of the
    schema a frame (empty when the sheet is missing), so the rules never need the
    schema.

    Attributes:
      frames: sheet key -> frame with the schema keys as columns and `_row`.
      names: sheet key -> the sheet's name in the file (Chinese or English).
      letters: sheet key -> {column key -> Excel column letter} for columns present.
      path: the file it came from (None for a Book built in memory).
      bad_cells: (sheet key, A1) of cells the loader already reported.
    """

    frames: dict[str, pd.DataFrame]
    names: dict[str, str] = field(default_factory=dict)
    letters: dict[str, dict[str, str]] = field(default_factory=dict)
    path: object = None
    bad_cells: set[tuple[str, str]] = field(default_factory=set)

    @property
    def clients(self) -> pd.DataFrame:
        return self.frames["clients"]

    @property
    def contacts(self) -> pd.DataFrame:
        return self.frames["contacts"]

    @property
    def referrals(self) -> pd.DataFrame:
        return self.frames["referrals"]

    @property
    def key_dates(self) -> pd.DataFrame:
        return self.frames["key_dates"]

    @property
    def key_persons(self) -> pd.DataFrame:
        return self.frames["key_persons"]

    @property
    def activities(self) -> pd.DataFrame:
        return self.frames["activities"]

    @property
    def agents(self) -> pd.DataFrame:
        return self.frames["agents"]

    def sheet_name(self, key: str) -> str:
        return self.names.get(key, key)
