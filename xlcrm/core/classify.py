"""Client classes A/B/C/D with a human-readable reason (DOMAIN: Classification).

Lifetime value (客户终生价值) = own 成交金额 + 成交金额 of the referred clients who
closed. First match wins: 手动类别; A (top 20% lifetime value among deal clients, or
>= 2 referred deals, or influence 高 with >= 1 referred deal); B (top 50%, or >= 1
referred deal, or >= 2 activities in the last 365 days); C (other deal clients,
准客户/目标 prospects); D (everyone else). Thresholds come from 规则.

    classify(book, rules, today) -> frame indexed by client_id with
    client_class, class_reason, lifetime_value, referred_deals, activities
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from . import vocab
from .frames import client_table, lookup, plain_index
from .records import Book
from .rules import Rules


def is_deal_client(clients: pd.DataFrame) -> pd.Series:
    return ((clients["deal_value"].fillna(0) > 0) | (clients["deal_count"].fillna(0) > 0)
            | (clients["stage"] == vocab.STAGE_DEAL))


def referred_deals(book: Book) -> pd.DataFrame:
    """Per referrer: number of referred deals and the value they brought."""
    refs = book.referrals
    closed = refs[refs["state"] == vocab.REF_CLOSED]
    values = client_table(book.clients)["deal_value"]
    brought = lookup(closed["referred_client_id"], values).fillna(0.0)
    out = pd.DataFrame({"referrer_id": closed["referrer_id"].to_numpy(), "value": brought.to_numpy()})
    return out.groupby("referrer_id").agg(referred_deals=("value", "size"), referred_value=("value", "sum"))


def top_share(values: pd.Series, share: float) -> pd.Series:
    """True for the values ranked within the top `share` of all of them (at least one when share > 0).

    A zero or missing value never qualifies. Ties at the cut-off are decided by client
    id, so no more than the share qualifies (ten equal values and a 20% share: two).
    """
    if values.empty or share <= 0:
        return pd.Series(False, index=values.index)
    cut = max(1, math.ceil(len(values) * share))
    positive = values[values.fillna(0) > 0]
    order = positive.to_frame("v").assign(_id=positive.index.astype(str)).sort_values(
        ["v", "_id"], ascending=[False, True], kind="stable")
    return pd.Series(values.index.isin(order.index[:cut]), index=values.index)


def classify(book: Book, rules: Rules, today: date) -> pd.DataFrame:
    clients = client_table(book.clients)
    refs = referred_deals(book).reindex(clients.index)
    n_ref = refs["referred_deals"].fillna(0).astype(int)
    ltv = clients["deal_value"].fillna(0.0) + refs["referred_value"].fillna(0.0)

    contacts = book.contacts
    since = pd.Timestamp(today) - pd.Timedelta(days=rules["activity_days"])
    acts = contacts[(contacts["channel"] == vocab.ACTIVITY) & (contacts["date"] >= since)
                    & (contacts["date"] <= pd.Timestamp(today) + pd.Timedelta(days=1))]
    activities = plain_index(acts.groupby("client_id").size()).reindex(clients.index, fill_value=0)

    deal = is_deal_client(clients)
    deal_ltv = ltv[deal]
    top_a = top_share(deal_ltv, rules["a_top_share"]).reindex(clients.index, fill_value=False)
    top_b = top_share(deal_ltv, rules["b_top_share"]).reindex(clients.index, fill_value=False)
    a_refs = rules["a_referred_deals"]
    high = clients["influence"] == vocab.INFLUENCE_HIGH
    override = clients["class_override"]
    stage = clients["stage"].fillna(vocab.STAGE_DEFAULT)

    conditions = [
        override.notna(),
        deal & top_a,
        n_ref >= a_refs,
        high & (n_ref >= 1),
        deal & top_b,
        n_ref >= 1,
        activities >= rules["b_activities"],
        deal,
        stage.isin(vocab.LATE_PROSPECT_STAGES),
        stage == vocab.STAGE_CHURNED,
    ]
    a_pct = f"{rules['a_top_share']:.0%}"
    b_pct = f"{rules['b_top_share']:.0%}"
    classes = [override.fillna(""), "A", "A", "A", "B", "B", "B", "C", "C", "D"]
    reasons = [
        "手动",
        f"A: 终生价值前{a_pct}",
        "A: 推荐成交" + n_ref.astype(str) + "位",
        "A: 影响力高且推荐成交" + n_ref.astype(str) + "位",
        f"B: 终生价值前{b_pct}",
        "B: 推荐成交" + n_ref.astype(str) + "位",
        "B: 近一年参加活动" + activities.astype(str) + "次",
        "C: 成交客户",
        "C: " + stage,
        "D: " + vocab.STAGE_CHURNED,
    ]
    out = pd.DataFrame(index=clients.index)
    out["client_class"] = np.select(conditions, classes, "D")
    out["class_reason"] = np.select(conditions, reasons, "D: " + stage)
    out["lifetime_value"] = ltv
    out["referred_deals"] = n_ref
    out["activities"] = activities
    return out
