"""1. Promises (快速响应, seed 001): a 承诺反馈日期 that has arrived without a later
reached touch is a task on that date, top priority; overdue promises stay on top.
Promises are kept even for 勿扰/流失 clients (an explicit promise)."""

from __future__ import annotations

import pandas as pd

from .. import vocab
from ..frames import lookup
from .context import Context, month_day, task_frame


def promises(ctx: Context) -> pd.DataFrame:
    c = ctx.contacts[ctx.contacts["promised_date"].notna()]
    later = lookup(c["client_id"], ctx.last_reached_ts)
    open_ = later.isna() | (later <= c["date"])
    c = c[open_ & (c["promised_date"] <= ctx.end)]
    due = c["promised_date"].dt.normalize()
    return task_frame(c["client_id"], due, vocab.PROMISE, "兑现承诺:按时给客户反馈", vocab.PHONE,
                      "承诺于" + month_day(due) + "反馈(" + month_day(c["date"]) + "跟进时承诺,快速响应)",
                      keep=True)
