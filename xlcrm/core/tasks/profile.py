"""Monthly 补全资料: A/B clients whose 资料完整度 is under 规则 资料补全阈值 (50%).

DOMAIN: profile completeness (seed 000: incomplete data is the first problem of
client maintenance). Once a month, on a working day stable per client (so the office's
calls spread over the month and a client's task keeps its date from one refresh to the
next), the agent calls to fill in the missing profile (客户 and 客户档案). The task
stops as soon as the share reaches the threshold.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from .. import vocab
from .context import Context, task_frame

CLASSES = ("A", "B")


def profile(ctx: Context) -> pd.DataFrame:
    share = ctx.rules["profile_min_share"]
    cl = ctx.active
    cl = cl[cl["client_class"].isin(CLASSES) & (cl["completeness"] < share)]
    if cl.empty:
        return pd.DataFrame()
    offset = np.array([zlib.crc32(str(i).encode()) for i in cl.index], dtype=np.int64)
    parts = []
    month = ctx.today.replace(day=1)
    while month <= ctx.end:
        last = month + pd.offsets.MonthEnd(0)
        days = [pd.Timestamp(d) for d in ctx.cal.working_days(month.date(), last.date())]
        if days:
            due = pd.Series([days[i] for i in offset % len(days)], index=cl.index)
            keep = ctx.in_window(due).to_numpy()
            pct = (cl["completeness"][keep] * 100).round().astype(int).astype(str)
            parts.append(task_frame(cl.index[keep], due[keep], vocab.COMPLETE_PROFILE, "电话补全客户资料",
                                    vocab.PHONE, cl["client_class"][keep] + "类客户资料完整度" + pct
                                    + f"%,低于{share:.0%}(每月补全一次)"))
        month = month + pd.offsets.MonthBegin(1)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
