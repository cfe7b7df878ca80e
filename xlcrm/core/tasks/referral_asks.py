"""请求转介绍 (seed 000 转介绍六步, steps 1-5): a client of referral grade A/B (see
core.referral_grade) is asked for referrals after a deal or a reached touch, at most
once per 规则 转介绍请求间隔天数 (90).

The trigger is the client's latest deal day or reached touch up to today. The last ask
is the latest reached touch with 事由 请求转介绍 or 转介绍, or the latest referral the
client made (推荐日期). A task is due on the trigger day, or when the interval since
the last ask runs out if that is later; a trigger older than 规则 补做回溯天数 (30) is
stale and makes no task. The talk script is the 短信模板 请求转介绍 (a 话术).
"""

from __future__ import annotations

import pandas as pd

from .. import vocab
from ..frames import plain_index
from .context import Context, task_frame


def referral_asks(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    cl = cl[cl["referral_grade"].isin(vocab.REFERRAL_ASK_GRADES)]
    if cl.empty:
        return pd.DataFrame()
    interval = pd.Timedelta(days=ctx.rules["referral_ask_days"])
    c = ctx.contacts
    last_touch = ctx.last_reached_ts.reindex(cl.index).dt.normalize()
    deal = cl["last_deal_date"].where(cl["last_deal_date"] <= ctx.today).dt.normalize()
    trigger = pd.to_datetime(pd.concat([last_touch, deal], axis=1).max(axis=1))
    asked = c[c["_reached"] & c["purpose"].isin((vocab.REFERRAL_ASK, vocab.REFERRAL))]
    last_ask = plain_index(asked.groupby("client_id", observed=True)["date"].max()).reindex(cl.index)
    refs = ctx.book.referrals
    referred = refs[refs["date"] <= ctx.today].groupby("referrer_id")["date"].max().reindex(cl.index)
    last_ask = pd.to_datetime(pd.concat([last_ask, referred], axis=1).max(axis=1)).dt.normalize()
    fresh = trigger.notna() & (trigger >= ctx.today - pd.Timedelta(days=ctx.rules["catch_up_days"]))
    fresh &= last_ask.isna() | (trigger > last_ask)
    due = pd.to_datetime(pd.concat([trigger, last_ask + interval], axis=1).max(axis=1))
    keep = fresh & (due <= ctx.end)
    if not keep.any():
        return pd.DataFrame()
    cl, due, trigger, deal = cl[keep], due[keep], trigger[keep], deal[keep]
    what = (deal == trigger).map({True: "成交后", False: "有效联系后"})
    since = last_ask[keep].map(lambda d: "" if pd.isna(d) else f",上次请求/推荐在{d.month}月{d.day}日")
    reason = ("转介绍能力" + cl["referral_grade"] + "级(" + cl["referral_reason"] + "),"
              + what + "请求转介绍" + since)
    return task_frame(cl.index, due, vocab.ASK_REFERRAL, "请求转介绍(按话术:肯定→致谢→请推荐并记下姓名/电话/单位"
                      "→还有其他朋友吗→致谢→承诺反馈)", vocab.PHONE, reason)
