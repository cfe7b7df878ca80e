"""7. Sleeping clients (唤醒沉睡客户): a reactivation call, spread so an agent gets at
most 规则 沉睡唤醒每日上限 (5) a day on working days, oldest first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocab
from .context import Context, task_frame


def sleeping(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    cl = cl[cl["status"] == vocab.SLEEPING].sort_values(["agent", "last_reached"], na_position="first")
    days = [pd.Timestamp(d) for d in ctx.cal.working_days(ctx.today.date(), ctx.end.date())]
    if cl.empty or not days:
        return pd.DataFrame()
    per_day = ctx.rules["sleeping_per_day"]
    slot = cl.groupby("agent", sort=False, dropna=False).cumcount() // per_day
    cl = cl[slot < len(days)]
    slot = slot[slot < len(days)]
    why = np.where(cl["last_reached"].isna(), "沉睡客户: 从未有效联系",
                   "沉睡客户: " + cl["days_since"].astype("Int64").astype(str) + "天未有效联系")
    return task_frame(cl.index, [days[i] for i in slot], vocab.WAKE_UP, "唤醒沉睡客户", vocab.PHONE,
                      why + f"(每天最多{per_day}位,最久未联系优先)")
