"""Referral ability grade (seed 000 转介绍能力分级), with a short reason.

The seed grades a client by four things: how much they approve of us (满意度), their
circle and influence (影响力), their willingness to refer (转介绍意愿) and what they
have already done (referred deals). First match wins:

- C: 满意度 1-2 (an unhappy client is not asked), or not a deal client and no
  referred deal (they have not experienced the service yet);
- A: >= 2 referred deals (多次推荐客户,有成交); or influence 高, willingness 主动 and
  (满意度 >= 4 or >= 1 referred deal) — an opinion leader who refers of their own accord;
- C: willingness 无;
- B: >= 1 referred deal; or influence 高/中 with willingness 主动/一般 (有一定人脉资源和
  影响力,需经纪人推动);
- C: everyone else (影响力低, or not known).

Grade A/B clients get a 请求转介绍 task (tasks.referral_asks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import vocab

WILLING = vocab.WILLINGNESS[0]  # 主动
RELUCTANT = vocab.WILLINGNESS[-1]  # 无


def referral_grade(clients: pd.DataFrame, referred: pd.Series, deal: pd.Series) -> pd.DataFrame:
    """Frame with referral_grade and referral_reason, indexed like `clients`.

    `referred`: referred deals per client; `deal`: True for deal clients.
    """
    sat = clients["satisfaction"]
    infl = clients["influence"]
    will = clients["referral_willingness"]
    n = referred.fillna(0).astype(int)
    sat_text = sat.astype("Int64").astype(str)
    conditions = [
        sat <= 2,
        ~deal.astype(bool) & (n == 0),
        n >= 2,
        (infl == vocab.INFLUENCE_HIGH) & (will == WILLING) & ((sat >= 4) | (n >= 1)),
        will == RELUCTANT,
        n >= 1,
        infl.isin(vocab.INFLUENCE[:2]) & will.isin(vocab.WILLINGNESS[:2]),
    ]
    grades = ["C", "C", "A", "A", "C", "B", "B"]
    reasons = [
        "C: 满意度" + sat_text,
        pd.Series("C: 未成交", index=clients.index),
        "A: 推荐成交" + n.astype(str) + "位",
        "A: 影响力高、主动推荐" + ("、推荐成交" + n.astype(str) + "位").where(n >= 1, "、满意度" + sat_text),
        pd.Series("C: 无转介绍意愿", index=clients.index),
        "B: 推荐成交" + n.astype(str) + "位",
        "B: 影响力" + infl.fillna("") + "、意愿" + will.fillna(""),
    ]
    fallback = ("C: 影响力" + infl.fillna("") + "、意愿" + will.fillna("")).where(
        infl.notna() & will.notna(), "C: 影响力/意愿未填")
    out = pd.DataFrame(index=clients.index)
    out["referral_grade"] = np.select(conditions, grades, "C")
    out["referral_reason"] = np.select(conditions, [np.asarray(r, dtype=object) for r in reasons],
                                       np.asarray(fallback, dtype=object))
    return out
