"""周末短信 (seed 001: 坚持每个周末给重点客户发短信息): every Saturday in the window,
each active client of 规则 周末短信类别 (A) gets a weekend SMS, unless an SMS/微信 was
already logged for them that weekend.

Not the same text every week: 周末短信 has several variants (the shipped texts, or
several 短信模板 rows named 周末短信, like every other kind), and drafts.pick chooses
one per client and week, so neighbours in the list get different texts and a client's
text changes week to week.
"""

from __future__ import annotations

import pandas as pd

from .. import vocab
from .context import DAY, Context, task_frame

SATURDAY = 5


def weekend_sms(ctx: Context) -> pd.DataFrame:
    classes = ctx.rules["weekend_sms_classes"]
    cl = ctx.active
    cl = cl[cl["client_class"].isin(classes)]
    if cl.empty:
        return pd.DataFrame()
    first = ctx.today + pd.Timedelta(days=(SATURDAY - ctx.today.weekday()) % 7)
    if first > ctx.end:
        return pd.DataFrame()
    c = ctx.contacts
    sms = c[c["channel"].isin(vocab.SMS_CHANNELS)]
    parts = []
    saturday = first
    while saturday <= ctx.end:
        sent = sms[(sms["date"] >= saturday) & (sms["date"] < saturday + 2 * DAY)]["client_id"].astype(object)
        who = cl[~cl.index.isin(sent.unique())]
        parts.append(task_frame(who.index, pd.Series(saturday, index=who.index), vocab.WEEKEND_SMS,
                                "发送周末问候短信", vocab.SMS,
                                who["client_class"] + "类重点客户每周末一条问候短信(周末短信类别)"))
        saturday += pd.Timedelta(days=7)
    return pd.concat(parts, ignore_index=True)
