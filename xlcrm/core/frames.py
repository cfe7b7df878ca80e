"""Small pandas helpers shared by the rules modules."""

from __future__ import annotations

import numpy as np
import pandas as pd


def plain_index(series: pd.Series) -> pd.Series:
    """A groupby result keyed by the categorical client_id, re-keyed by plain ids.

    Reindexing a CategoricalIndex against the clients' ids re-codes 100,000 categories
    every time; turning the (small) result index into plain strings once is cheaper.
    """
    if isinstance(series.index, pd.CategoricalIndex):
        return series.set_axis(pd.Index(np.asarray(series.index), dtype=object, name=series.index.name))
    return series


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`keys.map(table)` for a table with a unique index, safe when either is empty.

    (pandas' `Series.map` with an empty datetime Series as the mapper fails.)
    """
    table = plain_index(table)
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=table.dtype)


def client_table(clients: pd.DataFrame) -> pd.DataFrame:
    """The 客户 frame keyed by 客户编号: rows without an id are left out (validate reports
    them) and a duplicated id counts once, its first row."""
    return clients[clients["client_id"].notna()].drop_duplicates("client_id").set_index("client_id")
