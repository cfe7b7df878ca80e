"""资料完整度: the share of a client's profile fields that are filled.

DOMAIN: profile completeness (seed 000's first problem of client maintenance is
incomplete data; seed 004 keeps a 客户信息档案). The fields are those of 客户 that
describe the person (seed 000 客户资料建档: background and economic facts) and, when
the office keeps the optional 客户档案 sheet (it has rows), each of its fields too: a
client without a 客户档案 row then has those fields empty.
"""

from __future__ import annotations

import pandas as pd

from .frames import plain_index

# 客户's profile fields (the rest of 客户 is bookkeeping: ids, stage, deals, flags).
CLIENT_FIELDS = ("gender", "phone", "source", "first_contact", "birthday", "industry", "company", "title",
                 "income", "influence", "referral_willingness")
# 客户档案's columns that are not a profile field.
NOT_PROFILE = ("client_id", "notes", "_row")


def profile_fields(profiles: pd.DataFrame | None) -> list[str]:
    """客户档案's profile fields (English keys), or [] when the office doesn't keep the sheet."""
    if profiles is None or profiles.empty:
        return []
    return [c for c in profiles.columns if c not in NOT_PROFILE and not c.endswith(("_month", "_day"))]


def completeness(clients: pd.DataFrame, profiles: pd.DataFrame | None = None) -> pd.Series:
    """Share (0..1) of profile fields filled, per client of `clients` (indexed by client_id)."""
    filled = clients[list(CLIENT_FIELDS)].notna().sum(axis=1).astype(float)
    total = len(CLIENT_FIELDS)
    extra = profile_fields(profiles)
    if extra:
        rows = profiles[profiles["client_id"].notna()].drop_duplicates("client_id", keep="last")
        counts = plain_index(rows.set_index("client_id")[extra].notna().sum(axis=1))
        filled = filled + counts.reindex(clients.index, fill_value=0).astype(float)
        total += len(extra)
    return filled / total
