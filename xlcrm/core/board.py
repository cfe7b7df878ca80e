"""客户看板 (every client with class, status and the next step), and the privacy mask.

An agent sees only their own clients: a row that is about someone else's client (a
referred person registered with another agent) keeps its work but loses who it is.
"""

from __future__ import annotations

import pandas as pd

from . import vocab
from .frames import lookup


def foreign(frame: pd.DataFrame, clients: pd.DataFrame, id_col: str, agent_col: str = "agent") -> pd.Series:
    """Rows whose `id_col` names a client registered with an agent other than `agent_col`."""
    owner = lookup(frame[id_col], clients["agent"])
    return owner.notna() & (owner.to_numpy() != frame[agent_col].to_numpy())


def mask_foreign(frame: pd.DataFrame, clients: pd.DataFrame, id_col: str,
                 columns: dict[str, str] | list[str], agent_col: str = "agent") -> pd.DataFrame:
    """A copy of `frame` where rows about another agent's client show (其他顾问的客户).

    `columns`: the columns to hide, each with its replacement (a list: all become
    the mask text).
    """
    hide = foreign(frame, clients, id_col, agent_col).to_numpy()
    if not hide.any():
        return frame
    if not isinstance(columns, dict):
        columns = {c: vocab.FOREIGN for c in columns}
    frame = frame.copy()
    frame.loc[hide, list(columns)] = list(columns.values())
    return frame


def board(clients: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """客户看板: every client with class, status and the next step."""
    first = tasks.drop_duplicates("client_id").set_index("client_id")
    out = clients[["name", "agent", "original_agent", "client_class", "class_reason", "status", "days_since",
                   "completeness"]].copy()
    out["next_task"] = first["task"].reindex(out.index)
    out["next_date"] = first["due"].reindex(out.index)
    fallback = out["next_task"].isna() & clients["active"] & clients["due"].notna()
    out.loc[fallback, "next_task"] = vocab.CADENCE_CALL
    out.loc[fallback, "next_date"] = clients.loc[fallback, "due"]
    for col in ("referral_grade", "referral_reason", "key_persons", "single_thread"):
        if col in clients:
            out[col] = clients[col]
    if "single_thread" in out:
        out["single_thread"] = out["single_thread"].where(out["single_thread"] == "", "是: " + out["single_thread"])
    return out.reset_index()
