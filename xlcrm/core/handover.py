"""Handovers (交接) and the public pool (公海): who looks after a client now.

DOMAIN: Handover and public pool (seed 004: agent turnover loses clients). The 交接
sheet lists handovers: 日期 · 原顾问 · 新顾问 · 客户编号 (blank = all of 原顾问's
clients). They are applied in date order (rows of one day in sheet order): a client's
current agent is the result of every handover on or before today, and 原顾问 is the
agent the last of them took the client from. 客户's 负责顾问 is never edited, so the
history stays with the client.

    agent, original = current_agents(clients, book.frames["handovers"], today)
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from . import vocab


def current_agents(clients: pd.DataFrame, handovers: pd.DataFrame | None,
                   today: date | None = None) -> tuple[pd.Series, pd.Series]:
    """(current agent, 原顾问) per client of `clients` (indexed by client_id, with `agent`).

    `today=None` applies every handover, also those dated later (a planned handover
    is not a missing one).
    """
    agent = clients["agent"].astype(object).copy()
    original = pd.Series(None, index=clients.index, dtype=object)
    if handovers is None or handovers.empty:
        return agent, original
    rows = handovers[handovers["date"].notna() & handovers["from_agent"].notna() & handovers["to_agent"].notna()]
    if today is not None:
        rows = rows[rows["date"] < pd.Timestamp(today) + pd.Timedelta(days=1)]
    rows = rows.sort_values(["date", "_row"], kind="stable")
    for src, dst, cid in zip(rows["from_agent"], rows["to_agent"], rows["client_id"], strict=True):
        if src == dst:
            continue
        if cid is None or cid != cid:  # blank: every client 原顾问 has at this point
            moved = agent == src
        else:
            moved = pd.Series(agent.index == cid, index=agent.index)
        agent[moved] = dst
        original[moved] = src
    return agent, original


def departed_agents(agents: pd.DataFrame) -> set[str]:
    """Agents marked 在职=否."""
    return set(agents.loc[agents["active"] == vocab.NO, "agent"].dropna())


def awaiting_handover(clients: pd.DataFrame, agents: pd.DataFrame) -> pd.Series:
    """Clients (not churned) whose current agent has left (在职=否): 待交接."""
    gone = departed_agents(agents)
    churned = (clients["stage"] == vocab.STAGE_CHURNED) | clients["churn_reason"].notna()
    return clients["agent"].isin(gone) & ~churned


def reclaim(clients: pd.DataFrame, days: int) -> pd.Series:
    """建议重新分配 (公海): active A/B/C clients overdue by at least `days` (规则 建议收回逾期天数)."""
    return (clients["active"] & clients["client_class"].isin(vocab.RECLAIM_CLASSES)
            & (clients["overdue_days"] >= days))
