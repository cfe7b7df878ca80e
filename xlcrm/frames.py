"""Small pandas helpers shared by the rules modules."""

from __future__ import annotations

import pandas as pd


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`keys.map(table)` for a table with a unique index, safe when either is empty.

    (pandas' `Series.map` with an empty datetime Series as the mapper fails.)
    """
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=table.dtype)
