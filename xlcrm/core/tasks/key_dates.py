"""3b. Family birthdays and anniversaries (关怀日期): a call for A/B, an SMS for C/D."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocab
from ..frames import lookup
from ..messages import event_phrase
from .context import Context, month_day, task_frame, yearly


def key_dates(ctx: Context) -> pd.DataFrame:
    kd = ctx.book.key_dates
    kd = kd[kd["client_id"].isin(ctx.active.index)]
    if kd.empty:
        return pd.DataFrame()
    occ = yearly(kd, "date_month", "date_day", kd["calendar"] == vocab.LUNAR, ctx.today, ctx.end)
    if occ.empty:
        return pd.DataFrame()
    cls = lookup(occ["client_id"], ctx.clients["client_class"])
    who = occ["who"].fillna("")
    kind = occ["kind"].fillna(vocab.KEYDATE_DEFAULT)
    what = who + kind
    call = cls.isin(["A", "B"])
    return task_frame(occ["client_id"], occ["when"], vocab.FAMILY_CARE,
                      np.where(call, "关怀电话:" + what, "发送关怀短信:" + what),
                      np.where(call, vocab.PHONE, vocab.SMS),
                      cls + "类客户" + what + "(" + month_day(occ["when"]) + ")",
                      who=who, type=kind, event=[event_phrase(w, k) for w, k in zip(who, kind, strict=True)])
