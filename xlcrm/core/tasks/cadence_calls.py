"""5. Cadence calls (电话维护): clients due or overdue per their class's cadence (规则
A/B/C/D类联系周期天数: 1, 3, 12, 30 days) get a call, repeated through the window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocab
from .context import Context, task_frame


def cadence_calls(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    cl = cl[(cl["status"] != vocab.SLEEPING) & cl["due"].notna()]
    anchor = cl["due"].where(cl["due"] > ctx.today, ctx.today)
    span = (ctx.end - anchor).dt.days
    count = np.where(span >= 0, span // cl["cadence"] + 1, 0).astype(int)
    rows = cl.loc[cl.index.repeat(count)]
    k = rows.groupby(level=0).cumcount().to_numpy()
    anchor_r = anchor.loc[rows.index].to_numpy()
    due = anchor_r + pd.to_timedelta(k * rows["cadence"].to_numpy(), unit="D").to_numpy()
    due = np.where(k == 0, rows["due"].to_numpy(), due)
    base = rows["client_class"] + "类每" + rows["cadence"].astype(str) + "天电话维护"
    overdue = (k == 0) & (rows["overdue_days"].to_numpy() > 0)
    why = np.where(overdue, base + ",已逾期" + rows["overdue_days"].astype(str) + "天",
                   np.where(k == 0, base + ",上次联系" + rows["days_since"].astype("Int64").astype(str) + "天前", base))
    # A repeat falling on a weekend or holiday is called on the next working day (or next week).
    due = pd.Series(pd.to_datetime(due))
    moved = {d: pd.Timestamp(ctx.cal.on_or_after(d.date())) for d in due.drop_duplicates()}
    due = due.where(k == 0, due.map(moved))
    keep = (k == 0) | (due <= ctx.end).to_numpy()
    return task_frame(rows.index[keep], due[keep], vocab.CADENCE_CALL, vocab.CADENCE_CALL, vocab.PHONE, why[keep])
