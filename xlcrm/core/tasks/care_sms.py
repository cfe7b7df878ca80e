"""10. Monthly care SMS: every active client gets at least 规则 每月关怀短信数 (2) care
SMS a month; the missing ones are spread over the month (a stable day per client).
A slot already past this month without enough SMS is caught up: moved to today or a
later day of the same month (DOMAIN: missed care SMS are caught up in the month)."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from .. import vocab
from ..frames import plain_index
from .context import DAY, Context, task_frame


def care_sms(ctx: Context) -> pd.DataFrame:
    per_month = ctx.rules["care_sms_per_month"]
    cl = ctx.active
    if cl.empty or per_month == 0:
        return pd.DataFrame()
    c = ctx.contacts
    sms = c[c["channel"].isin(vocab.SMS_CHANNELS)]  # sent up to today (ctx.contacts ends today)
    offset = np.array([zlib.crc32(str(i).encode()) for i in cl.index], dtype=np.int64)
    parts = []
    month = ctx.today.replace(day=1)
    while month <= ctx.end:
        length = month.days_in_month
        step = max(1, length // per_month)
        month_end = month + pd.Timedelta(days=length - 1)
        sent = sms[(sms["date"] >= month) & (sms["date"] <= month_end + DAY)].groupby("client_id").size()
        sent = plain_index(sent).reindex(cl.index, fill_value=0).to_numpy()
        first = max(month, ctx.today)
        left = (month_end - first).days + 1
        for i in range(per_month):
            day = np.minimum(i * step + offset % step, length - 1)
            due = month + pd.to_timedelta(day, unit="D")
            missed = due < ctx.today
            if left > 0:  # catch-up: spread the missed ones over the rest of the month
                gap = max(1, left // per_month)
                catch = first + pd.to_timedelta(np.minimum((i * gap + offset % gap), left - 1), unit="D")
                due = pd.DatetimeIndex(np.where(missed, catch, due))
            keep = (sent <= i) & (due >= ctx.today) & (due <= ctx.end)
            why = np.where(missed, f"每月至少{per_month}条关怀短信(本月第{i + 1}条,补发)",
                           f"每月至少{per_month}条关怀短信(本月第{i + 1}条)")
            parts.append(task_frame(cl.index[keep], due[keep], vocab.CARE_SMS, "发送关怀短信", vocab.SMS,
                                    why[keep]))
        month = month + pd.offsets.MonthBegin(1)
    return pd.concat(parts, ignore_index=True)
