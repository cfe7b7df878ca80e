"""8. Persistence (坚持跟进, seed 001: most deals close after the 5th follow-up): a
prospect without a deal and with fewer than 规则 坚持跟进次数 (5) reached follow-ups
gets a follow-up on its 下次跟进日期, or within 规则 默认跟进间隔天数 (7) if none is set."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocab
from ..classify import is_deal_client
from ..frames import plain_index
from .context import Context, month_day, task_frame


def persistence(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    need = ctx.rules["persistence_followups"]
    cl = cl[cl["stage"].fillna(vocab.STAGE_DEFAULT).isin(vocab.PROSPECT_STAGES) & ~is_deal_client(cl)
            & (cl["reached_count"] < need) & (cl["status"] != vocab.SLEEPING) & cl["last_reached"].notna()]
    c = ctx.contacts
    planned = c[c["next_follow_up"].notna()].groupby("client_id")["next_follow_up"].last()
    planned = plain_index(planned).reindex(cl.index)
    use_plan = planned.notna() & (planned > cl["last_reached"])
    fallback = cl["last_reached"] + pd.Timedelta(days=ctx.rules["persistence_days"])
    due = planned.where(use_plan, fallback).dt.normalize()
    count = cl["reached_count"].astype(int)
    why = np.where(use_plan, "按下次跟进日期" + month_day(due), f"上次联系后{ctx.rules['persistence_days']}天内跟进")
    why = "未成交客户有效跟进" + count.astype(str) + f"次<{need}次," + why
    return task_frame(cl.index, due, vocab.PERSIST, "第" + (count + 1).astype(str) + "次跟进", vocab.PHONE, why)
