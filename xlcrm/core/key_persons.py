"""Key persons of corporate accounts (seed 002): who they are, and single-thread accounts.

An account (a 客户 row with people in 关键人) that depends on one person, or on
nobody who can approve or decide (role A/D), is 单线联系: lose that one contact and
the account is gone. `account_summary` gives every client with key persons a line
for 客户看板: `4人: A1 D2 E1, 反对1`, and the 单线联系 reason.
"""

from __future__ import annotations

import pandas as pd

from . import vocab
from .messages import COMPOUND_SURNAMES

ROLE_ORDER = {r: i for i, r in enumerate(vocab.KP_ROLES)}
ATTITUDE_ORDER = {a: i for i, a in enumerate(vocab.KP_ATTITUDES)}
SINGLE_ONE = "只有1位关键人"
SINGLE_NO_DECIDER = "没有A/D角色(最终批准者/决策者)"


def known(key_persons: pd.DataFrame) -> pd.DataFrame:
    """Rows with an account and a name (validate reports the others)."""
    return key_persons[key_persons["client_id"].notna() & key_persons["name"].notna()]


def account_summary(key_persons: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per client (indexed like `index`): key_persons text and single_thread reason ("" when fine)."""
    kp = known(key_persons)
    out = pd.DataFrame({"key_persons": "", "single_thread": ""}, index=index)
    if kp.empty:
        return out
    kp = kp.drop_duplicates(["client_id", "name"])
    roles = kp["role"].fillna("?")
    count = kp.groupby("client_id").size()
    by_role = pd.crosstab(kp["client_id"], roles)
    against = kp["attitude"].isin(vocab.KP_AGAINST).groupby(kp["client_id"]).sum()
    deciders = kp["role"].isin(vocab.KP_DECISION_ROLES).groupby(kp["client_id"]).sum()
    text = {}
    for cid, n in count.items():
        parts = [f"{r}{int(by_role.at[cid, r])}" for r in (*vocab.KP_ROLES, "?")
                 if r in by_role.columns and by_role.at[cid, r] > 0]
        line = f"{n}人: " + " ".join(parts)
        if against.get(cid, 0):
            line += f", 反对/不支持{int(against[cid])}"
        text[cid] = line
    single = pd.Series("", index=count.index, dtype=object)
    single[deciders.reindex(count.index, fill_value=0) == 0] = SINGLE_NO_DECIDER
    single[count == 1] = SINGLE_ONE
    out["key_persons"] = pd.Series(text).reindex(index).fillna("")
    out["single_thread"] = single.reindex(index).fillna("")
    return out


def sort_key_persons(kp: pd.DataFrame) -> pd.DataFrame:
    """By account, then role A, D, E, U, then attitude (赞助者 first, 反对者 last)."""
    return kp.assign(_r=kp["role"].map(ROLE_ORDER).fillna(9), _a=kp["attitude"].map(ATTITUDE_ORDER).fillna(9)
                     ).sort_values(["client_id", "_r", "_a", "name"], kind="stable").drop(columns=["_r", "_a"])


# A key person is addressed by surname and title (华总, 管主任) the way Chinese business
# people speak; the longest matching title word wins.
TITLE_WORDS = (("总经理", "总"), ("副总", "总"), ("董事长", "董"), ("总监", "总监"), ("主任", "主任"),
               ("处长", "处长"), ("局长", "局长"), ("院长", "院长"), ("校长", "校长"), ("部长", "部长"),
               ("经理", "经理"), ("主管", "主管"), ("总", "总"))


def title_salutation(name: str | None, title: str | None) -> str:
    """华山 + 总经理 -> 华总; "" when the title gives no form of address."""
    name = (name or "").strip()
    title = (title or "").strip()
    if not name or not title:
        return ""
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[:1]
    for word, short in TITLE_WORDS:
        if title.endswith(word) or (word == "总经理" and word in title):
            return surname + short
    return ""
